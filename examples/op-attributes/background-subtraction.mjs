// Op attributes: boundedState and slicing. A stateful kernel keeps a running-average background;
// boundedState: 10 guarantees 10 warm-up frames before the first needed row, and each slice
// group starts from a fresh background (reset()).
//   node examples/op-attributes/background-subtraction.mjs [video]
import * as vg from 'vidgraph';
import { sampleVideo } from '../tutorials/sample.mjs';

/** @extends {vg.Kernel<{ frame: vg.AnyFrame | null }, vg.Frame | null>} */
class BackgroundSubtraction extends vg.Kernel {
  /** @type {Float32Array | undefined} */
  background;
  reset() {
    this.background = undefined;
  }
  /** @param {{ frame: vg.AnyFrame | null }} inputs */
  execute({ frame }) {
    if (!frame) return null; // a null row stays null
    const alpha = Number(this.args.alpha ?? 0.1);
    if (!this.background) this.background = Float32Array.from(frame.data);
    const mask = vg.Frame.alloc(frame.height, frame.width, 1);
    const c = frame.channels;
    for (let p = 0; p < frame.width * frame.height; p++) {
      let diff = 0;
      for (let k = 0; k < c; k++) {
        const i = p * c + k;
        diff += Math.abs(frame.data[i] - this.background[i]);
        this.background[i] += alpha * (frame.data[i] - this.background[i]);
      }
      mask.data[p] = diff / c > 25 ? 255 : 0;
    }
    return mask;
  }
}
// registerOp returns a handle: sc.ops.call(handle, ...) is typed from this declaration
// (sc.ops.BackgroundSubtraction(...) works the same in JavaScript).
const backgroundSubtraction = vg.registerOp({ name: 'BackgroundSubtraction', inputs: { frame: vg.FrameType }, outputs: { frame: vg.FrameType }, boundedState: 10, kernel: BackgroundSubtraction });

const file = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const sc = new vg.Client();
const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'tutorial-a', { path: file })]);
const small = sc.ops.Resize({ frame: frames, width: 160, height: 90 });
const sliced = sc.streams.Slice(small, { partitions: [sc.partitioner.all(100)] });
const masks = sc.streams.Unslice(sc.ops.call(backgroundSubtraction, { frame: sliced, alpha: 0.05 }));
const out = new vg.NamedVideoStream(sc, 'attr-bgsub');
await sc.run(sc.io.Output(sc.streams.Stride(masks, [10]).lossless(), [out]), vg.PerfParams.manual(10, 50), { cacheMode: vg.CacheMode.Overwrite });
let moving = 0;
let rows = 0;
for await (const m of out.load()) {
  rows++;
  moving += m.data.reduce((a, b) => a + (b ? 1 : 0), 0) / m.data.length;
}
console.log(`attr-bgsub: ${rows} masks, ${(100 * moving / rows).toFixed(1)}% of pixels moving on average`);
await sc.close();
