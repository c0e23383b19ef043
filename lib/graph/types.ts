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

export interface ColumnType<T = unknown> {
  readonly name: string;
  serialize(value: T): Uint8Array;
  deserialize(bytes: Uint8Array): T;
  /** The type of the values, for the compiler only: never set at run time. */
  readonly valueType?: T;
}

/** The type of vg.FrameType. */
export interface FrameTypeT {
  readonly name: 'Frame';
  readonly frame: true;
  /** The type of the values, for the compiler only: never set at run time. */
  readonly valueType?: AnyFrame;
}

/** The frame type (columns of vg.Frame). */
export const FrameType: FrameTypeT = Object.freeze({ name: 'Frame', frame: true } as const);

/** Any column type, as far as the compiler is concerned: its name and the type of its values. */
export interface TypeOf<T> {
  readonly name: string;
  readonly valueType?: T;
}

/**
 * The values of a column of a given type: `ColumnValue<typeof vg.Histogram>` is `Int32Array[]`,
 * `ColumnValue<typeof vg.FrameType>` is `vg.AnyFrame` (a frame whose `dtype` narrows `data`).
 */
export type ColumnValue<C> = C extends FrameTypeT ? AnyFrame : C extends ColumnType<infer V> ? V : unknown;

const registry = new Map<string, ColumnType>();

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
export interface FrameInfo { width: number; height: number; channels: number }

export const Bytes = registerType<Uint8Array>({ name: 'Bytes', serialize: u8, deserialize: u8 });
export const Image = registerType<Uint8Array>({ name: 'Image', serialize: u8, deserialize: u8 });
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
export const Float32 = registerType<Float32Array>({
  name: 'Float32',
  serialize: (v) => new Uint8Array(Float32Array.from(v).buffer),
  deserialize: (b) => new Float32Array(b.slice().buffer),
});
export const Int32 = registerType<Int32Array>({
  name: 'Int32',
  serialize: (v) => new Uint8Array(Int32Array.from(v).buffer),
  deserialize: (b) => new Int32Array(b.slice().buffer),
});
/** A bounding box (a `vg.BboxList` row is an array of them). */
export interface Bbox { x1: number; y1: number; x2: number; y2: number; score?: number; label?: number }
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
