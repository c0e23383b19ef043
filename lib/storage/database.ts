/**
 * The storage backend behind a Client: where committed streams live and how a stream becomes
 * visible. Two implementations: LocalDatabase (a directory on local disk) and S3Database (a
 * bucket and prefix). Writers always write into a LOCAL staging directory (`stage()`); `commit`
 * makes it visible in one step (posix: one rename; S3: one final write of meta.json naming an
 * immutable, attempt-unique set of objects). Readers go through `readStreamFile`,
 * `elementFiles` and `packetData`, which on S3 fetch only what is read.
 */
import type { StreamListing, StreamMeta } from './local-database';

/** A byte range [offset, offset + length) of a stored file. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * A stream's packet file as the native decoder reads it: a local path that holds (at least)
 * the byte ranges asked for with `ensure`, at their offsets.
 */
export interface PacketData {
  /** Local path for the decoder (posix: the real file; S3: a sparse cache file). */
  readonly path: string;
  /** Bytes in the stored packet file. */
  readonly size: number;
  /** Whether `ensure` has anything to do (false on posix: every byte is already there). */
  readonly remote: boolean;
  /**
   * Makes sure these ranges are present in `path` (S3: coalesced ranged GETs of what is
   * missing). Resolves to whether anything had to be fetched.
   */
  ensure(ranges: readonly ByteRange[]): Promise<boolean>;
  /** Makes sure the whole file is present (remux, index upgrade). */
  ensureAll(): Promise<void>;
  /** Releases it (S3: removes the cache file). */
  close(): Promise<void>;
}

/** Local copies of a stream's element files (row table and row data). */
export interface LocalFiles {
  readonly dir: string;
  release(): Promise<void>;
}

/**
 * A staged stream a distributed run's worker gave to the client, which commits it: posix, the
 * staging directory (renamed under the client's pid); S3, the uploaded attempt. Plain JSON.
 */
export interface HandedOver {
  dir?: string;
  attempt?: string;
}

export interface Database {
  /** `'posix'` or `'s3'`. */
  readonly kind: 'posix' | 's3';
  /** Where it is, for messages: a directory, or s3://bucket/prefix. */
  readonly root: string;
  /** A local directory for files that are not streams (profiles). */
  readonly localDir: string;
  open(): Promise<void>;
  openExisting(): Promise<void>;
  /** A fresh private LOCAL directory to write a stream into. */
  stage(): Promise<string>;
  /** Makes a staged stream visible under meta.name (ExistsError when taken, unless overwrite). */
  commit(stagingDir: string, meta: StreamMeta, opts?: { overwrite?: boolean }): Promise<void>;
  /** Abandons a staged stream. */
  discard(stagingDir: string): Promise<void>;
  /**
   * A worker's staged stream, made ready for the client (`owner`) to commit: posix renames the
   * staging directory under the client's pid; S3 uploads an attempt named after the client.
   */
  handOver(stagingDir: string, meta: StreamMeta, owner: { pid: number; host: string }): Promise<HandedOver>;
  /** Commits what a worker handed over (ExistsError when taken, unless overwrite). */
  commitHandedOver(handed: HandedOver, meta: StreamMeta, opts?: { overwrite?: boolean }): Promise<void>;
  /** What a worker handed over, as files in a local directory (a merge reads task parts): posix, the directory itself; S3, a download. */
  fetchHandedOver(handed: HandedOver, meta: StreamMeta): Promise<LocalFiles>;
  /** Abandons what a worker handed over. */
  discardHandedOver(handed: HandedOver, meta: StreamMeta): Promise<void>;
  /** The committed stream's metadata; undefined when there is none; CorruptError when damaged. */
  read(name: string): Promise<StreamMeta | undefined>;
  list(): Promise<StreamListing[]>;
  /** Removes a stream (NotFoundError when there is none). */
  delete(name: string): Promise<void>;
  /** One small file of a committed stream (index.vgix); rejects with an error whose `code` says why (ENOENT: missing). */
  readStreamFile(name: string, meta: StreamMeta, file: string): Promise<Uint8Array>;
  /** Writes over one file of a committed stream where the backend allows it (posix index upgrade); false otherwise. */
  rewriteStreamFile(name: string, meta: StreamMeta, file: string, data: Uint8Array): Promise<boolean>;
  /** The stream's element files in a local directory. */
  elementFiles(name: string, meta: StreamMeta): Promise<LocalFiles>;
  /** The stream's packet file (meta.dataFile), read on demand. */
  packetData(name: string, meta: StreamMeta): Promise<PacketData>;
  /** Releases caches (S3: local cache files). */
  close(): Promise<void>;
}
