/**
 * Loads the native engine: a prebuilt binary from prebuilds/<platform>-<arch>/ when one
 * matches, else the local build in build/Release (node-gyp-build decides). When it cannot
 * load, one error lists the likely causes and their fixes.
 */
import * as path from 'node:path';
import { NativeLoadError } from './errors';

/** What `metadata()` reports about a video stream. */
export interface VideoMetadata {
  width: number;
  height: number;
  /** Frames, counted by scanning every packet (never from the container header). */
  frames: number;
  fps: number;
  timeBase: [number, number];
  codec: string;
  pixFmt: string;
  durationSec: number;
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
  packetsSent: number;
  seeks: number;
  /** How frames were converted to RGB: swscale directly (verified against the CLI's graph) or through that graph. */
  conversion: 'direct' | 'graph' | 'none';
}

export interface NativeDecoder {
  info(): NativeIndexInfo;
  rowTimes(): Float64Array;
  keyframeRows(): Int32Array;
  decode(rows: Int32Array): Promise<NativeDecodeResult>;
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
  ops(): NativeOpInfo[];
  /** timeoutMs > 0: a registration that overran it registers nothing (ERR_TIMEOUT) and the file stays refused. */
  loadPlugin(path: string, timeoutMs?: number): Promise<string[]>;
  useStdMatAllocator(): void;
  NativeKernel: new (op: string, args: Record<string, number | string | boolean> | Uint8Array) => NativeKernel;
  scan(path: string, opts: { copyTo?: string; inplace?: boolean; threads?: number; maxPixels?: number }): Promise<NativeScanResult>;
  indexInfo(index: Uint8Array): NativeIndexInfo;
  /** Index-only scan on an engine thread: counts and times frames, copies no packet. */
  scanInfo(path: string): Promise<NativeIndexInfo>;
  /** The same on the calling thread (a generator's synchronous `length` before `ready()`). */
  scanInfoSync(path: string): NativeIndexInfo;
  /** Returns recycled frame buffers to the system; bytes unmapped. */
  trimFrameMemory(): number;
  versions(): Record<string, string>;
  hasGpu(): boolean;
  setLogLevel(level: string): void;
  NativeDecoder: new (index: Uint8Array, dataPath: string, opts: { threads?: number; maxWidth?: number; maxHeight?: number; keepRecent?: boolean; maxPixels?: number }) => NativeDecoder;
}

let binding: NativeBinding | undefined;

export const packageRoot = path.join(__dirname, '..');

export function native(): NativeBinding {
  if (binding) return binding;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    // VIDGRAPH_ADDON: an explicit engine binary (sanitizer builds; see scripts/asan-test.sh).
    const explicit = process.env.VIDGRAPH_ADDON;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    binding = explicit ? (require(path.resolve(explicit)) as NativeBinding) : load(packageRoot);
  } catch (err) {
    throw new NativeLoadError(loadFailureMessage(err), { cause: err });
  }
  return binding;
}

function loadFailureMessage(err: unknown): string {
  const reason = err instanceof Error ? err.message : String(err);
  const lines = [`vidgraph could not load its native engine on ${process.platform}-${process.arch} (Node ${process.versions.node}).`, `  Reason: ${reason}`];
  if (/lib(av|sw)[a-z]+\.so/.test(reason)) {
    lines.push('  Cause: the FFmpeg shared libraries are missing.',
      '  Fix (Debian/Ubuntu): sudo apt-get install ffmpeg libavformat59 libavcodec59 libavfilter8 libswscale6 (or run scripts/bootstrap)',
      '  Fix (other systems): install FFmpeg >= 5.1 shared libraries with your package manager.');
  } else if (/No native build was found/.test(reason)) {
    lines.push(`  Cause: no prebuilt binary for ${process.platform}-${process.arch} and no local build.`,
      '  Fix: build from source: bash scripts/bootstrap (installs FFmpeg dev packages, cmake, a compiler, then builds),',
      '       or, with those installed, npm run build:native.');
  } else if (/invalid ELF|wrong ELF class|Exec format/.test(reason)) {
    lines.push('  Cause: the binary was built for another platform or architecture.', '  Fix: npm rebuild vidgraph --build-from-source');
  } else {
    lines.push('  Fix: rebuild the engine from source: bash scripts/bootstrap (or npm run build:native).');
  }
  return lines.join('\n');
}
