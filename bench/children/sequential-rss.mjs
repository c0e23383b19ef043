// Reads every frame of a video in order (iterFrames(); with a third argument `reuse`,
// iterFrames({ reuse: true })) and prints, as JSON, the frames read, the peak RSS
// (MiB) and the seconds the read loop took (open to close, in-process). The whole process's
// wall time is the parent's to measure (bench/decode.mjs times this script against the CLI).
// Peak RSS is VmHWM: getrusage's maxrss survives exec and would include the parent's.
import fs from 'node:fs';
import * as vg from 'vidgraph';
const [file, threads, mode] = process.argv.slice(2);
const t = performance.now();
const r = await vg.VideoReader.open(file, { threads: Number(threads) });
let frames = 0;
for await (const f of r.iterFrames({ reuse: mode === 'reuse' })) frames += f.image.width > 0 ? 1 : 0;
await r.close();
const seconds = (performance.now() - t) / 1000;
const hwmKiB = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
console.log(JSON.stringify({ frames, peakRssMiB: hwmKiB / 1024, seconds }));
