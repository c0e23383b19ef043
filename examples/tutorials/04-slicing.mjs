// Scanner tutorial: slicing. Ops see each group of a Slice with fresh state (reset() at each
// group boundary); Unslice joins the groups back into one stream.
//   node examples/tutorials/04-slicing.mjs [video]
import * as vg from 'vidgraph';
import { sampleVideo } from './sample.mjs';

const file = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const sc = new vg.Client();
const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'tutorial-a', { path: file })]);
const sliced = sc.streams.Slice(frames, { partitions: [sc.partitioner.all(50)] });
// Optical flow between each frame and the next never crosses a group boundary.
const flow = sc.ops.OpticalFlow({ frame: sc.ops.Resize({ frame: sliced, width: 160, height: 90 }) });
const joined = sc.streams.Unslice(flow);
const out = new vg.NamedStream(sc, 'tutorial-flow', { type: vg.FrameType });
await sc.run(sc.io.Output(joined.lossless(), [out]), vg.PerfParams.manual(25, 50), { cacheMode: vg.CacheMode.Overwrite });

let rows = 0;
let maxMotion = 0;
for await (const f of out.load()) {
  rows++;
  for (let i = 0; i < f.data.length; i += 2) maxMotion = Math.max(maxMotion, Math.hypot(f.data[i], f.data[i + 1]));
}
console.log(`tutorial-flow: ${rows} flow fields (2-channel float32); largest motion ${maxMotion.toFixed(1)} px`);
await sc.close();
