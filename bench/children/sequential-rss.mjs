// Reads every frame of a video in order and prints the peak RSS (MiB) as JSON.
import * as vg from 'vidgraph';
const [file, threads] = process.argv.slice(2);
const r = await vg.VideoReader.open(file, { threads: Number(threads) });
let frames = 0;
for await (const f of r.iterFrames()) frames += f.image.width > 0 ? 1 : 0;
await r.close();
console.log(JSON.stringify({ frames, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
