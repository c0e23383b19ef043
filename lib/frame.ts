import { BadArgumentError, NotFoundError } from './errors';
import { native } from './native';
import { describe, integer } from './validate';

/** The element type of a frame's pixels. Decoded video frames are `'uint8'`. */
export type DType = 'uint8' | 'uint16' | 'float32' | 'float64';
/** The typed array behind a frame, matching its {@link DType}. */
export type FrameData = Uint8Array | Uint16Array | Float32Array | Float64Array;

/** The typed array that holds a dtype's pixels: `DataOf<'uint8'>` is Uint8Array. */
export type DataOf<D extends DType> = D extends 'uint8' ? Uint8Array : D extends 'uint16' ? Uint16Array : D extends 'float32' ? Float32Array : D extends 'float64' ? Float64Array : never;

/**
 * A frame of any dtype, as a union that `dtype` narrows: after `if (f.dtype === 'float32')`,
 * `f.data` is a Float32Array. TypeScript kernels receive frame inputs as AnyFrame.
 */
export type AnyFrame = { [D in DType]: Frame<D> }[DType];

/** The dtype of a typed array: `DTypeOf<Float32Array>` is 'float32'. */
export type DTypeOf<A extends FrameData> = A extends Uint8Array ? 'uint8' : A extends Uint16Array ? 'uint16' : A extends Float32Array ? 'float32' : A extends Float64Array ? 'float64' : never;

const ctors = { uint8: Uint8Array, uint16: Uint16Array, float32: Float32Array, float64: Float64Array } as const;

/** @internal Bytes per element of a dtype. */
export function dtypeBytes(dtype: DType): number {
  return ctors[dtype].BYTES_PER_ELEMENT;
}

function dtypeOf(data: unknown): DType | undefined {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  return undefined;
}

/** Packed pixels in an ArrayBuffer, as the engine returns frames. */
export interface EngineFrame {
  height: number;
  width: number;
  channels: number;
  dtype: DType;
  data: ArrayBuffer;
}

/** @internal A Frame over an engine frame's (or a stored row's) buffer, typed by its dtype. No copy. */
export function frameFromEngine(f: EngineFrame): Frame {
  return Frame.from(new ctors[f.dtype](f.data), f.height, f.width, f.channels);
}

/** Minimal structural view of an OpenCV Mat from @u4/opencv4nodejs. */
export interface CvMat {
  /** Height in pixels. */
  rows: number;
  /** Width in pixels. */
  cols: number;
  /** Channels per pixel. */
  channels: number;
  /** OpenCV's type code (depth and channels, e.g. CV_8UC3). */
  type: number;
  /** The pixels as one Buffer. */
  getData(): Buffer;
}

/**
 * An image: packed HWC, row-major, RGB channel order. Decoded video frames are uint8 with
 * 3 channels and `data` is a view over the engine's memory (no copy was made).
 *
 * `Frame<D>` narrows `dtype` and `data` to one dtype: the reader and video streams give
 * `Frame<'uint8'>` (`data` is a Uint8Array); a plain `Frame` may hold any of the four.
 *
 * @example
 * const f = vg.Frame.alloc(480, 640, 3);
 * f.data[(y * f.width + x) * 3 + 0] = 255; // red at (x, y)
 */
export class Frame<D extends DType = DType> {
  /** Rows of pixels. */
  readonly height: number;
  /** Pixels per row. */
  readonly width: number;
  /** Values per pixel (3 for RGB). */
  readonly channels: number;
  /** The element type of `data`. */
  readonly dtype: D;
  /** The pixels, packed HWC and row-major: pixel (x, y) channel c is `data[(y * width + x) * channels + c]`. */
  readonly data: DataOf<D>;

  private constructor(data: DataOf<D>, height: number, width: number, channels: number, dtype: D) {
    this.data = data;
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.dtype = dtype;
  }

  /**
   * A zero-filled frame (dtype `'uint8'` unless given).
   *
   * @example
   * const mask = vg.Frame.alloc(480, 640, 1);
   * const flow = vg.Frame.alloc(480, 640, 2, 'float32');
   */
  static alloc<D extends DType = 'uint8'>(height: number, width: number, channels: number, dtype?: D): Frame<D> {
    integer('Frame.alloc', 'height', height, { min: 1 });
    integer('Frame.alloc', 'width', width, { min: 1 });
    integer('Frame.alloc', 'channels', channels, { min: 1 });
    const d = (dtype ?? 'uint8') as D;
    const Ctor = ctors[d];
    if (!Ctor) throw new BadArgumentError(`Frame.alloc: expected dtype 'uint8', 'uint16', 'float32' or 'float64', got ${describe(dtype)}`);
    return new Frame(new Ctor(height * width * channels) as DataOf<D>, height, width, channels, d);
  }

  /**
   * Wraps existing pixels (no copy). `data.length` must be height × width × channels; the
   * dtype follows the array's type.
   *
   * @example
   * const gray = vg.Frame.from(new Uint8Array(640 * 480), 480, 640, 1);
   */
  static from<A extends FrameData>(data: A, height: number, width: number, channels: number): Frame<DTypeOf<A>> {
    const dtype = dtypeOf(data);
    if (!dtype) throw new BadArgumentError(`Frame.from: expected data as Uint8Array, Uint16Array, Float32Array or Float64Array, got ${describe(data)}`);
    integer('Frame.from', 'height', height, { min: 1 });
    integer('Frame.from', 'width', width, { min: 1 });
    integer('Frame.from', 'channels', channels, { min: 1 });
    if (data.length !== height * width * channels) {
      throw new BadArgumentError(`Frame.from: expected ${height}x${width}x${channels} = ${height * width * channels} elements, got ${data.length}`);
    }
    return new Frame(data as unknown as DataOf<DTypeOf<A>>, height, width, channels, dtype as DTypeOf<A>);
  }

  /** Byte length of the pixel data. */
  get byteLength(): number {
    return this.data.byteLength;
  }

  /**
   * The @u4/opencv4nodejs module (an optional peer dependency), loaded quietly.
   *
   * @example
   * const cv = vg.Frame.opencv();
   * const gray = frame.toMat().cvtColor(cv.COLOR_RGB2GRAY);
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  static opencv(): any {
    return loadOpenCv();
  }

  /**
   * An OpenCV Mat of these pixels (needs the optional peer dependency @u4/opencv4nodejs;
   * ERR_NOT_FOUND without it). The Mat is a cv.Mat at run time, typed here by {@link CvMat}.
   *
   * @example
   * const { image } = await reader.frame(0);
   * const mat = image.toMat(); // rows = image.height, cols = image.width, 3 channels (RGB order)
   */
  toMat(): CvMat {
    const cv = loadOpenCv();
    const depth = { uint8: cv.CV_8U, uint16: cv.CV_16U, float32: cv.CV_32F, float64: cv.CV_64F }[this.dtype];
    const type = depth + ((this.channels - 1) << 3);
    const buf = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return new cv.Mat(buf, this.height, this.width, type);
  }

  /**
   * A Frame holding a copy of an OpenCV Mat's pixels (the channel order is kept as it is).
   *
   * @example
   * const cv = vg.Frame.opencv();
   * const blurred = vg.Frame.fromMat(image.toMat().gaussianBlur(new cv.Size(5, 5), 1.2));
   */
  static fromMat(mat: CvMat): Frame {
    const cv = loadOpenCv();
    const depth = mat.type & 7;
    const bytes = mat.getData();
    const byDepth: Record<number, DType> = { [cv.CV_8U]: 'uint8', [cv.CV_16U]: 'uint16', [cv.CV_32F]: 'float32', [cv.CV_64F]: 'float64' };
    const dtype = byDepth[depth];
    if (!dtype) throw new BadArgumentError(`Frame.fromMat: unsupported Mat depth ${depth}`);
    const Ctor = ctors[dtype];
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return new Frame(new Ctor(copy.buffer, 0, copy.byteLength / Ctor.BYTES_PER_ELEMENT), mat.rows, mat.cols, mat.channels, dtype);
  }
}

interface OpenCvModule {
  CV_8U: number;
  CV_16U: number;
  CV_32F: number;
  CV_64F: number;
  Mat: new (data: Buffer, rows: number, cols: number, type: number) => CvMat;
}

let opencv: OpenCvModule | undefined;

function loadOpenCv(): OpenCvModule {
  if (opencv) return opencv;
  // opencv4nodejs reports its setup on the console when it loads: keep that out of our output.
  const saved = { log: console.log, info: console.info, warn: console.warn };
  console.log = console.info = console.warn = () => undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cv = require('@u4/opencv4nodejs') as OpenCvModule;
    // opencv4nodejs installs a process-wide cv::Mat allocator that reports to V8 from whatever
    // thread allocates. vidgraph's engine threads use the same libopencv_core, and V8 must only
    // be called from the JS thread (it aborts the process otherwise): put OpenCV's own back.
    native().useStdMatAllocator();
    opencv = cv;
    return opencv;
  } catch (err) {
    throw new NotFoundError(
      'Frame.toMat/fromMat need the optional peer dependency @u4/opencv4nodejs, which is not installed. ' +
        'Install it against the system OpenCV: OPENCV4NODEJS_DISABLE_AUTOBUILD=1 npm install @u4/opencv4nodejs',
      { cause: err },
    );
  } finally {
    Object.assign(console, saved);
  }
}
