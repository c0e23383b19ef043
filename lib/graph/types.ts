/**
 * Column types: how a non-frame value is stored (serialize) and loaded back (deserialize).
 *
 * @example
 * vg.registerType({ name: 'Point', serialize: (p) => new Uint8Array(new Float64Array([p.x, p.y]).buffer),
 *   deserialize: (b) => { const f = new Float64Array(b.slice().buffer); return { x: f[0], y: f[1] }; } });
 */
import { BadArgumentError } from '../errors';
import type { AnyFrame } from '../frame';
import { describe } from '../validate';

/** A column type: how values of type T are stored as bytes and loaded back. */
export interface ColumnType<T = unknown> {
  /** The type's name, unique among registered types. */
  readonly name: string;
  /** The stored bytes of a value. */
  serialize(value: T): Uint8Array;
  /** The value back from its stored bytes. */
  deserialize(bytes: Uint8Array): T;
  /** The type of the values, for the compiler only: never set at run time. */
  readonly valueType?: T;
}

/** The type of vg.FrameType. */
export interface FrameTypeT {
  /** Always 'Frame'. */
  readonly name: 'Frame';
  /** Marks the frame type. */
  readonly frame: true;
  /** The type of the values, for the compiler only: never set at run time. */
  readonly valueType?: AnyFrame;
}

/** The frame type (columns of vg.Frame): `inputs: { frame: vg.FrameType }` in `vg.registerOp`. */
export const FrameType: FrameTypeT = Object.freeze({ name: 'Frame', frame: true } as const);

/** Any column type, as far as the compiler is concerned: its name and the type of its values. */
export interface TypeOf<T> {
  /** The type's name ('Frame', 'Histogram', ...). */
  readonly name: string;
  /** The type of the values, for the compiler only: never set at run time. */
  readonly valueType?: T;
}

/**
 * The values of a column of a given type: `ColumnValue<typeof vg.Histogram>` is `Int32Array[]`,
 * `ColumnValue<typeof vg.FrameType>` is `vg.AnyFrame` (a frame whose `dtype` narrows `data`).
 */
export type ColumnValue<C> = C extends FrameTypeT ? AnyFrame : C extends ColumnType<infer V> ? V : unknown;

const registry = new Map<string, ColumnType>();

/**
 * Registers a user column type so that op outputs of that type can be stored and loaded; returns
 * the type. A type without a name or without serialize/deserialize, or named 'Frame', is
 * ERR_BAD_ARGUMENT.
 *
 * @example
 * const Point = vg.registerType<{ x: number; y: number }>({
 *   name: 'Point',
 *   serialize: (p) => new Uint8Array(new Float64Array([p.x, p.y]).buffer),
 *   deserialize: (b) => { const f = new Float64Array(b.slice().buffer); return { x: f[0]!, y: f[1]! }; },
 * });
 * vg.registerOp({ name: 'Centre', inputs: { frame: vg.FrameType }, outputs: { point: Point },
 *   kernel: (config, { frame }) => ({ x: frame.width / 2, y: frame.height / 2 }) });
 */
export function registerType<T>(type: ColumnType<T>): ColumnType<T> {
  if (!type || typeof type.name !== 'string' || !type.name) throw new BadArgumentError(`registerType: expected a type with a name, got ${describe(type)}`);
  if (typeof type.serialize !== 'function' || typeof type.deserialize !== 'function') {
    throw new BadArgumentError(`registerType: type '${type.name}' needs serialize(value) and deserialize(bytes) functions`);
  }
  if (type.name === FrameType.name) throw new BadArgumentError(`registerType: '${type.name}' is reserved`);
  registry.set(type.name, type as ColumnType);
  return type;
}

export function typeNamed(name: string): ColumnType | undefined {
  return registry.get(name);
}

const u8 = (b: Uint8Array) => new Uint8Array(b);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Values of a `vg.Bytes` column. */
export type Bytes = Uint8Array;
/** Values of a `vg.Image` column (encoded PNG or JPEG bytes). */
export type Image = Uint8Array;
/** Values of a `vg.Json` column: anything JSON.stringify keeps. */
export type Json = unknown;
/** Values of a `vg.Histogram` column: R, G and B, each an Int32Array(16) (bin = value >> 4). */
export type Histogram = Int32Array[];
/** Values of a `vg.Float32` column. */
export type Float32 = Float32Array;
/** Values of a `vg.Int32` column. */
export type Int32 = Int32Array;
/** Values of a `vg.BboxList` column. */
export type BboxList = Bbox[];
/** Values of a `FrameInfo` column. */
export interface FrameInfo {
  /** Pixels per row. */
  width: number;
  /** Rows of pixels. */
  height: number;
  /** Values per pixel. */
  channels: number;
}

/** Raw bytes: Uint8Array rows. */
export const Bytes = registerType<Uint8Array>({ name: 'Bytes', serialize: u8, deserialize: u8 });
/** Encoded images (ImageEncoder's PNG or JPEG output): Uint8Array rows. */
export const Image = registerType<Uint8Array>({ name: 'Image', serialize: u8, deserialize: u8 });
/** Any JSON-serializable value, stored as JSON text. */
export const Json = registerType<unknown>({
  name: 'Json',
  serialize: (v) => enc.encode(JSON.stringify(v)),
  deserialize: (b) => JSON.parse(dec.decode(b)),
});
/** 3 Int32Array(16), R, G, B; bin = value >> 4. */
export const Histogram = registerType<Int32Array[]>({
  name: 'Histogram',
  serialize: (h) => {
    const out = new Int32Array(48);
    h.forEach((c, i) => out.set(c, i * 16));
    return new Uint8Array(out.buffer);
  },
  deserialize: (b) => {
    const all = new Int32Array(b.slice().buffer, 0, 48);
    return [all.slice(0, 16), all.slice(16, 32), all.slice(32, 48)];
  },
});
/** Float32Array rows. */
export const Float32 = registerType<Float32Array>({
  name: 'Float32',
  serialize: (v) => new Uint8Array(Float32Array.from(v).buffer),
  deserialize: (b) => new Float32Array(b.slice().buffer),
});
/** Int32Array rows. */
export const Int32 = registerType<Int32Array>({
  name: 'Int32',
  serialize: (v) => new Uint8Array(Int32Array.from(v).buffer),
  deserialize: (b) => new Int32Array(b.slice().buffer),
});
/**
 * A bounding box, in pixels (an element of a {@link BboxList} row).
 *
 * @property x1 Left.
 * @property y1 Top.
 * @property x2 Right.
 * @property y2 Bottom.
 * @property score Confidence (stored as 0 when absent).
 * @property label Class label (stored as 0 when absent).
 */
export interface Bbox { x1: number; y1: number; x2: number; y2: number; score?: number; label?: number }
/** Lists of bounding boxes ({@link Bbox}[]), stored as float64. */
export const BboxList = registerType<Bbox[]>({
  name: 'BboxList',
  serialize: (boxes) => {
    const f = new Float64Array(boxes.length * 6);
    boxes.forEach((b, i) => f.set([b.x1, b.y1, b.x2, b.y2, b.score ?? 0, b.label ?? 0], i * 6));
    return new Uint8Array(f.buffer);
  },
  deserialize: (b) => {
    const f = new Float64Array(b.slice().buffer);
    const out: Bbox[] = [];
    for (let i = 0; i + 6 <= f.length; i += 6) out.push({ x1: f[i]!, y1: f[i + 1]!, x2: f[i + 2]!, y2: f[i + 3]!, score: f[i + 4]!, label: f[i + 5]! });
    return out;
  },
});
