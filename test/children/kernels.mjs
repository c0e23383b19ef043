// Kernels for the worker-pool tests (`module: { url, export }`).
import * as vg from 'vidgraph';

/** Mean pixel value of a frame. */
export function brightness(config, { frame }) {
  let sum = 0;
  for (let i = 0; i < frame.data.length; i++) sum += frame.data[i];
  return sum / frame.data.length;
}

/** Inverted frame. */
export function invert(config, { frame }) {
  const out = vg.Frame.alloc(frame.height, frame.width, frame.channels);
  for (let i = 0; i < frame.data.length; i++) out.data[i] = 255 - frame.data[i];
  return out;
}

/** CPU-heavy: a few box-blur passes, then the mean (for the scaling benchmark). */
export function heavy(config, { frame }) {
  const d = Float32Array.from(frame.data);
  const passes = config.args.passes ?? 4;
  for (let p = 0; p < passes; p++) for (let i = 3; i < d.length - 3; i++) d[i] = (d[i - 3] + d[i] + d[i + 3]) / 3;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i];
  return s / d.length;
}

/** Rows seen since the last reset(), with the row's first byte. */
export class Counter extends vg.Kernel {
  reset() {
    this.n = 0;
  }
  execute({ frame }) {
    this.n++;
    return [this.n, frame.data[0]];
  }
}

/** Inverted frame, slowly (config.args.ms per row): long tasks for the distributed-run tests. */
export function slowInvert(config, { frame }) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(config.args.ms ?? 20));
  return invert(config, { frame });
}
