/**
 * Every error vidgraph throws is a VidgraphError with a stable `code`.
 *
 * @example
 * try { await stream.ingest(); }
 * catch (e) { if (e instanceof vg.VidgraphError && e.code === 'ERR_INVALID_VIDEO') skip(file); else throw e; }
 */
import type { RunResult } from './run/run';

/** The stable code of a {@link VidgraphError}; the README's error list says what each one means. */
export type ErrorCode =
  | 'ERR_NOT_FOUND'
  | 'ERR_EXISTS'
  | 'ERR_BAD_ARGUMENT'
  | 'ERR_INVALID_VIDEO'
  | 'ERR_DECODE'
  | 'ERR_UNSUPPORTED_CODEC'
  | 'ERR_PLUGIN'
  | 'ERR_ABORTED'
  | 'ERR_NO_GPU'
  | 'ERR_KERNEL'
  | 'ERR_NATIVE_LOAD'
  | 'ERR_CLOSED'
  | 'ERR_CORRUPT'
  | 'ERR_RESOURCE'
  | 'ERR_TIMEOUT'
  | 'ERR_JOBS_FAILED'
  | 'ERR_INTERNAL';

/**
 * The base class of every error vidgraph throws. Its `code` is stable across versions and its
 * message says what was wrong and with which input; the subclasses below narrow it by code.
 *
 * @example
 * try { await new vg.NamedVideoStream(sc, 'clip', { path: 'clip.mp4' }).ingest(); }
 * catch (e) { if (e instanceof vg.VidgraphError && e.code === 'ERR_INVALID_VIDEO') console.warn(e.message); else throw e; }
 */
export class VidgraphError extends Error {
  /** What went wrong, as one of the documented codes (`err.code === 'ERR_NOT_FOUND'`). */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** ERR_NOT_FOUND: a file, stream, directory or op (`sc.ops.NoSuchOp`) that does not exist. */
export class NotFoundError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_NOT_FOUND', message, options); }
}
/** ERR_EXISTS: something by that name exists already (an output stream under `CacheMode.Error`, an op name at `loadOp` or `registerOp`). */
export class ExistsError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_EXISTS', message, options); }
}
/** ERR_BAD_ARGUMENT: an argument of the wrong type or out of range, or an unknown option; the message names the argument, the expected type and what was received. */
export class BadArgumentError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_BAD_ARGUMENT', message, options); }
}
/** ERR_INVALID_VIDEO: not a video, no video stream, an unreadable container, or pictures larger than `limitInputPixels`. */
export class InvalidVideoError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_INVALID_VIDEO', message, options); }
}
/** A frame that cannot be decoded; `rows` names the damaged rows. */
export class DecodeError extends VidgraphError {
  /** The rows (frame indices) that could not be decoded; may be empty when unknown. */
  readonly rows: number[];
  constructor(message: string, rows: number[] = [], options?: { cause?: unknown }) {
    super('ERR_DECODE', message, options);
    this.rows = rows;
  }
}
/** ERR_UNSUPPORTED_CODEC: the video's codec has no decoder in this build of the engine. */
export class UnsupportedCodecError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_UNSUPPORTED_CODEC', message, options); }
}
/** ERR_PLUGIN: a C++ op plugin that cannot be loaded (wrong ABI version, missing symbol, failed registration); the message names the file. */
export class PluginError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_PLUGIN', message, options); }
}
/** ERR_ABORTED: the operation was cancelled through its `AbortSignal`; nothing partial was made visible. */
export class AbortedError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_ABORTED', message, options); }
}
/** ERR_NO_GPU: a GPU was asked for (`device: vg.DeviceType.GPU`) and none can be used. */
export class NoGpuError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_NO_GPU', message, options); }
}
/** A call on an object after its `close()` (a reader, kernel, encoder, client or generator). */
export class ClosedError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_CLOSED', message, options); }
}
/** Stored data (a stream's rows, index or metadata) is damaged; the message names the stream and row. */
export class CorruptError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_CORRUPT', message, options); }
}
/** Threads, memory or another machine resource is exhausted, or a request would exceed a set limit. */
export class ResourceError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_RESOURCE', message, options); }
}
/** A plugin registration or a kernel did not return in time. */
export class TimeoutError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_TIMEOUT', message, options); }
}
/** ERR_NATIVE_LOAD: the native engine (the compiled addon) could not be loaded. */
export class NativeLoadError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_NATIVE_LOAD', message, options); }
}

/** A failed job of a run: its name (the input stream's), and its error's code and message. */
export interface JobFailure {
  /** The job's name: its input stream's name. */
  job: string;
  /** The code of the job's error (an {@link ErrorCode}). */
  code: string;
  /** The job's error message. */
  message: string;
  /** Distributed runs: the worker (host:pid) that reported the error. */
  worker?: string;
}

/**
 * `sc.run(…, { throwOnFailure: true })` when jobs failed: `failures` lists each failed job with
 * its error, and `result` is what the run would have returned (the other jobs committed).
 *
 * @example
 * try { await sc.run(output, vg.PerfParams.estimate(), { throwOnFailure: true }); }
 * catch (e) { if (e instanceof vg.JobsFailedError) for (const f of e.failures) console.error(f.job, f.code); else throw e; }
 */
export class JobsFailedError extends VidgraphError {
  /** Each failed job with its error's code and message. */
  readonly failures: JobFailure[];
  /** What `sc.run` would have returned without `throwOnFailure` (the other jobs are committed). */
  readonly result: RunResult;
  constructor(failures: JobFailure[], jobs: number, result: RunResult) {
    const lines = failures.map((f) => `  job '${f.job}': ${f.message.split('\n')[0]} (${f.code})`);
    super('ERR_JOBS_FAILED', `run: ${failures.length} of ${jobs} job(s) failed:\n${lines.join('\n')}`);
    this.failures = failures;
    this.result = result;
  }
}

const byCode: Partial<Record<ErrorCode, new (message: string, options?: { cause?: unknown }) => VidgraphError>> = {
  ERR_NOT_FOUND: NotFoundError,
  ERR_EXISTS: ExistsError,
  ERR_BAD_ARGUMENT: BadArgumentError,
  ERR_INVALID_VIDEO: InvalidVideoError,
  ERR_UNSUPPORTED_CODEC: UnsupportedCodecError,
  ERR_PLUGIN: PluginError,
  ERR_ABORTED: AbortedError,
  ERR_NO_GPU: NoGpuError,
  ERR_CLOSED: ClosedError,
  ERR_CORRUPT: CorruptError,
  ERR_RESOURCE: ResourceError,
  ERR_TIMEOUT: TimeoutError,
};

/** Every code a VidgraphError can carry (each is documented in the README's error list). */
export const ERROR_CODES: readonly ErrorCode[] = [
  'ERR_NOT_FOUND', 'ERR_EXISTS', 'ERR_BAD_ARGUMENT', 'ERR_INVALID_VIDEO', 'ERR_DECODE', 'ERR_UNSUPPORTED_CODEC',
  'ERR_PLUGIN', 'ERR_ABORTED', 'ERR_NO_GPU', 'ERR_KERNEL', 'ERR_NATIVE_LOAD', 'ERR_CLOSED', 'ERR_CORRUPT',
  'ERR_RESOURCE', 'ERR_TIMEOUT', 'ERR_JOBS_FAILED', 'ERR_INTERNAL',
];

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * What the operating system's error numbers (and Node's own error codes) mean in vidgraph's
 * terms. A path the caller gave that cannot be used (too long, a symlink loop, a file where a
 * directory is needed, no permission) is ERR_BAD_ARGUMENT; exhausted memory, disk, file
 * descriptors or threads are ERR_RESOURCE.
 */
const FOREIGN_CODES: Record<string, ErrorCode> = {
  ENOENT: 'ERR_NOT_FOUND',
  EEXIST: 'ERR_EXISTS',
  ENOTEMPTY: 'ERR_EXISTS',
  ENOTDIR: 'ERR_BAD_ARGUMENT',
  EISDIR: 'ERR_BAD_ARGUMENT',
  ENAMETOOLONG: 'ERR_BAD_ARGUMENT',
  ELOOP: 'ERR_BAD_ARGUMENT',
  EACCES: 'ERR_BAD_ARGUMENT',
  EPERM: 'ERR_BAD_ARGUMENT',
  EROFS: 'ERR_BAD_ARGUMENT',
  EINVAL: 'ERR_BAD_ARGUMENT',
  ENXIO: 'ERR_BAD_ARGUMENT',
  ENODEV: 'ERR_BAD_ARGUMENT',
  EXDEV: 'ERR_BAD_ARGUMENT',
  EILSEQ: 'ERR_BAD_ARGUMENT',
  ENOMEM: 'ERR_RESOURCE',
  ENOSPC: 'ERR_RESOURCE',
  EDQUOT: 'ERR_RESOURCE',
  EMFILE: 'ERR_RESOURCE',
  ENFILE: 'ERR_RESOURCE',
  EAGAIN: 'ERR_RESOURCE',
  EFBIG: 'ERR_RESOURCE',
  ENOBUFS: 'ERR_RESOURCE',
  EIO: 'ERR_CORRUPT',
  ERR_OUT_OF_MEMORY: 'ERR_RESOURCE',
  ERR_MEMORY_ALLOCATION_FAILED: 'ERR_RESOURCE',
  ERR_WORKER_OUT_OF_MEMORY: 'ERR_RESOURCE',
  ERR_BUFFER_TOO_LARGE: 'ERR_RESOURCE',
  ERR_STRING_TOO_LONG: 'ERR_RESOURCE',
  ERR_FS_FILE_TOO_LARGE: 'ERR_RESOURCE',
};

/** V8's allocation failures carry no code, only these messages. */
const OUT_OF_MEMORY_MESSAGES = /allocation failed|out of memory|invalid (typed )?array length|array buffer allocation/i;

/**
 * Any error as a VidgraphError with a documented code: ours pass through; a system or Node
 * error (ENOENT, ELOOP, ENOSPC, ERR_OUT_OF_MEMORY, V8's "allocation failed", ...) gets the code
 * that says what went wrong, its own code kept in the message; anything else is ERR_INTERNAL.
 * `context` (what was being done, with which input) prefixes the message.
 */
export function toVidgraphError(err: unknown, context?: string): VidgraphError {
  if (err instanceof VidgraphError && isErrorCode(err.code)) return err;
  const e = err as { code?: unknown; message?: unknown; syscall?: unknown } | null | undefined;
  const raw = typeof e?.code === 'string' ? e.code : undefined;
  const text = String(e?.message ?? err);
  let code: ErrorCode;
  if (isErrorCode(raw)) code = raw;
  else if (raw !== undefined && FOREIGN_CODES[raw]) code = FOREIGN_CODES[raw]!;
  else if (err instanceof RangeError && OUT_OF_MEMORY_MESSAGES.test(text)) code = 'ERR_RESOURCE';
  else code = 'ERR_INTERNAL';
  // The system's own code stays visible (Node's fs messages start with it already).
  const detail = raw !== undefined && !isErrorCode(raw) && !text.includes(raw) ? `${text} (${raw})` : text;
  const message = (context ? `${context}: ` : '') + detail;
  if (code === 'ERR_DECODE') return new DecodeError(message, (err as { rows?: number[] })?.rows ?? [], { cause: err });
  const Cls = byCode[code];
  return Cls ? new Cls(message, { cause: err }) : new VidgraphError(code, message, { cause: err });
}

/** Turns an error thrown by the native engine (an Error with `code`) into a VidgraphError. */
export function fromNative(err: unknown, context?: string): VidgraphError {
  if (err instanceof VidgraphError && isErrorCode(err.code)) return err;
  return toVidgraphError(err, context);
}
