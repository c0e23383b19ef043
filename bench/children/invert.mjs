// A frame op for bench/worker-pool.mjs: a new frame with every byte inverted (one pass over the data).
import { Frame } from 'vidgraph';

export function invert(config, { frame }) {
  const src = frame.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = 255 - src[i];
  return Frame.from(out, frame.height, frame.width, frame.channels);
}
