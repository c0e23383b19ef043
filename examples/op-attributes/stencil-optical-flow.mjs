// Op attribute: stencil. A TypeScript kernel sees each frame and the next (stencil [0, 1]) and
// measures the motion between them with OpenCV through @u4/opencv4nodejs (Frame.toMat()): the
// mean absolute difference of the gray frames. (opencv4nodejs 7.1 has no dense optical flow;
// the built-in OpticalFlow op computes Farneback flow in the engine.)
//   node examples/op-attributes/stencil-optical-flow.mjs [video]
import * as vg from 'vidgraph';
import { sampleVideo } from '../tutorials/sample.mjs';

/** @typedef {import('@u4/opencv4nodejs').Mat} Mat */
const motionEnergy = vg.registerOp({
  name: 'MotionEnergy', inputs: { frame: vg.FrameType }, outputs: { energy: vg.Json }, stencil: [0, 1],
  kernel: (config, { frame: [now, next] }) => {
    if (!now || !next) return null; // the last frame has no next one
    const cv = vg.Frame.opencv();
    const a = /** @type {Mat} */ (now.toMat()).cvtColor(cv.COLOR_RGB2GRAY);
    const b = /** @type {Mat} */ (next.toMat()).cvtColor(cv.COLOR_RGB2GRAY);
    return a.absdiff(b).mean().w;
  },
});

const file = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const sc = new vg.Client();
const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'tutorial-a', { path: file })]);
const small = sc.ops.Resize({ frame: sc.streams.Range(frames, [[0, 60]]), width: 160, height: 90 });
// The built-in Farneback flow on the same frames, for comparison.
const flow = sc.ops.OpticalFlow({ frame: small });
const energy = new vg.NamedStream(sc, 'attr-motion', { type: vg.Json });
const flows = new vg.NamedStream(sc, 'attr-flow', { type: vg.FrameType });
await sc.run([sc.io.Output(sc.ops.call(motionEnergy, { frame: small }), [energy]), sc.io.Output(flow.lossless(), [flows])],
  vg.PerfParams.manual(10, 20), { cacheMode: vg.CacheMode.Overwrite });
const values = [];
for await (const v of energy.load()) values.push(Number(v));
let motion = 0;
let n = 0;
for await (const f of flows.load()) {
  for (let i = 0; i < f.data.length; i += 2) motion += Math.hypot(f.data[i], f.data[i + 1]);
  n += f.data.length / 2;
}
console.log(`attr-motion: ${values.length} rows, mean frame difference ${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(3)}, mean Farneback motion ${(motion / n).toFixed(3)} px/frame`);
await sc.close();
