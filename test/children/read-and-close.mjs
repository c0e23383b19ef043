// Child process for the frame-memory test (run with --expose-gc): reads every frame of `file`
// in batches, closes the reader, collects garbage, and prints RSS before and after in MiB.
import * as vg from 'vidgraph';

const [file, batchArg] = process.argv.slice(2);
const batch = Number(batchArg);
const rssMiB = () => process.memoryUsage.rss() / 2 ** 20;
const settle = async () => {
  for (let i = 0; i < 4; i++) {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
};

let reader = await vg.VideoReader.open(file, { cacheBytes: 0 });
await settle();
const before = rssMiB();
let frames = 0;
let peak = before;
for (let start = 0; start < reader.frameCount; start += batch) {
  const rows = [];
  for (let r = start; r < Math.min(start + batch, reader.frameCount); r++) rows.push(r);
  frames += (await reader.frames(rows)).length;
  peak = Math.max(peak, rssMiB());
}
await reader.close();
reader = undefined;
await settle();
process.stdout.write(`${JSON.stringify({ frames, before, peak, after: rssMiB() })}\n`);
