import * as os from 'node:os';
import { fromNative } from '../errors';
import { native, NativeIndexInfo } from '../native';
import { Batch, FrameGeneratorBase, GeneratorOptions, Sample } from './base';

/**
 * Every sliding window of nbFrames frames of each video, each window a distinct sample. Frames
 * in a window are `step` apart, where step spreads nbFrames over `sequenceTime` seconds (1 when
 * not given); consecutive windows start `step` frames apart.
 *
 * Counting the windows needs each video's frame count from its packet index (not the header):
 * an index-only scan (demux, no decode, no packet copied), done off the main thread by
 * `await gen.ready()` or `SlidingFrameGenerator.create()`, and by the first `getBatch()` or
 * iteration. Reading `length`, `files` or `filesCount` before that indexes the videos on the
 * calling thread instead (the same result, but it blocks the event loop while it runs).
 *
 * @example
 * const gen = await vg.SlidingFrameGenerator.create({ globPattern: './videos/{classname}/*.mp4', nbFrames: 8, sequenceTime: 2 });
 */
export class SlidingFrameGenerator extends FrameGeneratorBase {
  private readonly steps: Map<string, number>;
  /** File-level samples whose windows are not counted yet (undefined once they are). */
  private unindexed?: Sample[];
  private indexing?: Promise<void>;
  /** Videos whose windows were counted (for saying why there are none). */
  private videoCount = 0;

  /**
   * A generator whose videos are already indexed (off the main thread), so `length` does not block.
   *
   * @example
   * const gen = await vg.SlidingFrameGenerator.create({ globPattern: './videos/{classname}/*.mp4', nbFrames: 8 });
   * console.log(gen.length, 'batches');
   */
  static async create(options: GeneratorOptions & { sequenceTime?: number }): Promise<SlidingFrameGenerator> {
    const gen = new SlidingFrameGenerator(options);
    await gen.ready();
    return gen;
  }

  /**
   * Finds the videos as the other generators do; their windows are counted later (see
   * {@link ready}). `sequenceTime` (seconds) is the time a window's nbFrames frames span.
   * `files` (internal): samples of a parent generator; with `steps` they are windows already,
   * without they are whole files whose windows this generator counts.
   */
  constructor(options: GeneratorOptions & { sequenceTime?: number } = {}, files?: { train: Sample[]; validation: Sample[]; steps?: Map<string, number> }) {
    super(options, files);
    this.steps = files?.steps ?? new Map();
    if (!files?.steps) this.unindexed = this.samples;
  }

  /**
   * Indexes the videos (once, off the main thread) and counts their windows.
   *
   * @example
   * const gen = new vg.SlidingFrameGenerator({ globPattern: './videos/{classname}/*.mp4', sequenceTime: 2 });
   * await gen.ready();
   * console.log(gen.length, 'batches of', gen.batchSize, 'windows');
   */
  ready(): Promise<void> {
    if (!this.unindexed) return Promise.resolve();
    this.indexing ??= this.indexAsync().finally(() => { this.indexing = undefined; });
    return this.indexing;
  }

  /** Batches per epoch: floor(windows / batchSize); indexes the videos on this thread if {@link ready} has not. */
  override get length(): number {
    this.indexSync();
    return super.length;
  }

  /** The number of distinct files with at least one window (indexes the videos if needed). */
  override get filesCount(): number {
    this.indexSync();
    return super.filesCount;
  }

  /** The distinct files with at least one window (indexes the videos if needed). */
  override get files(): string[] {
    this.indexSync();
    return super.files;
  }

  /**
   * Batch i of this epoch, after indexing the videos if that is not done yet.
   *
   * @example
   * const { x, xShape, y } = await gen.getBatch(0);
   */
  override async getBatch(i: number): Promise<Batch> {
    await this.ready();
    return super.getBatch(i);
  }

  /**
   * One epoch of batches, after indexing the videos if that is not done yet.
   *
   * @example
   * for await (const { x, y } of gen) train(x, y);
   */
  override async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    await this.ready();
    yield* super[Symbol.asyncIterator]();
  }

  protected override emptyReason(): string {
    if (this.samples.length > 0 || this.unindexed) return super.emptyReason();
    return `the generator has no batches: no window of ${this.nbFrames} frames fits in any of its ${this.videoCount} video(s)`;
  }

  protected rowsFor(s: Sample): number[] {
    const step = this.steps.get(s.file) ?? 1;
    return Array.from({ length: this.nbFrames }, (_, i) => s.start! + i * step);
  }

  /**
   * A generator over the validation files, without shuffling; it counts its own windows the same way.
   *
   * @example
   * const validation = gen.getValidationGenerator();
   * await validation.ready();
   */
  getValidationGenerator(): SlidingFrameGenerator {
    return new SlidingFrameGenerator({ ...this.options, classes: this.classes, shuffle: false, split: 0 }, { train: this.validationFiles, validation: [] });
  }

  private async indexAsync(): Promise<void> {
    const files = [...new Set(this.unindexed!.map((s) => s.file))];
    const infos = new Map<string, NativeIndexInfo>();
    // A few scans at a time: each runs on its own engine thread.
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const file = files[next++]!;
        try {
          infos.set(file, await native().scanInfo(file));
        } catch (err) {
          throw fromNative(err, file);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(files.length, os.availableParallelism()) }, worker));
    if (this.unindexed) this.expand((file) => infos.get(file)!); // unless `length` indexed meanwhile
  }

  private indexSync(): void {
    if (!this.unindexed) return;
    const infos = new Map<string, NativeIndexInfo>();
    this.expand((file) => {
      let info = infos.get(file);
      if (!info) {
        try {
          info = native().scanInfoSync(file);
        } catch (err) {
          throw fromNative(err, file);
        }
        infos.set(file, info);
      }
      return info;
    });
  }

  /** Replaces the file-level samples by their windows and starts the epoch's order. */
  private expand(infoOf: (file: string) => NativeIndexInfo): void {
    const sequenceTime = (this.options as { sequenceTime?: number }).sequenceTime;
    const windows = this.unindexed!.flatMap((s) => {
      const info = infoOf(s.file);
      const step = sequenceTime ? Math.max(1, Math.round((info.fps * sequenceTime) / this.nbFrames)) : 1;
      this.steps.set(s.file, step);
      const span = (this.nbFrames - 1) * step + 1;
      const out: Sample[] = [];
      for (let start = 0; start + span <= info.frames; start += step) out.push({ ...s, start });
      return out;
    });
    this.videoCount = new Set(this.unindexed!.map((s) => s.file)).size;
    this.unindexed = undefined;
    this.samples = windows;
    this.onEpochEnd();
  }
}
