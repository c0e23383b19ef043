import { Frame, DType } from '../frame';

/** A frame as it crosses a worker boundary (structured clone keeps no class). */
export interface PlainFrame {
  height: number;
  width: number;
  channels: number;
  dtype: DType;
  data: Uint8Array | Uint16Array | Float32Array | Float64Array;
}

export function toPlain(f: Frame): PlainFrame {
  return { height: f.height, width: f.width, channels: f.channels, dtype: f.dtype, data: f.data };
}

export function fromPlain(p: PlainFrame): Frame {
  return Frame.from(p.data, p.height, p.width, p.channels);
}
