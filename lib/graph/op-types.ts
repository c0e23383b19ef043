/**
 * The types of `sc.ops`: a typed signature for every built-in op, an interface that plugin and
 * TypeScript ops join by declaration merging (`npx vidgraph types` writes it for a plugin), and
 * `sc.ops.call(...)` for ops known only at run time. Types only: lib/graph/ops.ts validates
 * every call at run time whatever its type said.
 */
import type { DType, Frame } from '../frame';
import type { DeviceType } from '../run/perf-params';
import type { Column } from './graph';
import type { FrameInfo, Histogram, Image } from './types';

/** An op argument: one value for every stream, or an array with one value per stream. */
export type PerStream<T> = T | readonly T[];

/** Options every op accepts next to its inputs and arguments (see the README's "Op attributes"). */
export interface OpOptions {
  /** Where the op runs; GPU needs a GPU (ERR_NO_GPU otherwise). */
  device?: DeviceType;
  /** Rows per kernel call. */
  batch?: number;
  /** Row offsets each output row reads (an op's own stencil length). */
  stencil?: readonly number[];
  /** Warm-up rows before the first needed row. */
  boundedState?: number;
}

/** OpenCV interpolation names accepted by Resize. */
export type Interpolation = 'INTER_NEAREST' | 'INTER_LINEAR' | 'INTER_CUBIC' | 'INTER_AREA' | 'INTER_LANCZOS4' | 'INTER_LINEAR_EXACT' | 'INTER_NEAREST_EXACT';

/** OpenCV conversion names accepted by ConvertColor. */
export type ColorConversion =
  | 'COLOR_RGB2GRAY' | 'COLOR_BGR2GRAY' | 'COLOR_GRAY2RGB' | 'COLOR_GRAY2BGR' | 'COLOR_RGB2BGR' | 'COLOR_BGR2RGB'
  | 'COLOR_RGB2RGBA' | 'COLOR_RGBA2RGB' | 'COLOR_RGB2HSV' | 'COLOR_HSV2RGB' | 'COLOR_RGB2HLS' | 'COLOR_HLS2RGB'
  | 'COLOR_RGB2Lab' | 'COLOR_Lab2RGB' | 'COLOR_RGB2Luv' | 'COLOR_RGB2YCrCb' | 'COLOR_YCrCb2RGB' | 'COLOR_RGB2XYZ'
  | 'COLOR_RGB2YUV' | 'COLOR_YUV2RGB';

/** The built-in ops (their kernels are in cpp/kernels; arguments are checked again at run time). */
export interface BuiltinOps {
  /** Resizes frames (OpenCV's resize); `preserveAspect` fits inside width × height. */
  Resize<D extends DType>(params: { frame: Column<Frame<D>>; width: PerStream<number>; height: PerStream<number>; interpolation?: PerStream<Interpolation>; preserveAspect?: PerStream<boolean> } & OpOptions): Column<Frame<D>>;
  /** Converts colour spaces (OpenCV's cvtColor), e.g. 'COLOR_RGB2GRAY'. */
  ConvertColor<D extends DType>(params: { frame: Column<Frame<D>>; conversion: PerStream<ColorConversion> } & OpOptions): Column<Frame<D>>;
  /** Gaussian blur: an odd kernelSize (default 3) and sigma. */
  Blur<D extends DType>(params: { frame: Column<Frame<D>>; kernelSize?: PerStream<number>; sigma?: PerStream<number> } & OpOptions): Column<Frame<D>>;
  /** 16-bin histograms of R, G and B. */
  Histogram(params: { frame: Column<Frame> } & OpOptions): Column<Histogram>;
  /** Farneback dense optical flow between each frame and the next (stencil [0, 1]): 2-channel float32 frames. */
  OpticalFlow(params: { frame: Column<Frame>; pyrScale?: PerStream<number>; levels?: PerStream<number>; winSize?: PerStream<number>; iterations?: PerStream<number>; polyN?: PerStream<number>; polySigma?: PerStream<number> } & OpOptions): Column<Frame<'float32'>>;
  /** Repeats the channels `replications` times. */
  CloneChannels<D extends DType>(params: { frame: Column<Frame<D>>; replications?: PerStream<number> } & OpOptions): Column<Frame<D>>;
  /** Encodes frames as PNG (default) or JPEG. */
  ImageEncoder(params: { frame: Column<Frame>; format?: PerStream<'png' | 'jpeg'>; quality?: PerStream<number> } & OpOptions): Column<Image>;
  /** Decodes PNG or JPEG images into RGB frames. */
  ImageDecoder(params: { img: Column<Uint8Array> } & OpOptions): Column<Frame<'uint8'>>;
  /** Each frame's width, height and channels. */
  FrameInfo(params: { frame: Column<Frame> } & OpOptions): Column<FrameInfo>;
  /** Its input, unchanged. */
  Pass<T>(params: { input: Column<T> } & OpOptions): Column<T>;
  /** Consumes its input and produces nothing. */
  Discard(params: { input: Column } & OpOptions): Record<string, never>;
}

/**
 * Ops that exist only at run time (C++ plugins, TypeScript ops) declare their signatures here by
 * declaration merging, so that `sc.ops.MyResize(...)` type-checks. `npx vidgraph types` writes
 * such a declaration from a plugin's .proto.
 *
 * @example
 * declare module 'vidgraph' {
 *   interface PluginOps {
 *     MyResize(params: { frame: vg.Column<vg.Frame>; width?: vg.PerStream<number>; height?: vg.PerStream<number> } & vg.OpOptions): vg.Column<vg.Frame>;
 *   }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PluginOps {}

/** What an op call returns: one column, or a record of columns by output name. */
export type OpResult = Column | Record<string, Column>;

/** A TypeScript op as registerOp returns it: its name, with its inputs and outputs in its type. */
export interface OpHandle<In = Record<string, unknown>, Out = OpResult> {
  /** The op's name (`sc.ops[name]`). */
  readonly name: string;
  /** For the compiler only: the op's input columns and result. Never set at run time. */
  readonly signature?: OpSignature<In, Out>;
}

/** What an OpHandle's type records of its op (for the compiler only). */
export interface OpSignature<In, Out> {
  /** The input columns, by name. */
  inputs: In;
  /** What calling the op returns. */
  result: Out;
}

/** `sc.ops`: the built-in ops, the ops declared in PluginOps, and `call` for any op by name. */
export type Ops = BuiltinOps & PluginOps & OpsCall;

/** `sc.ops.call`: any op by name, or a TypeScript op by its handle. */
export interface OpsCall {
  /**
   * Calls a TypeScript op by the handle registerOp returned: its inputs and result are typed
   * from its declaration; other keys are its arguments (`config.args`).
   *
   * @example
   * const brightness = vg.registerOp({ name: 'Brightness', inputs: { frame: vg.FrameType }, outputs: { value: vg.Json }, kernel: () => 1 });
   * const b = sc.ops.call(brightness, { frame: frames, label: 'x' });
   */
  call<In, Out>(op: OpHandle<In, Out>, params: In & OpOptions & Record<string, unknown>): Out;
  /**
   * Calls an op known only at run time (a plugin loaded with sc.loadOp, a TypeScript op) by
   * name. A single-output op returns its column; name the result type for a multi-output op.
   *
   * @example
   * await sc.loadOp('build/myresize.so', 'resize.proto');
   * const small = sc.ops.call('MyResize', { frame: frames, width: 200, height: 300 });
   * const parts = sc.ops.call<{ left: vg.Column; right: vg.Column }>('Split', { frame: frames });
   */
  call<R extends OpResult = Column>(op: string, params: Record<string, unknown>): R;
}
