// Op attribute: batch. A TypeScript kernel that receives up to 8 frames per call (halving each
// frame by averaging 2x2 blocks).
//   node examples/op-attributes/batch-resize.mjs [video]
import * as vg from 'vidgraph';
import { sampleVideo } from '../tutorials/sample.mjs';

/** @param {vg.AnyFrame | null} frame */
function halve(frame) {
  if (!frame) return null;
  const w = frame.width >> 1;
  const h = frame.height >> 1;
  const c = frame.channels;
  const out = vg.Frame.alloc(h, w, c);
  const src = frame.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        const a = ((2 * y) * frame.width + 2 * x) * c + k;
        const b = a + frame.width * c;
        out.data[(y * w + x) * c + k] = (src[a] + src[a + c] + src[b] + src[b + c] + 2) >> 2;
      }
    }
  }
  return out;
}

let calls = 0;
const halveBatch = vg.registerOp({
  name: 'HalveBatch', inputs: { frame: vg.FrameType }, outputs: { frame: vg.FrameType }, batch: 8,
  kernel: (config, { frame }) => { calls++; return frame.map(halve); },
});

const file = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const sc = new vg.Client();
const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'tutorial-a', { path: file })]);
const out = new vg.NamedVideoStream(sc, 'attr-batch-resize');
await sc.run(sc.io.Output(sc.ops.call(halveBatch, { frame: frames }), [out]), vg.PerfParams.manual(8, 64), { cacheMode: vg.CacheMode.Overwrite });
const m = await out.metadata();
console.log(`attr-batch-resize: ${m.frames} frames ${m.width}x${m.height} in ${calls} kernel calls`);
await sc.close();
