/**
 * Frame extraction: every frame (or the frames nearest each 1/fps step) of one video or of a
 * directory of videos, written as <outputDir>/<video file name>/<source frame index>.jpg|png.
 *
 * Frames are decoded through the packet index and encoded by the engine's ImageEncoder on its
 * own threads. With `threaded`, videos run in parallel and each video is split at keyframes
 * into parts decoded concurrently; file names are source frame indices either way, so the
 * output is identical.
 *
 * @example
 * const report = await vg.extractFrames({ input: 'videos/', outputDir: 'frames/', fps: 2, format: 'jpg' });
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BadArgumentError, fromNative, NotFoundError, VidgraphError } from './errors';
import { native } from './native';
import { VideoReader } from './reader';
import { limitInputPixelsOption } from './limits';
import { describe, knownKeys, optionalBoolean, plainObject } from './validate';

/** Options of {@link extractFrames}; an unknown key is ERR_BAD_ARGUMENT. */
export interface ExtractOptions {
  /** A video file or a directory of videos. */
  input: string;
  /** Where the frames go: one subdirectory per video, named after the video file. */
  outputDir: string;
  /** Frames per second to keep (the frame nearest each 1/fps step); -1 or undefined: every frame. */
  fps?: number;
  /** Videos in parallel, and each video split at keyframes across threads. */
  threaded?: boolean;
  /** Image format (default `'jpg'`). */
  format?: 'jpg' | 'png';
  /** JPEG quality, 0-100 (default 95). */
  quality?: number;
  /** Videos whose pictures have more pixels fail (ERR_INVALID_VIDEO) as in VideoReader.open. Default 8K UHD; false: no limit. */
  limitInputPixels?: number | false;
  /** Turn frames by the video's display rotation, as the ffmpeg CLI does (default true); false: stored orientation. */
  rotate?: boolean;
  /** Called as frames are written: frames written (`done`) of those known so far (`total`), videos, failed videos. */
  onProgress?: (p: { done: number; total: number; videos: number; failed: number }) => void;
}

/** What {@link extractFrames} did, per video and in total. */
export interface ExtractReport {
  /** One entry per video, sorted by file. */
  videos: {
    /** The video file. */
    file: string;
    /** Its output directory. */
    outputDir: string;
    /** Frames in the video. */
    frames: number;
    /** Images written. */
    written: number;
    /** Why it failed; some or no images were written. */
    error?: {
      /** The error's code. */
      code: string;
      /** The error's message. */
      message: string;
    };
  }[];
  /** Videos that failed (the others completed). */
  failed: number;
  /** Images written in all. */
  written: number;
}

const CHUNK = 16;

/**
 * Writes every frame (or, with `fps`, the frame nearest each 1/fps step) of a video or a
 * directory of videos as images named by source frame index:
 * `<outputDir>/<video file name>/0000000000.jpg`. A video that fails is reported in the result
 * (`failed`, `videos[i].error`) and the others complete; the CLI's `extract-frames` runs this.
 *
 * @example
 * const report = await vg.extractFrames({ input: 'videos/', outputDir: 'frames/', fps: 2, format: 'png', threaded: true });
 * for (const v of report.videos) if (v.error) console.error(v.file, v.error.code);
 */
export async function extractFrames(options: ExtractOptions): Promise<ExtractReport> {
  // Phase 1: defaults and validation.
  const o = plainObject('extractFrames', 'options', options) as unknown as ExtractOptions;
  knownKeys('extractFrames', o as unknown as Record<string, unknown>, ['input', 'outputDir', 'fps', 'threaded', 'format', 'quality', 'onProgress', 'limitInputPixels', 'rotate']);
  limitInputPixelsOption('extractFrames', o.limitInputPixels);
  const limitInputPixels = o.limitInputPixels;
  const rotate = optionalBoolean('extractFrames', 'rotate', o.rotate) ?? true;
  if (typeof o.input !== 'string' || !o.input) throw new BadArgumentError(`extractFrames: expected an input file or directory, got ${describe(o.input)}`);
  if (typeof o.outputDir !== 'string' || !o.outputDir) throw new BadArgumentError(`extractFrames: expected an outputDir, got ${describe(o.outputDir)}`);
  const format = o.format ?? 'jpg';
  if (format !== 'jpg' && format !== 'png') throw new BadArgumentError(`extractFrames: expected format 'jpg' or 'png', got ${describe(o.format)}`);
  const quality = o.quality ?? 95;
  if (!Number.isInteger(quality) || quality < 0 || quality > 100) throw new BadArgumentError(`extractFrames: expected integer quality between 0 and 100, got ${describe(o.quality)}`);
  const fps = o.fps === undefined || o.fps === -1 ? undefined : o.fps;
  if (fps !== undefined && (typeof fps !== 'number' || !(fps > 0))) throw new BadArgumentError(`extractFrames: expected fps > 0 (or -1 for every frame), got ${describe(o.fps)}`);

  // Phase 2: the videos.
  const input = path.resolve(o.input);
  const stat = await fsp.stat(input).catch(() => undefined);
  if (!stat) throw new NotFoundError(`extractFrames: input '${input}' does not exist`);
  const files = stat.isDirectory()
    ? (await fsp.readdir(input, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(input, e.name)).sort()
    : [input];

  // Phase 3: extract.
  const report: ExtractReport = { videos: [], failed: 0, written: 0 };
  const progress = { done: 0, total: 0, videos: files.length, failed: 0 };
  const parallel = o.threaded ? Math.max(1, Math.min(files.length, os.availableParallelism())) : 1;
  const queue = [...files];
  const worker = async () => {
    for (let file; (file = queue.shift()); ) {
      const outDir = path.join(path.resolve(o.outputDir), path.basename(file));
      const entry: ExtractReport['videos'][number] = { file, outputDir: outDir, frames: 0, written: 0 };
      report.videos.push(entry);
      try {
        await extractOne(file, outDir, { fps, format, quality, threaded: o.threaded === true, limitInputPixels, rotate }, entry, (n, total) => {
          progress.done += n;
          progress.total += total;
          o.onProgress?.({ ...progress });
        });
      } catch (err) {
        const e = err instanceof VidgraphError ? err : fromNative(err, file);
        entry.error = { code: e.code, message: e.message };
        report.failed++;
        progress.failed++;
        o.onProgress?.({ ...progress });
      }
      report.written += entry.written;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  report.videos.sort((a, b) => a.file.localeCompare(b.file));
  return report;
}

async function extractOne(
  file: string,
  outDir: string,
  opts: { fps?: number; format: 'jpg' | 'png'; quality: number; threaded: boolean; limitInputPixels?: number | false; rotate: boolean },
  entry: ExtractReport['videos'][number],
  progress: (done: number, total: number) => void,
): Promise<void> {
  const probe = await VideoReader.open(file, { cacheBytes: 0, limitInputPixels: opts.limitInputPixels, rotate: opts.rotate });
  let rows: number[];
  let keyframes: number[];
  try {
    entry.frames = probe.frameCount;
    if (opts.fps === undefined) {
      rows = Array.from({ length: probe.frameCount }, (_, i) => i);
    } else {
      // The frame nearest each 1/fps step, from the first frame through the last.
      const last = probe.indexToTime(-1);
      const picked = new Set<number>();
      for (let k = 0; k / opts.fps <= last + 1e-9; k++) picked.add(probe.timeToIndex(k / opts.fps));
      rows = [...picked].sort((a, b) => a - b);
    }
    keyframes = probe.keyframeRows();
  } finally {
    await probe.close();
  }
  progress(0, rows.length);
  await fsp.mkdir(outDir, { recursive: true });
  // Parts: split at keyframes so each part decodes independently.
  const parts: number[][] = [];
  const partCount = opts.threaded ? Math.max(1, os.availableParallelism()) : 1;
  if (partCount === 1) parts.push(rows);
  else {
    const target = Math.ceil(rows.length / partCount);
    let current: number[] = [];
    const isKey = new Set(keyframes);
    for (const r of rows) {
      if (current.length >= target && keyframesBetween(isKey, current[current.length - 1]!, r)) {
        parts.push(current);
        current = [];
      }
      current.push(r);
    }
    if (current.length) parts.push(current);
  }
  const errors: unknown[] = [];
  await Promise.all(parts.map(async (part) => {
    try {
      await extractPart(file, outDir, part, opts, (n) => {
        entry.written += n;
        progress(n, 0);
      });
    } catch (err) {
      errors.push(err);
    }
  }));
  if (errors.length) throw errors[0];
}

function keyframesBetween(isKey: Set<number>, a: number, b: number): boolean {
  for (let r = a + 1; r <= b; r++) if (isKey.has(r)) return true;
  return false;
}

async function extractPart(file: string, outDir: string, rows: number[], opts: { format: 'jpg' | 'png'; quality: number; limitInputPixels?: number | false; rotate: boolean }, written: (n: number) => void): Promise<void> {
  const reader = await VideoReader.open(file, { cacheBytes: 0, limitInputPixels: opts.limitInputPixels, rotate: opts.rotate });
  const encoder = new (native().NativeKernel)('ImageEncoder', { format: opts.format === 'jpg' ? 'jpeg' : 'png', quality: opts.quality });
  try {
    let pending: Promise<void> | undefined;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const frames = await reader.frames(chunk);
      await pending; // the previous chunk's encode + write overlaps this chunk's decode
      pending = (async () => {
        const [images] = await encoder.execute([frames.map((f) => f.image)], frames.length);
        await Promise.all(frames.map((f, k) => fsp.writeFile(path.join(outDir, `${String(f.index).padStart(10, '0')}.${opts.format}`), images![k] as Uint8Array)));
        written(frames.length);
      })();
      pending.catch(() => undefined);
    }
    await pending;
  } finally {
    await encoder.close();
    await reader.close();
  }
}

