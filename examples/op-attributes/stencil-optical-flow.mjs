// Op attribute: stencil. A TypeScript kernel sees each frame and the next (stencil [0, 1]) and
// computes Farneback optical flow with OpenCV through @u4/opencv4nodejs (Frame.toMat()).
//   node examples/op-attributes/stencil-optical-flow.mjs [video]
import * as vg from 'vidgraph';
import { sampleVideo } from '../tutorials/sample.mjs';

vg.registerOp({
  name: 'FlowMagnitude', inputs: { frame: vg.FrameType }, outputs: { magnitude: vg.Json }, stencil: [0, 1],
  kernel: (config, { frame: [now, next] }) => {
    const cv = vg.Frame.opencv();
    const a = now.toMat().cvtColor(cv.COLOR_RGB2GRAY);
    const b = next.toMat().cvtColor(cv.COLOR_RGB2GRAY);
    const flow = cv.calcOpticalFlowFarneback(a, b, 0.5, 3, 15, 3, 5, 1.2, 0);
    const f = vg.Frame.fromMat(flow);
    let sum = 0;
    for (let i = 0; i < f.data.length; i += 2) sum += Math.hypot(f.data[i], f.data[i + 1]);
    return sum / (f.data.length / 2);
  },
});

const file = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const sc = new vg.Client();
const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'tutorial-a', { path: file })]);
const small = sc.ops.Resize({ frame: sc.streams.Range(frames, [[0, 60]]), width: 160, height: 90 });
const out = new vg.NamedStream(sc, 'attr-flow');
await sc.run(sc.io.Output(sc.ops.FlowMagnitude({ frame: small }), [out]), vg.PerfParams.manual(10, 20), { cacheMode: vg.CacheMode.Overwrite });
const values = [];
for await (const v of out.load()) values.push(v);
console.log(`attr-flow: ${values.length} rows, mean motion ${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(3)} px/frame`);
await sc.close();
