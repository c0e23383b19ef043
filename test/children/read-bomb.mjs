// Child process for the pixel-limit tests: opens `file` with VideoReader (optional JSON
// options), reads frame `row` (default 0), and prints one JSON line: what happened and the
// process's peak resident memory, so the parent can check that a refused bomb stayed small.
import * as vg from 'vidgraph';

const [file, optionsJson, rowArg] = process.argv.slice(2);
const options = optionsJson ? JSON.parse(optionsJson) : undefined;
const result = {};
try {
  const reader = await vg.VideoReader.open(file, options);
  result.opened = { width: reader.width, height: reader.height, frames: reader.frameCount };
  try {
    const f = await reader.frame(rowArg === undefined ? 0 : Number(rowArg));
    result.frame = { index: f.index, width: f.image.width, height: f.image.height };
  } finally {
    await reader.close();
  }
} catch (err) {
  result.error = { code: err.code, message: err.message, vidgraph: err instanceof vg.VidgraphError };
}
result.maxRssBytes = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify(result)}\n`);
