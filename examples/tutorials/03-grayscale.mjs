// Scanner's walkthrough: every 3rd frame, resized, made gray, then 3 channels again.
//   node examples/tutorials/03-grayscale.mjs [video]
import * as vg from 'vidgraph';
import { sampleVideo } from './sample.mjs';

const file = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const sc = new vg.Client();
const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'tutorial-a', { path: file })]);
const sampled = sc.streams.Stride(frames, [3]);
const resized = sc.ops.Resize({ frame: sampled, width: 320, height: 180 });
const gray = sc.ops.ConvertColor({ frame: resized, conversion: 'COLOR_RGB2GRAY' });
const rgb = sc.ops.CloneChannels({ frame: gray, replications: 3 });
const out = new vg.NamedVideoStream(sc, 'tutorial-gray');
await sc.run(sc.io.Output(rgb.lossless(), [out]), vg.PerfParams.manual(50, 250), { cacheMode: vg.CacheMode.Overwrite });

const meta = await out.metadata();
console.log(`tutorial-gray: ${meta.frames} frames ${meta.width}x${meta.height}`);
for await (const frame of out.load({ rows: [0] })) {
  const [r, g, b] = frame.data;
  console.log(`first pixel: ${r}, ${g}, ${b} (gray: all equal)`);
}
await sc.close();
