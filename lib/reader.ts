/**
 * VideoReader: exact random access to one video file, no database needed.
 *
 * Opening scans the file once (demux only, no decode) into a packet index; each request
 * then decodes from the keyframe before each wanted frame, never from the start of the
 * file. Containers whose packets are plain byte ranges (MP4/MOV, Matroska/WebM) are read in
 * place; others have their packets copied to a temporary file first.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BadArgumentError, ClosedError, fromNative, NotFoundError, toVidgraphError, ResourceError } from './errors';
import type { Frame } from './frame';
import { native, NativeScanResult } from './native';
import { limitInputPixelsOption, threadsOption } from './limits';
import { processAlive } from './storage/local-database';
import { ensureDirectory, writeFileAtomic } from './storage/paths';
import { describe, finiteNumber, integer, knownKeys, optionalBoolean, plainObject } from './validate';
import { DecodeStats, framesInOrder, VideoSource } from './video-source';

/** Options of {@link VideoReader.open}; every one is optional and an unknown key is ERR_BAD_ARGUMENT. */
export interface ReaderOptions {
  /**
   * Bytes of decoded RGB frames kept for repeated requests. Default 64 MiB. Only frames of
   * random requests are kept: a sequential read (iterFrames, or frame(i) with i increasing
   * by one) does not fill the cache. 0 turns caching off entirely (also the engine's few
   * most recent decoded pictures).
   */
  cacheBytes?: number;
  /** Shrink larger frames to fit [width, height], keeping the aspect ratio. */
  maxSize?: [number, number];
  /** Directory where the packet index is kept so that reopening the same file skips the scan. */
  indexCache?: string;
  /** Decoder threads. Default: FFmpeg's choice (all cores, at most 16). At most 1024; more than 4 per core are clamped, with a warning. */
  threads?: number;
  /**
   * Videos whose pictures have more pixels are refused with ERR_INVALID_VIDEO, at open and
   * inside the decoder, before such a picture is allocated. Default 7680 × 4320 (8K UHD);
   * false: no limit of vidgraph's own (FFmpeg's still applies).
   */
  limitInputPixels?: number | false;
  /**
   * Largest decoded output of one frame()/frames() call, in bytes (frames × width × height × 3);
   * a larger request is refused with ERR_RESOURCE before anything is decoded. Default 1 GiB.
   * iterFrames() streams in bounded memory and is not limited.
   */
  maxBatchBytes?: number;
  /**
   * Turn frames by the video's display rotation (phone videos), as the ffmpeg CLI does by
   * default; width and height are swapped for 90° and 270°. Default true; false keeps the
   * stored orientation (the CLI's -noautorotate).
   */
  rotate?: boolean;
  /**
   * Frames no other frame references (non-reference B-frames and the like, recorded per packet
   * at ingest) are not decoded when they are not asked for: sparse reads decode less. Default
   * true. Frames asked for are the same either way on intact files. A *damaged* non-reference
   * frame can change later frames without the decoder saying so, so for damaged or untrusted
   * files set false (with `threads: 1`): then a row reads the same however it is read.
   */
  skipNonReference?: boolean;
}

/** reader.stats: decode work so far and what the frame cache holds. */
export interface ReaderStats extends DecodeStats {
  /** Bytes of decoded frames in the reader's cache. */
  cacheBytes: number;
  /** Frames in the reader's cache. */
  cachedFrames: number;
}

/** A frame as {@link VideoReader} returns it: the picture with where it is in the video. */
export interface ReaderFrame {
  /** The picture: RGB, uint8, 3 channels; byte-identical to ffmpeg's rgb24 output for this index unless `maxSize` shrank it. */
  image: Frame<'uint8'>;
  /** Frame index (row), counted from 0 in presentation order. */
  index: number;
  /** Presentation time, seconds since the first frame. */
  seconds: number;
  /** The video's frame rate. */
  fps: number;
}

// 2: indexes carry the display matrix and packet side data (format version 2). Entries of
// format 2 under the same key (not classified: no disposable packets) are rebuilt in place.
const INDEX_CACHE_VERSION = 2;
const DEFAULT_CACHE_BYTES = 64 * 2 ** 20;
const DEFAULT_MAX_BATCH_BYTES = 2 ** 30;
/** Readers opened and not closed yet: the last close() trims the frame memory. */
let openReaders = 0;
const liveTempDirs = new Set<string>();
let exitHookInstalled = false;

/**
 * Exact random access to one video file, no database needed: frames by index or time, decoded
 * from the keyframe before each one, byte-identical to the ffmpeg CLI's rgb24 output.
 *
 * @example
 * const reader = await vg.VideoReader.open('movie.mp4');
 * const { image } = await reader.frame(-1);               // the last frame
 * const batch = await reader.frames([10, 500, 20]);       // in the order asked
 * for await (const f of reader.iterFrames({ time: [1.0, 2.0] })) use(f.image);
 * await reader.close();
 */
export class VideoReader {
  /** The file this reader reads. */
  readonly path: string;
  /** Frames in the video, counted by the packet index (not the container header). */
  readonly frameCount: number;
  /** Frames per second. */
  readonly fps: number;
  /** Width of the frames returned (after rotation and `maxSize`). */
  readonly width: number;
  /** Height of the frames returned (after rotation and `maxSize`). */
  readonly height: number;
  /** The display rotation the file asks for, clockwise degrees (0 when none); frames are turned by it unless `rotate: false`. */
  readonly rotation: number;
  /** Seconds, from the first frame's start to the last frame's end. */
  readonly duration: number;
  private readonly source: VideoSource;
  private readonly times: Float64Array;
  /** Frames of random requests by row, least recently used dropped first, within cacheBytes (none when 0). */
  private readonly cache?: LRUCache<number, ReaderFrame>;
  private readonly maxBatchBytes: number;
  /** The last row of the previous request: the next row after it is a sequential read, not cached. */
  private lastRow = -2;
  /** The temporary packet copy, for containers that cannot be read in place (removed by close()). */
  readonly tempDir?: string;
  /** Whether the packet index came from `indexCache` or from scanning the file. */
  readonly indexSource: 'scan' | 'cache';

  private constructor(file: string, source: VideoSource, cacheBytes: number, maxSize: [number, number] | undefined, indexSource: 'scan' | 'cache', maxBatchBytes: number, tempDir?: string) {
    this.path = file;
    this.maxBatchBytes = maxBatchBytes;
    this.indexSource = indexSource;
    this.source = source;
    if (cacheBytes > 0) this.cache = new LRUCache<number, ReaderFrame>({ maxSize: cacheBytes, sizeCalculation: (f) => Math.max(1, f.image.byteLength) });
    this.tempDir = tempDir;
    openReaders++;
    this.times = source.rowTimes();
    const info = source.info;
    this.frameCount = info.frames;
    this.fps = info.fps;
    this.duration = info.durationSec;
    this.rotation = info.rotation;
    [this.width, this.height] = fittedSize(info.width, info.height, maxSize);
  }

  /**
   * Opens a video file: scans it into a packet index (or reads the index from `indexCache`).
   * A missing file is ERR_NOT_FOUND; a file that is not a video, or has no video stream, is
   * ERR_INVALID_VIDEO.
   *
   * @example
   * const reader = await vg.VideoReader.open('movie.mp4', { cacheBytes: 256 * 2 ** 20, indexCache: '.vidgraph-index' });
   * console.log(reader.frameCount, reader.fps, reader.width, reader.height);
   */
  static async open(file: string, options?: ReaderOptions): Promise<VideoReader> {
    // Phase 1: defaults.
    const o = plainObject('VideoReader.open', 'options', options);
    knownKeys('VideoReader.open', o, ['cacheBytes', 'maxSize', 'indexCache', 'threads', 'limitInputPixels', 'maxBatchBytes', 'rotate', 'skipNonReference']);
    let cacheBytes = DEFAULT_CACHE_BYTES;
    let maxBatchBytes = DEFAULT_MAX_BATCH_BYTES;
    let maxSize: [number, number] | undefined;
    let threads = 0;
    // Phase 2: validate.
    if (typeof file !== 'string' || file.length === 0) throw new BadArgumentError(`VideoReader.open: expected a video file path, got ${describe(file)}`);
    if (o.cacheBytes !== undefined) cacheBytes = integer('VideoReader.open', 'cacheBytes', o.cacheBytes, { min: 0 });
    if (o.maxSize !== undefined) {
      const m = o.maxSize;
      if (!Array.isArray(m) || m.length !== 2) throw new BadArgumentError(`VideoReader.open: expected maxSize as [width, height], got ${describe(m)}`);
      maxSize = [integer('VideoReader.open', 'maxSize[0] (width)', m[0], { min: 1 }), integer('VideoReader.open', 'maxSize[1] (height)', m[1], { min: 1 })];
    }
    if (o.threads !== undefined) threads = threadsOption('VideoReader.open', 'threads', o.threads);
    const maxPixels = limitInputPixelsOption('VideoReader.open', o.limitInputPixels);
    const rotate = optionalBoolean('VideoReader.open', 'rotate', o.rotate) ?? true;
    const skipNonReference = optionalBoolean('VideoReader.open', 'skipNonReference', o.skipNonReference);
    if (o.maxBatchBytes !== undefined) maxBatchBytes = integer('VideoReader.open', 'maxBatchBytes', o.maxBatchBytes, { min: 1 });
    if (o.indexCache !== undefined && (typeof o.indexCache !== 'string' || o.indexCache.length === 0)) {
      throw new BadArgumentError(`VideoReader.open: expected a directory path for indexCache, got ${describe(o.indexCache)}`);
    }
    // Phase 3: interpret: find or build the index, then open the decoder.
    orphansCollected ??= collectOrphanTempDirs();
    await orphansCollected;
    const abs = path.resolve(file);
    const stat = await fsp.stat(abs).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new NotFoundError(`VideoReader.open: video file '${abs}' does not exist`) : toVidgraphError(err, `VideoReader.open: cannot read video file '${abs}'`);
    });
    const cacheFile = typeof o.indexCache === 'string' ? await indexCachePath(o.indexCache, abs, stat) : undefined;
    let index: Uint8Array | undefined = cacheFile ? await fsp.readFile(cacheFile).catch(() => undefined) : undefined;
    let tempDir: string | undefined;
    let indexSource: 'scan' | 'cache' = 'scan';
    if (index) {
      try {
        // Entries are written for in-place indexes only; one pointing past the file is damaged.
        const info = native().indexInfo(index);
        if (!info.inplace || info.dataBytes > stat.size) throw new Error('damaged index cache entry');
        // An entry of an older format (before format 3: no disposable packets, and rows of a
        // stream starting mid-GOP counted otherwise) is rebuilt and written over.
        if (!info.classified) throw new Error('index cache entry of an older format');
        indexSource = 'cache';
      } catch {
        index = undefined; // unreadable or damaged cache entry (or an older format): rebuild it
      }
    }
    if (!index) {
      tempDir = await makeTempDir();
      let scan: NativeScanResult;
      try {
        scan = await native().scan(abs, { inplace: true, copyTo: path.join(tempDir, 'packets.bin'), maxPixels });
      } catch (err) {
        await removeTempDir(tempDir);
        throw fromNative(err, `VideoReader.open('${abs}')`);
      }
      index = scan.index;
      if (scan.info.inplace) {
        await removeTempDir(tempDir);
        tempDir = undefined;
        if (cacheFile) await writeFileAtomic(cacheFile, index);
      }
    }
    const dataPath = tempDir ? path.join(tempDir, 'packets.bin') : abs;
    const source = new VideoSource(index, dataPath, `'${abs}'`, { threads, maxSize, keepRecent: cacheBytes > 0, maxPixels, rotate, skipNonReference });
    return new VideoReader(abs, source, cacheBytes, maxSize, indexSource, maxBatchBytes, tempDir);
  }

  /**
   * Decode work so far (frames the codec produced versus frames returned, and seeks) and the cache's contents.
   */
  get stats(): Readonly<ReaderStats> {
    return { ...this.source.stats, cacheBytes: this.cache?.calculatedSize ?? 0, cachedFrames: this.cache?.size ?? 0 };
  }

  /**
   * Frame `i`; negative counts from the end; out of range clamps to the first or last frame.
   *
   * @example
   * const { image, index, seconds } = await reader.frame(100);
   * const last = await reader.frame(-1);
   */
  async frame(i: number): Promise<ReaderFrame> {
    this.checkOpen('frame');
    const row = this.clampIndex('frame', i);
    return (await this.fetch('frame', [row])).get(row)!;
  }

  /**
   * Frames in the order asked (repeats allowed); each keyframe interval is decoded once.
   *
   * @example
   * const [a, b, c] = await reader.frames([500, 10, 500]);
   */
  async frames(indices: number[]): Promise<ReaderFrame[]> {
    this.checkOpen('frames');
    if (!Array.isArray(indices)) throw new BadArgumentError(`VideoReader.frames: expected an array of frame indices, got ${describe(indices)}`);
    const rows = indices.map((i) => this.clampIndex('frames', i));
    const got = await this.fetch('frames', rows);
    return rows.map((r) => got.get(r)!);
  }

  /**
   * Frames in order over an interval: `frames: [start, stop)` with slice() semantics, or
   * `time: [start, stop]` in seconds (nearest frames, stop inclusive). Default: every frame.
   *
   * `reuse: true` hands each frame's memory back to the decoder as soon as the loop asks for
   * the next frame: the previous frame's `image.data` becomes empty (detached), so copy what
   * you keep (`new Uint8Array(f.image.data)`). Without it every frame stays valid, and its
   * memory returns when the garbage collector reaches it: V8's minor collections free dropped
   * frames every few frames, so at 1080p the read holds a few frames (~30 MiB) more.
   *
   * @example
   * for await (const f of reader.iterFrames({ time: [1.0, 2.0] })) console.log(f.index, f.seconds);
   * for await (const f of reader.iterFrames({ frames: [0, 100], reuse: true })) sum += f.image.data[0];
   */
  iterFrames(opts?: { time?: [number, number]; frames?: [number, number]; reuse?: boolean }): AsyncIterable<ReaderFrame> {
    this.checkOpen('iterFrames');
    const o = plainObject('VideoReader.iterFrames', 'options', opts);
    knownKeys('VideoReader.iterFrames', o, ['time', 'frames', 'reuse']);
    const reuse = optionalBoolean('VideoReader.iterFrames', 'reuse', o.reuse) ?? false;
    if (o.time !== undefined && o.frames !== undefined) throw new BadArgumentError('VideoReader.iterFrames: give either time or frames, not both');
    let start = 0;
    let stop = this.frameCount;
    if (o.frames !== undefined) {
      const f = pair('VideoReader.iterFrames', 'frames', o.frames);
      start = sliceIndex(integer('VideoReader.iterFrames', 'frames[0]', f[0]), this.frameCount);
      stop = sliceIndex(integer('VideoReader.iterFrames', 'frames[1]', f[1]), this.frameCount);
    } else if (o.time !== undefined) {
      const t = pair('VideoReader.iterFrames', 'time', o.time);
      start = this.timeToIndex(finiteNumber('VideoReader.iterFrames', 'time[0]', t[0]));
      stop = this.timeToIndex(finiteNumber('VideoReader.iterFrames', 'time[1]', t[1])) + 1;
    }
    const rows: number[] = [];
    for (let r = start; r < stop; r++) rows.push(r);
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const { row, frame } of framesInOrder(self.source, rows, self.width * self.height * 3)) {
          self.checkOpen('iterFrames'); // close() inside the loop ends it, even mid-chunk
          yield self.wrap(row, frame);
          // The loop asked for the next frame: this one's memory goes back to the pool now. (A
          // loop that stops early never gets here: its last frame stays valid.)
          if (reuse) native().releaseBuffer(frame.data.buffer as ArrayBuffer);
        }
      },
    };
  }

  /**
   * Rows of the keyframes (where decoding can start), ascending.
   *
   * @example
   * const keyframes = await Promise.all(reader.keyframeRows().map((i) => reader.frame(i)));
   */
  keyframeRows(): number[] {
    this.checkOpen('keyframeRows');
    return Array.from(this.source.keyframeRows()).sort((a, b) => a - b);
  }

  /**
   * The frame nearest to `seconds` (clamped to the video).
   *
   * @example
   * const { image } = await reader.frame(reader.timeToIndex(12.5));
   */
  timeToIndex(seconds: number): number {
    finiteNumber('VideoReader.timeToIndex', 'seconds', seconds);
    const t = this.times;
    let lo = 0;
    let hi = t.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid]! < seconds) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && Math.abs(t[lo - 1]! - seconds) <= Math.abs(t[lo]! - seconds)) return lo - 1;
    return lo;
  }

  /**
   * Seconds since the first frame for frame `i` (negative counts from the end; clamps).
   *
   * @example
   * const lastFrameAt = reader.indexToTime(-1);
   */
  indexToTime(i: number): number {
    return this.times[this.clampIndex('indexToTime', i)]!;
  }

  /**
   * Releases the decoder and the cache. A decode in progress stops at its next packet and its
   * request rejects with `ERR_CLOSED`, as does every later call. Safe to call twice; never
   * blocks the event loop.
   *
   * @example
   * const reader = await vg.VideoReader.open('movie.mp4');
   * try { await reader.frame(0); } finally { await reader.close(); }
   */
  async close(): Promise<void> {
    const wasOpen = !this.source.isClosed; // a second close() neither counts nor trims again
    this.cache?.clear();
    await this.source.close();
    if (this.tempDir) await removeTempDir(this.tempDir);
    // When the last open reader closes, the decoded frames' memory goes back to the system
    // (while others are open, the engine's idle trimmer returns it after a few seconds).
    if (wasOpen && --openReaders === 0) native().trimFrameMemory();
  }

  /**
   * Closes the reader at the end of an `await using` block (the same as {@link VideoReader.close}).
   *
   * @example
   * await using reader = await vg.VideoReader.open('movie.mp4');
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private checkOpen(where: string): void {
    if (this.source.isClosed) throw new ClosedError(`VideoReader.${where}: the reader of '${this.path}' is closed`);
  }

  private clampIndex(where: string, i: unknown): number {
    const v = integer(`VideoReader.${where}`, 'frame index', i);
    const n = this.frameCount;
    const r = v < 0 ? n + v : v;
    return Math.min(Math.max(r, 0), n - 1);
  }

  private wrap(row: number, image: Frame<'uint8'>): ReaderFrame {
    return { image, index: row, seconds: this.times[row]!, fps: this.fps };
  }

  private async fetch(where: string, rows: number[]): Promise<Map<number, ReaderFrame>> {
    const distinct = new Set(rows).size;
    const bytes = distinct * this.width * this.height * 3;
    if (bytes > this.maxBatchBytes) {
      throw new ResourceError(`VideoReader.${where}: ${distinct} frames of ${this.width}x${this.height} would take ${bytes} bytes of decoded RGB, ` +
        `more than maxBatchBytes (${this.maxBatchBytes}); ask for fewer frames per call, use iterFrames(), or raise maxBatchBytes in VideoReader.open`);
    }
    // Rows read in sequence (each the one after the previous) are used once: not cached.
    const sequential = new Set<number>();
    let previous = this.lastRow;
    for (const r of rows) {
      if (r === previous + 1) sequential.add(r);
      previous = r;
    }
    this.lastRow = previous;
    const out = new Map<number, ReaderFrame>();
    const missing: number[] = [];
    for (const r of rows) {
      const hit = this.cache?.get(r); // also makes it the most recently used
      if (hit) {
        out.set(r, hit);
      } else if (!out.has(r)) {
        missing.push(r);
      }
    }
    if (missing.length > 0) {
      const decoded = await this.source.decodeRows(missing);
      for (const [row, image] of decoded) {
        const f = this.wrap(row, image);
        out.set(row, f);
        if (!sequential.has(row)) this.remember(f);
      }
    }
    return out;
  }

  private remember(f: ReaderFrame): void {
    // A frame larger than the whole cache is not kept (lru-cache's maxEntrySize is maxSize).
    if (this.cache && !this.cache.has(f.index)) this.cache.set(f.index, f);
  }
}

/** The size frames come out at under `maxSize` (as FFmpeg's scale with force_original_aspect_ratio=decrease). */
export function fittedSize(w: number, h: number, maxSize?: [number, number]): [number, number] {
  if (!maxSize || (w <= maxSize[0] && h <= maxSize[1])) return [w, h];
  const [mw, mh] = maxSize;
  return [Math.min(Math.round((mh * w) / h), mw), Math.min(Math.round((mw * h) / w), mh)];
}

function pair(where: string, name: string, v: unknown): [unknown, unknown] {
  if (!Array.isArray(v) || v.length !== 2) throw new BadArgumentError(`${where}: expected ${name} as [start, stop], got ${describe(v)}`);
  return [v[0], v[1]];
}

/** Array.prototype.slice index semantics. */
function sliceIndex(i: number, n: number): number {
  return i < 0 ? Math.max(n + i, 0) : Math.min(i, n);
}

async function indexCachePath(dir: string, file: string, stat: fs.Stats): Promise<string> {
  await ensureDirectory('VideoReader.open', 'indexCache', dir);
  const real = await fsp.realpath(file);
  const key = createHash('sha256').update(`${INDEX_CACHE_VERSION}\0${real}\0${stat.size}\0${stat.mtimeMs}`).digest('hex').slice(0, 32);
  return path.join(dir, `${key}.vgix`);
}

/*
 * Temporary packet copies live in <tmp>/vidgraph-reader-<pid>-<random>/. They are removed by
 * close(), at the process's 'exit', and on SIGINT/SIGTERM/SIGHUP, which end the process
 * without an 'exit' event. A SIGKILLed (or crashed) process leaves its directories behind: the
 * first reader opened by a later process removes those whose pid is no longer running.
 */
const TEMP_PREFIX = 'vidgraph-reader-';
const CLEANUP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let orphansCollected: Promise<void> | undefined;

async function makeTempDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  trackTempDir(dir);
  return dir;
}

async function collectOrphanTempDirs(): Promise<void> {
  const tmp = os.tmpdir();
  const entries = await fsp.readdir(tmp).catch(() => [] as string[]);
  await Promise.all(entries.map(async (entry) => {
    const m = /^vidgraph-reader-(\d+)-/.exec(entry);
    if (!m || processAlive(Number(m[1]))) return;
    await fsp.rm(path.join(tmp, entry), { recursive: true, force: true }).catch(() => undefined);
  }));
}

function removeTempDirsNow(): void {
  for (const d of liveTempDirs) fs.rmSync(d, { recursive: true, force: true });
  liveTempDirs.clear();
}

/**
 * On a signal whose default action ends the process: when nobody else listens, remove the
 * directories and re-raise the signal, so the process ends exactly as it would have. When the
 * application listens too, it decides what happens: the directories go at 'exit' as usual.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  removeTempDirsNow();
  uninstallSignalHandlers();
  process.kill(process.pid, signal);
}

function installSignalHandlers(): void {
  for (const sig of CLEANUP_SIGNALS) process.on(sig, onSignal);
}

function uninstallSignalHandlers(): void {
  for (const sig of CLEANUP_SIGNALS) process.removeListener(sig, onSignal);
}

function trackTempDir(dir: string): void {
  if (liveTempDirs.size === 0) installSignalHandlers();
  liveTempDirs.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeTempDirsNow);
  }
}

async function removeTempDir(dir: string): Promise<void> {
  if (liveTempDirs.delete(dir) && liveTempDirs.size === 0) uninstallSignalHandlers();
  await fsp.rm(dir, { recursive: true, force: true });
}
