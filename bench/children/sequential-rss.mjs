// Reads every frame of a video in order and prints the peak RSS (MiB) as JSON.
// Peak RSS is VmHWM: getrusage's maxrss survives exec and would include the parent's.
import fs from 'node:fs';
import * as vg from 'vidgraph';
const [file, threads] = process.argv.slice(2);
const r = await vg.VideoReader.open(file, { threads: Number(threads) });
let frames = 0;
for await (const f of r.iterFrames()) frames += f.image.width > 0 ? 1 : 0;
await r.close();
const hwmKiB = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
console.log(JSON.stringify({ frames, peakRssMiB: hwmKiB / 1024 }));
