/**
 * Loads the native engine: a local build in build/Release when there is one (a source build),
 * else the prebuilt binary in prebuilds/<platform>-<arch>/ that matches (node-gyp-build's rule).
 * When none loads, one error lists every place tried, why each failed, and the fix that works
 * in the user's own project.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NativeLoadError } from './errors';

/** What `metadata()` reports about a video stream. */
export interface VideoMetadata {
  /** Width of the frames as they are read: after the display rotation unless `rotate: false`. */
  width: number;
  /** Height of the frames as they are read (after the display rotation). */
  height: number;
  /**
   * The display rotation the file asks for, in clockwise degrees [0, 360) as the ffmpeg CLI
   * reads it (0 when none). Frames come out turned by it, as the CLI's, unless `rotate: false`.
   */
  rotation: number;
  /** Frames, counted by scanning every packet (never from the container header). */
  frames: number;
  /** Frames per second. */
  fps: number;
  /** The stream's time base as [numerator, denominator]. */
  timeBase: [number, number];
  /** FFmpeg's codec name, e.g. 'h264'. */
  codec: string;
  /** FFmpeg's pixel format of the coded pictures, e.g. 'yuv420p'. */
  pixFmt: string;
  /** Seconds, from the first frame's start to the last frame's end. */
  durationSec: number;
  /** Keyframes in the video. */
  keyframes: number;
}

/** The engine's facts about an indexed video: the public metadata and how it is stored. */
export interface NativeIndexInfo extends VideoMetadata {
  packets: number;
  /** One past the last byte a packet occupies in the data file. */
  dataBytes: number;
  headerFrames: number;
  container: string;
  inplace: boolean;
  ptsSynthesized: boolean;
  damagedPackets: number;
  /**
   * Whether the index records which packets no other frame references (index format 3); an
   * older index is classified by the decoder when it opens.
   */
  classified: boolean;
  /** Packets no other frame references (kPacketDisposable): a decode may leave them out. */
  disposablePackets: number;
  /** Whether width and height are those after the display rotation. */
  rotate: boolean;
  /** Packet side data items kept for the decoder (palettes, new extradata, ...). */
  sideData: number;
}

export interface NativeScanResult {
  index: Uint8Array;
  info: NativeIndexInfo;
  warnings: string[];
  seconds: number;
}

export interface NativeDecodedFrame {
  row: number;
  width: number;
  height: number;
  data: ArrayBuffer;
}

export interface NativeDecodeResult {
  frames: NativeDecodedFrame[];
  failedRows: number[];
  failure: string;
  framesDecoded: number;
  /** Of them, decoded by NVDEC. */
  framesOnGpu: number;
  packetsSent: number;
  /** Disposable packets (no frame references them) left out because their rows were not asked for. */
  packetsSkipped: number;
  seeks: number;
  /** How frames were converted to RGB: swscale directly (verified against the CLI's graph) or through that graph. */
  conversion: 'direct' | 'graph' | 'none';
}

export interface NativeDecoder {
  info(): NativeIndexInfo;
  rowTimes(): Float64Array;
  keyframeRows(): Int32Array;
  decode(rows: Int32Array): Promise<NativeDecodeResult>;
  /** The decode schedule for the requests that follow: rows in the order they will be asked for. */
  plan(rows: Int32Array, budgetBytes: number): Promise<void>;
  close(): Promise<void>;
}

export interface NativeOpInfo {
  name: string;
  inputs: { name: string; type: 'frame' | 'bytes' | 'any' }[];
  outputs: { name: string; type: 'frame' | 'bytes' | 'any' }[];
  stencil: number[];
  boundedState: number;
  unboundedState: boolean;
  batch: number;
  /** Plugin ops: the protobuf message of the arguments ('' when none). */
  protoMessage: string;
  /** Plugin ops: the shared library ('' for built-ins). */
  plugin: string;
  /** Takes any number of input columns (given as `inputs: [...]`). */
  variadic: boolean;
}

/** A frame as the engine returns it (engine memory behind `data`). */
export interface NativeFrame {
  height: number;
  width: number;
  channels: number;
  dtype: 'uint8' | 'uint16' | 'float32' | 'float64';
  data: ArrayBuffer;
}

export type NativeElement = NativeFrame | Uint8Array | null;

export interface NativeKernel {
  execute(inputs: unknown[][], rows: number): Promise<NativeElement[][]>;
  reset(): Promise<void>;
  close(): Promise<void>;
  /** Gives up on a kernel stuck in a call: no more calls, and its thread no longer keeps Node alive. */
  abandon(): void;
}

export interface NativeEncoder {
  encode(frames: { height: number; width: number; channels: number; dtype: string; data: ArrayBufferView }[]): Promise<void>;
  finish(): Promise<{ index: Uint8Array; info: NativeIndexInfo }>;
  /** Discards the encoder without finishing the stream. */
  close(): Promise<void>;
}

export interface NativeBinding {
  NativeEncoder: new (packetsPath: string, opts: { width: number; height: number; fpsNum: number; fpsDen: number; crf?: number; bitrate?: number; gop?: number; threads?: number }) => NativeEncoder;
  remux(index: Uint8Array, dataPath: string, outPath: string): Promise<void>;
  /** Joins encoded parts of one stream (rows in order, each part a whole number of keyframe intervals but the last). */
  concatEncoded(parts: { index: Uint8Array; data: string }[], outPath: string): Promise<{ index: Uint8Array; info: NativeIndexInfo }>;
  ops(): NativeOpInfo[];
  /** timeoutMs > 0: a registration that overran it registers nothing (ERR_TIMEOUT) and the file stays refused. */
  loadPlugin(path: string, timeoutMs?: number, replace?: boolean): Promise<string[]>;
  useStdMatAllocator(): void;
  /** placement.device 'gpu' runs the op's CUDA kernel on GPU `gpu`; 'host-twin' runs that kernel's arithmetic on the CPU (tests). */
  NativeKernel: new (op: string, args: Record<string, number | string | boolean> | Uint8Array, placement?: { device: 'cpu' | 'gpu' | 'host-twin'; gpu?: number }) => NativeKernel;
  /** The promise carries `progress`: [packets indexed, bytes read], updated as the scan goes (Atomics.load). */
  scan(path: string, opts: { copyTo?: string; inplace?: boolean; maxPixels?: number; rotate?: boolean }): Promise<NativeScanResult> & { progress: BigInt64Array };
  indexInfo(index: Uint8Array): NativeIndexInfo;
  /** @internal The index with its packets classified from the data file (index format 3), whatever format it had. */
  classifyIndex(index: Uint8Array, dataPath: string): Promise<Uint8Array>;
  /** Index-only scan on an engine thread: counts and times frames, copies no packet. */
  scanInfo(path: string): Promise<NativeIndexInfo>;
  /** The same on the calling thread (a generator's synchronous `length` before `ready()`). */
  scanInfoSync(path: string): NativeIndexInfo;
  /** Returns recycled frame buffers to the system; bytes unmapped. */
  trimFrameMemory(): number;
  /** Detaches the buffer: its views become empty and an engine frame's memory returns to the pool now. */
  releaseBuffer(buffer: ArrayBuffer): void;
  versions(): Record<string, string>;
  hasGpu(): boolean;
  gpuStatus(): import('./gpu').GpuStatus;
  setLogLevel(level: string): void;
  /** @internal Tests: an NV12 picture (packed) converted as NVDEC's are (host twin or the CUDA kernel). */
  nv12ToRgb(nv12: Uint8Array, width: number, height: number, colorspace: number, fullRange: boolean, device: 'host-twin' | 'gpu', gpu?: number): Uint8Array;
  NativeDecoder: new (index: Uint8Array, dataPath: string, opts: { threads?: number; maxWidth?: number; maxHeight?: number; keepRecent?: boolean; maxPixels?: number; rotate?: boolean; skipDisposable?: boolean; gpu?: number }) => NativeDecoder;
}

let binding: NativeBinding | undefined;
/** The engine binary that loaded (versions() reports it). */
export let enginePath = '';

export const packageRoot = path.join(__dirname, '..');

/** The platforms a prebuilt engine ships for (prebuilds/<platform>-<arch>, glibc). */
const PREBUILT_PLATFORMS = ['linux-x64'];

interface Attempt { file: string; error: unknown }

export function native(): NativeBinding {
  if (binding) return binding;
  const attempts: Attempt[] = [];
  const tryLoad = (file: string): NativeBinding | undefined => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file) as NativeBinding;
    } catch (error) {
      attempts.push({ file, error });
      return undefined;
    }
  };
  // VIDGRAPH_ADDON: an explicit engine binary (sanitizer builds, the prebuilt beside a local build).
  const explicit = process.env.VIDGRAPH_ADDON;
  if (explicit) {
    enginePath = path.resolve(explicit);
    binding = tryLoad(enginePath);
  } else {
    let resolved: string | undefined;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const gypBuild = require('node-gyp-build') as { resolve(dir: string): string };
      resolved = gypBuild.resolve(packageRoot);
    } catch (error) {
      attempts.push({ file: '', error });
    }
    if (resolved) binding = tryLoad(resolved);
    if (resolved) enginePath = resolved;
  }
  if (!binding) throw new NativeLoadError(loadFailureMessage(attempts), { cause: attempts[attempts.length - 1]?.error });
  return binding;
}

/** Every engine binary this package holds, for the load error's "tried" list. */
function candidates(): string[] {
  const found: string[] = [];
  const list = (dir: string): void => {
    try {
      for (const name of fs.readdirSync(dir)) if (name.endsWith('.node')) found.push(path.join(dir, name));
    } catch { /* no such directory */ }
  };
  list(path.join(packageRoot, 'build', 'Release'));
  list(path.join(packageRoot, 'build', 'Debug'));
  try {
    for (const tuple of fs.readdirSync(path.join(packageRoot, 'prebuilds'))) list(path.join(packageRoot, 'prebuilds', tuple));
  } catch { /* no prebuilds */ }
  return found;
}

const BUILD_PREREQUISITES = [
  '    - Node >= 20, a C++17 compiler, make, python3 and pkg-config (node-gyp builds the engine)',
  '    - FFmpeg >= 5.1 and OpenCV >= 4.5 development files',
  '        Debian/Ubuntu: sudo apt-get install g++ make python3 pkg-config libavformat-dev libavcodec-dev libavfilter-dev \\',
  '                         libswscale-dev libavutil-dev libopencv-dev',
  '        Fedora: sudo dnf install gcc-c++ make python3 pkgconf ffmpeg-free-devel opencv-devel',
  '        macOS: brew install pkg-config ffmpeg opencv',
];

function loadFailureMessage(attempts: Attempt[]): string {
  const platform = `${process.platform}-${process.arch}`;
  const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)).trim().split('\n')[0];
  const lines = [`vidgraph could not load its native engine on ${platform} (Node ${process.versions.node}, ${libcName()}).`, '  Tried:'];
  const failed = new Set(attempts.map((a) => a.file));
  for (const a of attempts) lines.push(a.file ? `    ${a.file}: ${reasonOf(a.error)}` : `    ${reasonOf(a.error)}`);
  for (const file of candidates()) if (!failed.has(file)) lines.push(`    ${file}: not for this platform`);
  const reasons = attempts.map((a) => reasonOf(a.error)).join('\n');
  const prebuilt = PREBUILT_PLATFORMS.includes(platform) && libcName().startsWith('glibc');
  const buildHere = ['  Fix: build the engine from source in your project:', ...BUILD_PREREQUISITES, '    then run: npm rebuild vidgraph --build-from-source'];
  if (/GLIBC(XX)?_[0-9.]+' not found/.test(reasons)) {
    lines.push(`  Cause: this system's C or C++ runtime is older than the prebuilt engine needs (${neededRuntime() || 'see prebuilds/linux-x64/BUILDINFO.txt'}).`, ...buildHere);
  } else if (/lib[a-z0-9]+_vg\.so/.test(reasons)) {
    lines.push('  Cause: the FFmpeg libraries bundled next to the prebuilt engine are missing: the package is incomplete.',
      '  Fix: reinstall it in your project: rm -rf node_modules/vidgraph && npm install vidgraph');
  } else if (/lib(av|sw)[a-z]+\.so|libopencv_[a-z]+\.so/.test(reasons)) {
    lines.push('  Cause: the engine was built from source against FFmpeg or OpenCV shared libraries that are no longer installed.',
      '  Fix: install them again (Debian/Ubuntu: sudo apt-get install libavformat59 libavcodec59 libavfilter8 libswscale6 libopencv-imgcodecs406 libopencv-video406),',
      '       or remove the source build (rm -rf node_modules/vidgraph/build) to use the prebuilt engine where one exists.');
  } else if (/invalid ELF|wrong ELF class|Exec format/.test(reasons)) {
    lines.push('  Cause: the binary was built for another platform or architecture.', ...buildHere);
  } else if (!prebuilt) {
    lines.push(`  Cause: vidgraph ships a prebuilt engine for ${PREBUILT_PLATFORMS.join(', ')} (glibc) only, and this package has no source build for ${platform}.`, ...buildHere);
  } else {
    lines.push('  Cause: the prebuilt engine is missing or did not load.', ...buildHere,
      '  Working on vidgraph itself? bash scripts/bootstrap builds the engine in a checkout.');
  }
  return lines.join('\n');
}

function libcName(): string {
  if (process.platform !== 'linux') return process.platform;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const glibc = report?.header?.glibcVersionRuntime;
  return glibc ? `glibc ${glibc}` : 'musl or another libc';
}

function neededRuntime(): string {
  try {
    const info = fs.readFileSync(path.join(packageRoot, 'prebuilds', 'linux-x64', 'BUILDINFO.txt'), 'utf8');
    return /^needs: (.*)$/m.exec(info)?.[1] ?? '';
  } catch {
    return '';
  }
}
