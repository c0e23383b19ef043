/**
 * A sample video the engine makes itself: a moving test pattern, encoded to H.264 by the
 * engine's own encoder and written as MP4. Needs nothing but this package (no ffmpeg CLI);
 * the quick start (`examples/quickstart.mjs`, `npx vidgraph demo`) uses it.
 *
 * @example
 * import * as vg from 'vidgraph';
 * const sample = await vg.writeSampleVideo('sample.mp4', { seconds: 5 });
 * console.log(`${sample.frames} frames ${sample.width}x${sample.height}, encoded with ${sample.encoder}`);
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BadArgumentError, fromNative } from './errors';
import { native, NativeEncoder } from './native';

/** Options of {@link writeSampleVideo}. */
export interface SampleVideoOptions {
  /** Length in seconds (default 10). */
  seconds?: number;
  /** Even frame size (default 1280 × 720). */
  width?: number;
  /** Even frame height (default 720). */
  height?: number;
  /** Whole frames per second (default 30). */
  fps?: number;
  /** Frames from one keyframe to the next (default 60). */
  keyframeDistance?: number;
  /** The encoder's quality, as compressVideo()'s (default 23). */
  quality?: number;
}

/** The video {@link writeSampleVideo} wrote. */
export interface SampleVideo {
  /** The file written. */
  path: string;
  /** Frames in it. */
  frames: number;
  /** Frame width. */
  width: number;
  /** Frame height. */
  height: number;
  /** Frames per second. */
  fps: number;
  /** The FFmpeg H.264 encoder that wrote it (libx264, libopenh264). */
  encoder: string;
  /** The file's size in bytes. */
  bytes: number;
}

function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number, even = false): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max || (even && v % 2 !== 0))
    throw new BadArgumentError(`writeSampleVideo: ${name} must be ${even ? 'an even' : 'an'} integer from ${min} to ${max}, got ${String(value)}`);
  return v;
}

/** Period, in pixels, of the horizontally scrolling background. */
const PERIOD = 256;

/**
 * Frame t of the pattern, drawn into `out` (height × width × 3 RGB): colour bands scrolling
 * left, a square bouncing around, and t written in binary as 16 black or white blocks along the
 * top edge, so that every frame differs and names its own index.
 */
class Pattern {
  private readonly background: Uint8Array;
  private readonly stride: number;

  constructor(private readonly width: number, private readonly height: number) {
    this.stride = (width + PERIOD) * 3;
    this.background = new Uint8Array(this.stride * height);
    for (let y = 0; y < height; y++) {
      const v = y / height;
      for (let x = 0; x < width + PERIOD; x++) {
        const u = (2 * Math.PI * x) / PERIOD;
        const i = y * this.stride + x * 3;
        this.background[i] = 128 + Math.round(110 * Math.sin(u));
        this.background[i + 1] = 128 + Math.round(110 * Math.sin(u + 2 * Math.PI * v));
        this.background[i + 2] = Math.round(40 + 180 * v);
      }
    }
  }

  draw(t: number, out: Uint8Array): void {
    const { width, height } = this;
    const row = width * 3;
    const shift = ((t * 4) % PERIOD) * 3;
    for (let y = 0; y < height; y++) out.set(this.background.subarray(y * this.stride + shift, y * this.stride + shift + row), y * row);
    const side = Math.max(2, Math.floor(Math.min(width, height) / 5));
    const bounce = (pos: number, span: number) => {
      const p = pos % (2 * span);
      return p < span ? p : 2 * span - p;
    };
    const x0 = bounce(t * 7, Math.max(1, width - side));
    const y0 = bounce(t * 5, Math.max(1, height - side));
    for (let y = y0; y < Math.min(height, y0 + side); y++) out.fill(235, y * row + x0 * 3, y * row + Math.min(width, x0 + side) * 3);
    const block = Math.max(1, Math.floor(width / 40));
    for (let bit = 0; bit < 16 && (bit + 1) * block <= width; bit++) {
      const value = (t >> (15 - bit)) & 1 ? 255 : 0;
      for (let y = 0; y < Math.min(height, block); y++) out.fill(value, y * row + bit * block * 3, y * row + (bit + 1) * block * 3);
    }
  }
}

/**
 * Writes a synthetic H.264 MP4 to `file` with the engine's own encoder. The file appears
 * whole or not at all: it is written under a temporary name in the same directory, then renamed.
 *
 * @example
 * const sample = await vg.writeSampleVideo('sample.mp4', { seconds: 5, width: 640, height: 360 });
 * const reader = await vg.VideoReader.open(sample.path);
 */
export async function writeSampleVideo(file: string, opts: SampleVideoOptions = {}): Promise<SampleVideo> {
  if (typeof file !== 'string' || file === '') throw new BadArgumentError('writeSampleVideo: expected an output file path');
  const width = intOption('width', opts.width, 1280, 16, 7680, true);
  const height = intOption('height', opts.height, 720, 16, 4320, true);
  const fps = intOption('fps', opts.fps, 30, 1, 240);
  const keyframeDistance = intOption('keyframeDistance', opts.keyframeDistance, 60, 1, 100000);
  const quality = intOption('quality', opts.quality, 23, 0, 51);
  const seconds = opts.seconds ?? 10;
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 3600))
    throw new BadArgumentError(`writeSampleVideo: seconds must be more than 0 and at most 3600, got ${String(opts.seconds)}`);
  const frames = Math.max(1, Math.round(seconds * fps));

  const target = path.resolve(file);
  const dir = path.dirname(target);
  await fsp.mkdir(dir, { recursive: true });
  const work = await fsp.mkdtemp(path.join(dir, `.${path.basename(target)}.tmp-`));
  const engine = native();
  const encoder = engine.versions().h264Encoder ?? 'unknown';
  let nativeEncoder: NativeEncoder | undefined;
  try {
    const packets = path.join(work, 'packets.bin');
    nativeEncoder = new engine.NativeEncoder(packets, { width, height, fpsNum: fps, fpsDen: 1, crf: quality, gop: keyframeDistance });
    // Two sets of frame buffers: one is drawn while the engine encodes the other.
    const batch = 8;
    const sets = [0, 1].map(() => Array.from({ length: batch }, () => new Uint8Array(width * height * 3)));
    const pattern = new Pattern(width, height);
    let inFlight: Promise<void> | undefined;
    for (let start = 0, k = 0; start < frames; start += batch, k++) {
      const buffers = sets[k % 2]!.slice(0, Math.min(batch, frames - start));
      buffers.forEach((data, i) => pattern.draw(start + i, data));
      await inFlight;
      inFlight = nativeEncoder.encode(buffers.map((data) => ({ height, width, channels: 3, dtype: 'uint8', data })));
    }
    await inFlight;
    const { index, info } = await nativeEncoder.finish();
    nativeEncoder = undefined;
    if (info.frames !== frames) throw new BadArgumentError(`writeSampleVideo: '${file}': the encoder wrote ${info.frames} of ${frames} frames`);
    const mp4 = path.join(work, 'sample.mp4');
    await engine.remux(index, packets, mp4);
    await fsp.rename(mp4, target);
    return { path: target, frames, width, height, fps, encoder, bytes: fs.statSync(target).size };
  } catch (err) {
    await nativeEncoder?.close().catch(() => undefined);
    throw fromNative(err, `writeSampleVideo: '${file}'`);
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
