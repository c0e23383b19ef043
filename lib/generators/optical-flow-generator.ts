import { BadArgumentError } from '../errors';
import { EngineFrame, Frame, frameFromEngine } from '../frame';
import { native } from '../native';
import type { VideoReader } from '../reader';
import { describe } from '../validate';
import { checkTotal, closeAll, FrameGeneratorBase, GeneratorOptions, Sample } from './base';

/** What an {@link OpticalFlowGenerator} produces from each pair of frames (see its description). */
export type FlowMethod = 'flow' | 'flowMask' | 'diffMask' | 'absDiff';

/** Options of {@link OpticalFlowGenerator}: the generator options plus the flow's method and Farneback parameters. */
export interface OpticalFlowOptions extends GeneratorOptions {
  /** What each image shows (default `'flow'`). */
  method?: FlowMethod;
  /** Farneback pyramid levels. */
  flowLevel?: number;
  /** Farneback iterations at each pyramid level (default 3). */
  iterations?: number;
  /** Farneback averaging window size (default 15). */
  winSize?: number;
}

/**
 * Motion between consecutive frames, as in keras-video's OpticalFlowGenerator. Each sample uses
 * nbFrames + 1 frames spread over the video (resized to targetShape) and yields nbFrames images:
 *   flow      Farneback flow from each frame to the next: 2 channels (dx, dy), in pixels
 *   flowMask  the next frame weighted by the flow magnitude (normalized to [0, 1] per image)
 *   diffMask  the next frame weighted by the gray absolute difference / 255
 *   absDiff   the absolute difference of the two frames
 * Values are multiplied by `rescale` except for `flow`.
 *
 * @example
 * const gen = new vg.OpticalFlowGenerator({ globPattern: './videos/{classname}/*.avi', method: 'absDiff', nbFrames: 4 });
 * const { x, xShape } = await gen.getBatch(0); // xShape: [16, 4, 224, 224, 3]
 */
export class OpticalFlowGenerator extends FrameGeneratorBase {
  /** The method in use. */
  readonly method: FlowMethod;
  private readonly flowArgs: { levels: number; iterations: number; winSize: number };

  /**
   * Finds the videos as the other generators do and validates the flow options (ERR_BAD_ARGUMENT).
   * `files` is internal (the validation generator's samples).
   */
  constructor(options: OpticalFlowOptions = {}, files?: { train: Sample[]; validation: Sample[] }) {
    super(options, files);
    const method = options.method ?? 'flow';
    if (!['flow', 'flowMask', 'diffMask', 'absDiff'].includes(method)) throw new BadArgumentError(`OpticalFlowGenerator: expected method 'flow', 'flowMask', 'diffMask' or 'absDiff', got ${describe(options.method)}`);
    this.method = method;
    // The OpticalFlow op's bounds (lib/graph/ops.ts).
    const int = (v: unknown, name: string, d: number, max: number) => {
      if (v === undefined) return d;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new BadArgumentError(`OpticalFlowGenerator: expected integer ${name} between 1 and ${max}, got ${describe(v)}`);
      return v;
    };
    this.flowArgs = { levels: int(options.flowLevel, 'flowLevel', 3, 32), iterations: int(options.iterations, 'iterations', 3, 100), winSize: int(options.winSize, 'winSize', 15, 255) };
  }

  /** Channels of the produced images. */
  get channels(): number {
    return this.method === 'flow' ? 2 : this.nbChannel;
  }

  protected rowsFor(s: Sample, reader: VideoReader): number[] {
    const n = reader.frameCount;
    checkTotal(n, s.file, this.nbFrames + 1);
    const step = Math.max(1, Math.floor(n / (this.nbFrames + 1)));
    return Array.from({ length: this.nbFrames + 1 }, (_, i) => Math.min(i * step, n - 1));
  }

  protected override async toTensor(frames: Frame[]): Promise<Float32Array> {
    const [w, h] = this.targetShape;
    const resize = new (native().NativeKernel)('Resize', { width: w, height: h });
    const flow = this.method === 'flow' || this.method === 'flowMask' ? new (native().NativeKernel)('OpticalFlow', this.flowArgs) : undefined;
    const gray = this.nbChannel === 1 || this.method === 'diffMask' ? new (native().NativeKernel)('ConvertColor', { conversion: 'COLOR_RGB2GRAY' }) : undefined;
    try {
      const [resized] = (await resize.execute([frames], frames.length)) as unknown[][];
      const asFrame = (x: unknown) => frameFromEngine(x as EngineFrame);
      let color = resized!.map(asFrame);
      if (this.options.transform) color = color.map(this.options.transform);
      const pairs = this.nbFrames;
      let flows: Frame[] = [];
      if (flow) {
        const stencil = color.slice(0, pairs).flatMap((f, i) => [f, color[i + 1]!]);
        flows = ((await flow.execute([stencil], pairs)) as unknown[][])[0]!.map(asFrame);
      }
      let grays: Frame[] = [];
      if (gray) grays = ((await gray.execute([color], color.length)) as unknown[][])[0]!.map(asFrame);
      const c = this.channels;
      const per = h * w * c;
      const out = new Float32Array(pairs * per);
      for (let i = 0; i < pairs; i++) {
        const o = i * per;
        const next = this.nbChannel === 1 ? grays[i + 1]! : color[i + 1]!;
        const prev = this.nbChannel === 1 ? grays[i]! : color[i]!;
        if (this.method === 'flow') {
          out.set(flows[i]!.data as Float32Array, o);
        } else if (this.method === 'absDiff') {
          for (let k = 0; k < per; k++) out[o + k] = Math.abs(next.data[k]! - prev.data[k]!) * this.rescale;
        } else if (this.method === 'diffMask') {
          for (let p = 0; p < h * w; p++) {
            const m = Math.abs(grays[i + 1]!.data[p]! - grays[i]!.data[p]!) / 255;
            for (let k = 0; k < c; k++) out[o + p * c + k] = next.data[p * c + k]! * m * this.rescale;
          }
        } else {
          const f = flows[i]!.data as Float32Array;
          const mag = new Float32Array(h * w);
          let max = 0;
          for (let p = 0; p < h * w; p++) max = Math.max(max, (mag[p] = Math.hypot(f[2 * p]!, f[2 * p + 1]!)));
          for (let p = 0; p < h * w; p++) {
            const m = max > 0 ? mag[p]! / max : 0;
            for (let k = 0; k < c; k++) out[o + p * c + k] = next.data[p * c + k]! * m * this.rescale;
          }
        }
      }
      return out;
    } finally {
      await closeAll([resize, flow, gray]);
    }
  }

  protected override get frameChannels(): number {
    return this.channels;
  }

  /**
   * A generator over the validation files, in order, without shuffling, with the same method.
   *
   * @example
   * const validation = gen.getValidationGenerator();
   * for await (const { x, y } of validation) evaluate(x, y);
   */
  getValidationGenerator(): OpticalFlowGenerator {
    return new OpticalFlowGenerator({ ...(this.options as OpticalFlowOptions), classes: this.classes, shuffle: false, split: 0 }, { train: this.validationFiles, validation: [] });
  }
}
