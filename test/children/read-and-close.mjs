// Child process for the frame-memory tests (run with --expose-gc): reads every frame of `file`
// in batches, then either closes the reader (`close`) or keeps it open and idle (`idle`),
// collects garbage, and prints RSS before, at the peak and after, in MiB. In `idle` mode it
// waits (up to 30 s) for the engine's idle trimmer to bring RSS back within 100 MiB.
import * as vg from 'vidgraph';

const [file, batchArg, mode = 'close'] = process.argv.slice(2);
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
if (mode === 'close') {
  await reader.close();
  reader = undefined;
  await settle();
} else {
  await settle();
  for (let waited = 0; rssMiB() - before >= 100 && waited < 30_000; waited += 250) await new Promise((resolve) => setTimeout(resolve, 250));
}
process.stdout.write(`${JSON.stringify({ frames, before, peak, after: rssMiB() })}\n`);
if (reader) await reader.close();
