/**
 * Every error vidgraph throws is a VidgraphError with a stable `code`.
 *
 * @example
 * try { await stream.ingest(); }
 * catch (e) { if (e instanceof vg.VidgraphError && e.code === 'ERR_INVALID_VIDEO') skip(file); else throw e; }
 */
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
  | 'ERR_INTERNAL';

export class VidgraphError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class NotFoundError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_NOT_FOUND', message, options); }
}
export class ExistsError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_EXISTS', message, options); }
}
export class BadArgumentError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_BAD_ARGUMENT', message, options); }
}
export class InvalidVideoError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_INVALID_VIDEO', message, options); }
}
/** A frame that cannot be decoded; `rows` names the damaged rows. */
export class DecodeError extends VidgraphError {
  readonly rows: number[];
  constructor(message: string, rows: number[] = [], options?: { cause?: unknown }) {
    super('ERR_DECODE', message, options);
    this.rows = rows;
  }
}
export class UnsupportedCodecError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_UNSUPPORTED_CODEC', message, options); }
}
export class PluginError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_PLUGIN', message, options); }
}
export class AbortedError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_ABORTED', message, options); }
}
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
export class NativeLoadError extends VidgraphError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_NATIVE_LOAD', message, options); }
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

/** Turns an error thrown by the native engine (an Error with `code`) into a VidgraphError. */
export function fromNative(err: unknown, context?: string): VidgraphError {
  if (err instanceof VidgraphError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? (e.code as ErrorCode) : 'ERR_INTERNAL';
  const message = (context ? `${context}: ` : '') + String(e?.message ?? err);
  if (code === 'ERR_DECODE') return new DecodeError(message, [], { cause: err });
  const Cls = byCode[code];
  return Cls ? new Cls(message, { cause: err }) : new VidgraphError(code, message, { cause: err });
}
