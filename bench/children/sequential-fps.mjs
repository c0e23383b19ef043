// Reads every frame of a video in order with the engine named by VIDGRAPH_ADDON (or the
// default one) and prints frames/s and the engine's FFmpeg version as JSON.
import * as vg from 'vidgraph';
const [file, threads] = process.argv.slice(2);
const r = await vg.VideoReader.open(file, { threads: Number(threads), cacheBytes: 0 });
const t = performance.now();
let frames = 0;
for await (const f of r.iterFrames()) frames += f.image.width > 0 ? 1 : 0;
const seconds = (performance.now() - t) / 1000;
await r.close();
console.log(JSON.stringify({ frames, fps: frames / seconds, libavcodec: vg.versions().libavcodec }));
