/**
 * Training-data generators (keras-video-generators semantics): batches of frame sequences as
 * Float32Array with explicit shapes and one-hot labels. Frames are decoded through the packet
 * index (only the frames a batch needs), resized and converted by the engine's kernels on their
 * threads, and the next batch is prepared while the caller trains on this one.
 */
import * as fs from 'node:fs';
import type * as Tinyglobby from 'tinyglobby';
import * as path from 'node:path';
import { BadArgumentError, ClosedError, NotFoundError, toVidgraphError } from '../errors';
import { EngineFrame, Frame, frameFromEngine } from '../frame';
import { native, NativeKernel } from '../native';
import { VideoReader } from '../reader';
import { limitInputPixelsOption } from '../limits';
import { describe, optionalBoolean } from '../validate';

/** keras-video-generators' default file pattern (API.md). */
export const DEFAULT_GLOB_PATTERN = './videos/{classname}/*.avi';

/** Options of the training-data generators, with keras-video-generators' names and defaults. */
export interface GeneratorOptions {
  /** Where the videos are, one directory level per class. Default './videos/{classname}/*.avi' (keras-video's). */
  globPattern?: string;
  /** The class names, in label order. Default: every directory `{classname}` matches, sorted. */
  classes?: string[];
  /** Frames per sequence (default 5). */
  nbFrames?: number;
  /** Sequences per batch (default 16). */
  batchSize?: number;
  /** The size frames are resized to, as [width, height] (default [224, 224]). */
  targetShape?: [number, number];
  /** 3 for RGB (default) or 1 for grayscale. */
  nbChannel?: 1 | 3;
  /** Factor applied to every pixel value (default 1/255). */
  rescale?: number;
  /** Shuffle the samples at every epoch (default true). */
  shuffle?: boolean;
  /** Fraction of each class's files kept for validation. */
  split?: number;
  /** Keep each sample's decoded sequence in memory for later epochs (default false). */
  useFrameCache?: boolean;
  /** Applied to each resized frame before rescaling (e.g. an augmentation). */
  transform?: (frame: Frame) => Frame;
  /** Seed of the validation split and the shuffling (default 1): the same seed gives the same order. */
  seed?: number;
  /** Videos whose pictures have more pixels fail (ERR_INVALID_VIDEO) as in VideoReader.open. Default 8K UHD; false: no limit. */
  limitInputPixels?: number | false;
  /** Turn frames by the video's display rotation, as the ffmpeg CLI does (default true); false: stored orientation. */
  rotate?: boolean;
}

/** One batch of a generator: frame sequences and one-hot labels as flat Float32Arrays with their shapes. */
export interface Batch {
  /** The frames, in xShape order, times `rescale` (the optical-flow generator's `flow` is not rescaled). */
  x: Float32Array;
  /** [batch, nbFrames, height, width, channels]. */
  xShape: [number, number, number, number, number];
  /** One-hot labels, one row per sequence. */
  y: Float32Array;
  /** [batch, classes]. */
  yShape: [number, number];
}

/** A sample: one file (and, for sliding windows, where its window starts). */
export interface Sample {
  file: string;
  label: number;
  start?: number;
}

/** mulberry32 */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled<T>(items: T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * The files per class (sorted) that `pattern` names, keras-video's way: `{classname}` stands for
 * each class (the directories it matches under the fixed part of the path, unless `classes` are
 * given), and the rest is a glob as Python's glob module reads it, and more: `*`, `?`, `[...]`,
 * `{a,b}` alternatives and `**` (tinyglobby). Dot files are left out, as Python's glob does.
 */
export function globClasses(pattern: string, classes?: string[]): Map<string, string[]> {
  const abs = path.resolve(pattern);
  const parts = abs.split(path.sep);
  const ci = parts.findIndex((p) => p.includes('{classname}'));
  if (ci < 0) throw new BadArgumentError(`generator: globPattern must contain {classname}, got '${pattern}'`);
  const base = parts.slice(0, ci).join(path.sep) || path.sep;
  const classPart = parts[ci]!;
  if (!fs.existsSync(base)) throw new NotFoundError(`generator: no videos found: directory '${base}' (from globPattern '${pattern}') does not exist`);
  // The class directories: those under `base` whose name the {classname} segment matches.
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const classRe = new RegExp(`^${classPart.split('{classname}').map(escape).join('(.+)')}$`);
  const names = classes ?? fs.readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && classRe.test(d.name))
    .map((d) => classRe.exec(d.name)![1]!).sort();
  const found = new Map<string, string[]>();
  const rest = parts.slice(ci + 1).join('/');
  const { escapePath, globSync } = require('tinyglobby') as typeof Tinyglobby; // loaded on first use, not at import
  for (const cls of names) {
    // Globbed from inside the class directory (a relative pattern from its cwd costs tinyglobby
    // a fifth of an absolute one). The class name is literal text (a class may be called 'a[1]' or '{x}').
    const dir = path.join(base, classPart.split('{classname}').join(cls));
    const files = rest === '' ? [] : globSync(rest.split('{classname}').join(escapePath(cls)), { cwd: dir, onlyFiles: true, expandDirectories: false });
    found.set(cls, files.map((f) => path.join(dir, f)).sort());
  }
  return found;
}

export abstract class FrameGeneratorBase {
  /** The class names, in label order (label i is `classes[i]`). */
  readonly classes: string[];
  /** Frames per sequence. */
  readonly nbFrames: number;
  /** Sequences per batch. */
  readonly batchSize: number;
  /** [width, height] of the produced frames. */
  readonly targetShape: [number, number];
  /** Channels of the produced frames (1 or 3). */
  readonly nbChannel: 1 | 3;
  /** Factor applied to every pixel value. */
  readonly rescale: number;
  /** Whether samples are shuffled at every epoch. */
  readonly shuffle: boolean;
  protected readonly options: GeneratorOptions;
  protected samples: Sample[];
  protected readonly validationFiles: Sample[];
  private order: Sample[];
  private rand: () => number;
  private readonly frameCache = new Map<string, Float32Array>();
  private closed = false;
  private readonly prefetch = new Map<number, Promise<Batch>>();
  private epoch = 0;

  constructor(options: GeneratorOptions = {}, files?: { train: Sample[]; validation: Sample[] }) {
    // Phase 1: defaults. Phase 2: validate.
    if (typeof options !== 'object' || options === null) throw new BadArgumentError(`generator: expected an options object, got ${describe(options)}`);
    const int = (v: unknown, name: string, dflt: number, min = 1) => {
      if (v === undefined) return dflt;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new BadArgumentError(`generator: expected integer ${name} >= ${min}, got ${describe(v)}`);
      return v;
    };
    this.options = options;
    this.nbFrames = int(options.nbFrames, 'nbFrames', 5);
    this.batchSize = int(options.batchSize, 'batchSize', 16);
    const ts = options.targetShape ?? [224, 224];
    if (!Array.isArray(ts) || ts.length !== 2 || !ts.every((v) => Number.isInteger(v) && v > 0 && v <= 16384)) throw new BadArgumentError(`generator: expected targetShape as [width, height] (integers between 1 and 16384, as Resize), got ${describe(ts)}`);
    this.targetShape = [ts[0], ts[1]];
    if (options.nbChannel !== undefined && options.nbChannel !== 1 && options.nbChannel !== 3) throw new BadArgumentError(`generator: expected nbChannel 1 or 3, got ${describe(options.nbChannel)}`);
    this.nbChannel = options.nbChannel ?? 3;
    this.rescale = options.rescale ?? 1 / 255;
    this.shuffle = options.shuffle ?? true;
    limitInputPixelsOption('generator', options.limitInputPixels);
    optionalBoolean('generator', 'rotate', options.rotate);
    if (options.split !== undefined && !(typeof options.split === 'number' && options.split >= 0 && options.split < 1)) throw new BadArgumentError(`generator: expected split in [0, 1), got ${describe(options.split)}`);
    // Phase 3: interpret: files per class, the validation split per class.
    if (files) {
      this.classes = options.classes ?? [];
      this.samples = files.train;
      this.validationFiles = files.validation;
    } else {
      const pattern = options.globPattern ?? DEFAULT_GLOB_PATTERN;
      if (typeof pattern !== 'string' || pattern.length === 0) throw new BadArgumentError(`generator: expected globPattern as a path pattern with {classname}, e.g. '${DEFAULT_GLOB_PATTERN}', got ${describe(options.globPattern)}`);
      if (options.classes !== undefined && (!Array.isArray(options.classes) || !options.classes.every((c) => typeof c === 'string' && c.length > 0))) {
        throw new BadArgumentError(`generator: expected classes as an array of class names, got ${describe(options.classes)}`);
      }
      const byClass = globClasses(pattern, options.classes);
      const found = [...byClass.values()].reduce((n, list) => n + list.length, 0);
      if (found === 0) {
        const where = byClass.size === 0 ? `no class directory matches '${pattern}' (resolved: '${path.resolve(pattern)}')` : `no file matches '${pattern}' in the ${byClass.size} class(es) ${[...byClass.keys()].map((c) => `'${c}'`).join(', ')} (resolved: '${path.resolve(pattern)}')`;
        throw new NotFoundError(`generator: no videos found: ${where}`);
      }
      this.classes = [...byClass.keys()];
      const rand = seeded(options.seed ?? 1);
      this.samples = [];
      this.validationFiles = [];
      [...byClass.values()].forEach((list, label) => {
        const order = shuffled(list, rand);
        const nVal = Math.floor((options.split ?? 0) * order.length);
        order.slice(0, nVal).sort().forEach((file) => this.validationFiles.push({ file, label }));
        order.slice(nVal).sort().forEach((file) => this.samples.push({ file, label }));
      });
    }
    this.rand = seeded((options.seed ?? 1) + 7919);
    this.order = this.shuffle ? shuffled(this.samples, this.rand) : [...this.samples];
  }

  /** Batches per epoch: floor(samples / batchSize). */
  get length(): number {
    return Math.floor(this.samples.length / this.batchSize);
  }

  /** The number of classes. */
  get classesCount(): number {
    return this.classes.length;
  }

  /** The number of distinct files in this generator's (training) samples. */
  get filesCount(): number {
    return new Set(this.samples.map((s) => s.file)).size;
  }

  /** The distinct files of this generator's (training) samples. */
  get files(): string[] {
    return [...new Set(this.samples.map((s) => s.file))];
  }

  /**
   * Starts the next epoch: a new order of the samples when shuffling, prefetched batches dropped.
   *
   * @example
   * for (let epoch = 0; epoch < 10; epoch++) {
   *   for await (const batch of gen) train(batch);
   *   gen.onEpochEnd();
   * }
   */
  onEpochEnd(): void {
    this.epoch++;
    this.prefetch.clear();
    this.order = this.shuffle ? shuffled(this.samples, this.rand) : [...this.samples];
  }

  /** Why an epoch has no batch: fewer samples than batchSize (a message for errors and warnings). */
  protected emptyReason(): string {
    return `the generator has no batches: ${this.samples.length} sample(s) (from ${new Set(this.samples.map((s) => s.file)).size} file(s)) is fewer than batchSize ${this.batchSize}`;
  }

  /**
   * Batch i of this epoch (0 to `length - 1`); batch i + 1 starts decoding in the background.
   *
   * @example
   * const { x, xShape, y, yShape } = await gen.getBatch(0);
   * // xShape: [16, 5, 224, 224, 3], yShape: [16, gen.classesCount]
   */
  async getBatch(i: number): Promise<Batch> {
    if (this.closed) throw new ClosedError('getBatch: the generator is closed');
    if (this.length === 0) throw new BadArgumentError(`getBatch(${describe(i)}): ${this.emptyReason()}`);
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new BadArgumentError(`getBatch: expected an integer between 0 and ${this.length - 1}, got ${describe(i)}`);
    const batch = this.prefetch.get(i) ?? this.build(i);
    this.prefetch.delete(i);
    if (i + 1 < this.length && !this.prefetch.has(i + 1)) {
      const next = this.build(i + 1);
      next.catch(() => undefined);
      this.prefetch.set(i + 1, next);
    }
    return batch;
  }

  /**
   * Drops prefetched batches and the frame cache; later getBatch() calls reject with
   * `ERR_CLOSED`. Batches already being decoded finish and are discarded.
   *
   * @example
   * for await (const batch of gen) train(batch);
   * await gen.close();
   */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.prefetch.values()];
    this.prefetch.clear();
    this.frameCache.clear();
    await Promise.allSettled(pending);
  }

  /**
   * One epoch. An epoch without a batch (fewer samples than batchSize) says so with a process
   * warning (code VIDGRAPH_GENERATOR) instead of ending silently.
   *
   * @example
   * for await (const { x, y } of gen) train(x, y);
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    if (this.length === 0) process.emitWarning(`vidgraph ${this.constructor.name}: ${this.emptyReason()}; the epoch yields nothing`, { code: 'VIDGRAPH_GENERATOR' });
    for (let i = 0; i < this.length; i++) yield await this.getBatch(i);
  }

  /** The frame rows of a sample (nbFrames of them). */
  protected abstract rowsFor(sample: Sample, reader: VideoReader): number[];

  /** Channels of each produced image (the optical-flow generator's 'flow' has 2). */
  protected get frameChannels(): number {
    return this.nbChannel;
  }

  private async build(i: number): Promise<Batch> {
    const [w, h] = this.targetShape;
    const c = this.frameChannels;
    const per = this.nbFrames * h * w * c;
    const samples = this.order.slice(i * this.batchSize, (i + 1) * this.batchSize);
    const x = new Float32Array(samples.length * per);
    const y = new Float32Array(samples.length * this.classes.length);
    await Promise.all(samples.map(async (s, k) => {
      let seq: Float32Array;
      try {
        seq = await this.sequence(s);
      } catch (err) {
        throw toVidgraphError(err, `generator: '${s.file}'`); // an engine kernel's or the user's transform's error
      }
      x.set(seq, k * per);
      y[k * this.classes.length + s.label] = 1;
    }));
    return { x, xShape: [samples.length, this.nbFrames, h, w, c], y, yShape: [samples.length, this.classes.length] };
  }

  /** One sample's frames, resized, converted and rescaled: nbFrames × h × w × c floats. */
  protected async sequence(s: Sample): Promise<Float32Array> {
    const key = `${s.file}\0${s.start ?? -1}`;
    const hit = this.frameCache.get(key);
    if (hit) return hit;
    const reader = await VideoReader.open(s.file, { cacheBytes: 0, limitInputPixels: this.options.limitInputPixels, rotate: this.options.rotate ?? true });
    let frames: Frame[];
    try {
      frames = (await reader.frames(this.rowsFor(s, reader))).map((f) => f.image);
    } finally {
      await reader.close();
    }
    const out = await this.toTensor(frames);
    if (this.options.useFrameCache) this.frameCache.set(key, out);
    return out;
  }

  protected async toTensor(frames: Frame[]): Promise<Float32Array> {
    const [w, h] = this.targetShape;
    const resize = new (native().NativeKernel)('Resize', { width: w, height: h });
    const gray = this.nbChannel === 1 ? new (native().NativeKernel)('ConvertColor', { conversion: 'COLOR_RGB2GRAY' }) : undefined;
    try {
      let cols = (await resize.execute([frames], frames.length)) as unknown[][];
      if (gray) cols = (await gray.execute(cols, frames.length)) as unknown[][];
      const per = h * w * this.nbChannel;
      const out = new Float32Array(frames.length * per);
      cols[0]!.forEach((nf, k) => {
        let frame = frameFromEngine(nf as EngineFrame);
        if (this.options.transform) frame = this.options.transform(frame);
        const d = frame.data;
        for (let j = 0; j < per; j++) out[k * per + j] = d[j]! * this.rescale;
      });
      return out;
    } finally {
      await closeAll([resize, gray]);
    }
  }
}

export async function closeAll(kernels: (NativeKernel | undefined)[]): Promise<void> {
  for (const k of kernels) await k?.close();
}

export function checkTotal(n: number, file: string, need: number): void {
  if (n < need) throw new BadArgumentError(`generator: '${file}' has ${n} frames, fewer than the ${need} a sequence needs`);
}
