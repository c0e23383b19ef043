/**
 * The embedded local database: a directory on local disk.
 *
 *   <db>/streams/<encoded name>/   committed streams (meta.json, index.vgix, packets.bin)
 *   <db>/staging/<pid>-<random>/   streams being written; invisible until committed
 *   <db>/trash/<random>/           streams being deleted
 *
 * A stream becomes visible by one rename(2) of its staging directory into streams/: the
 * rename is atomic and fails when the name is taken, so two processes writing the same
 * name cannot both win, and a process killed mid-write leaves only a staging directory,
 * which the next open of the database removes (its owner pid is gone). Nothing a reader
 * can see is ever half-written.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BadArgumentError, CorruptError, ExistsError, NotFoundError, toVidgraphError, VidgraphError } from '../errors';
import type { Database, HandedOver, LocalFiles, PacketData } from './database';
import { ensureDirectory, writeFileAtomic } from './paths';

export interface StreamMeta {
  formatVersion: 1;
  name: string;
  kind: 'video' | 'stream';
  rows: number;
  createdAt: string;
  /**
   * How rows are stored: 'packets' (a packet index and packets: ingested or encoded video) or
   * 'elements' (row table and row bytes: raw frames, serialized values).
   */
  storage?: 'packets' | 'elements';
  /** Column type for element storage: 'Frame' or a registered type name. */
  type?: string;
  /** Packet storage: 'packets.bin' inside the stream directory, or an absolute path (in-place). */
  dataFile?: string;
  source?: { path: string; size: number; mtimeMs: number };
  video?: Record<string, unknown>;
  warnings?: string[];
  /** S3 backend: the attempt whose objects hold the stream's files (`<stream>/<attempt>/<file>`). */
  attempt?: string;
}

/** One stream as `sc.listStreams()` lists it. */
export interface StreamListing {
  /** The stream's name. */
  name: string;
  /** `'video'` for ingested videos, `'stream'` for everything else. */
  kind: 'video' | 'stream';
  /** Rows in the stream. */
  rows: number;
  /** Whether it is committed (listed streams are). */
  committed: boolean;
  /** Its size on disk. */
  bytes: number;
  /**
   * Set when the stream's stored metadata is damaged (ERR_CORRUPT on every read): why. Its
   * `kind` and `rows` are then unknown ('stream', 0); `vg.NamedStream(sc, name).delete()` removes it.
   */
  damaged?: string;
}

const META = 'meta.json';

export class LocalDatabase implements Database {
  readonly kind = 'posix' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get localDir(): string {
    return this.root;
  }

  async readStreamFile(name: string, _meta: StreamMeta, file: string): Promise<Uint8Array> {
    return fsp.readFile(path.join(this.streamDir(name), file));
  }

  async rewriteStreamFile(name: string, _meta: StreamMeta, file: string, data: Uint8Array): Promise<boolean> {
    await writeFileAtomic(path.join(this.streamDir(name), file), data);
    return true;
  }

  async elementFiles(name: string): Promise<LocalFiles> {
    return { dir: this.streamDir(name), release: async () => undefined };
  }

  async packetData(name: string, meta: StreamMeta): Promise<PacketData> {
    const file = meta.dataFile ?? '';
    if (file.startsWith('s3://')) {
      // Ingested in place from a video in a bucket.
      const s3 = await import('./s3-database');
      return s3.inPlacePacketData(s3.sourceClient(this), name, meta, this.s3CacheDir);
    }
    const p = path.isAbsolute(file) ? file : path.join(this.streamDir(name), file);
    const size = (await fsp.stat(p).catch(() => undefined))?.size ?? -1;
    return { path: p, size, remote: false, ensure: async () => false, ensureAll: async () => undefined, close: async () => undefined };
  }

  /** Cache files of streams ingested in place from a bucket (removed as their readers close). */
  private readonly s3CacheDir = path.join(os.tmpdir(), 'vidgraph-s3-cache', `${process.pid}-${randomBytes(6).toString('hex')}`);

  async close(): Promise<void> {
    await fsp.rm(this.s3CacheDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Creates the layout and removes what crashed writers left behind. */
  async open(): Promise<void> {
    await ensureDirectory('Client', 'the database directory (db)', this.root);
    for (const dir of ['streams', 'staging', 'trash']) await ensureDirectory('Client', 'the database directory (db)', path.join(this.root, dir));
    await this.collectGarbage();
  }

  /**
   * For read-only use (`vidgraph ls`, `info`): checks that a database exists here, creating and
   * removing nothing. ERR_NOT_FOUND when there is none (a mistyped --db is not created).
   */
  async openExisting(): Promise<void> {
    const streams = path.join(this.root, 'streams');
    const st = await fsp.stat(streams).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw toVidgraphError(err, `cannot open the database '${this.root}'`);
    });
    if (!st?.isDirectory()) throw new NotFoundError(`there is no vidgraph database at '${this.root}' (nothing was ever stored there)`);
  }

  streamDir(name: string): string {
    checkStreamName('database', name);
    return path.join(this.root, 'streams', encodeName(name));
  }

  /** A fresh private directory to write a stream into. */
  async stage(): Promise<string> {
    const dir = path.join(this.root, 'staging', `${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(path.join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() }));
    } catch (err) {
      throw toVidgraphError(err, `cannot write to the database '${this.root}'`);
    }
    return dir;
  }

  async handOver(stagingDir: string, _meta: StreamMeta, owner: { pid: number; host: string }): Promise<HandedOver> {
    return { dir: await this.adopt(stagingDir, owner) };
  }

  async commitHandedOver(handed: HandedOver, meta: StreamMeta, opts: { overwrite?: boolean } = {}): Promise<void> {
    if (!handed.dir) throw new CorruptError(`stream '${meta.name}': a worker handed over no staging directory (client and worker use different databases?)`);
    await this.commit(this.ownStagingDir(handed.dir, meta.name), meta, opts);
  }

  async fetchHandedOver(handed: HandedOver, meta: StreamMeta): Promise<LocalFiles> {
    if (!handed.dir) throw new CorruptError(`stream '${meta.name}': a worker handed over no staging directory (client and worker use different databases?)`);
    return { dir: this.ownStagingDir(handed.dir, meta.name), release: async () => undefined };
  }

  async discardHandedOver(handed: HandedOver): Promise<void> {
    if (handed.dir) await this.discard(this.ownStagingDir(handed.dir, 'a handed-over stream'));
  }

  /** A staging directory a worker named: it must be inside this database's staging/. */
  private ownStagingDir(dir: string, what: string): string {
    const staging = path.join(this.root, 'staging');
    const resolved = path.resolve(dir);
    if (path.dirname(resolved) !== staging) throw new CorruptError(`${what}: the staging directory '${dir}' a worker handed over is not in ${staging} (client and worker use different databases?)`);
    return resolved;
  }

  /**
   * Gives a staged directory to another process (a distributed run's client, which commits what
   * a worker staged): renamed under that process's pid, with its host, so that the database's
   * garbage collection keeps it while that process lives and removes it once it is gone.
   */
  async adopt(stagingDir: string, owner: { pid: number; host: string }): Promise<string> {
    const dir = path.join(this.root, 'staging', `${owner.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await fsp.writeFile(path.join(stagingDir, 'owner.json'), JSON.stringify({ pid: owner.pid, host: owner.host, started: new Date().toISOString() }));
      await fsp.rename(stagingDir, dir);
    } catch (err) {
      throw toVidgraphError(err, `cannot hand a staged stream over in the database '${this.root}'`);
    }
    return dir;
  }

  /**
   * Makes a staged stream visible under `name`. Throws ExistsError when the name is taken
   * (unless `overwrite`: the old stream is removed first, so readers see the old one,
   * then briefly none, then the new one, never a mix).
   */
  async commit(stagingDir: string, meta: StreamMeta, opts: { overwrite?: boolean } = {}): Promise<void> {
    try {
      await writeFileDurable(path.join(stagingDir, META), JSON.stringify(meta, null, 2));
      await fsp.rm(path.join(stagingDir, 'owner.json'), { force: true });
      await syncDir(stagingDir);
    } catch (err) {
      throw toVidgraphError(err, `stream '${meta.name}': cannot write it to the database '${this.root}'`);
    }
    const target = this.streamDir(meta.name);
    if (opts.overwrite) await this.delete(meta.name).catch((e: unknown) => { if (!(e instanceof NotFoundError)) throw e; });
    try {
      await fsp.rename(stagingDir, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new ExistsError(`stream '${meta.name}' already exists in ${this.root}`, { cause: err });
      }
      throw toVidgraphError(err, `stream '${meta.name}': cannot commit it to the database '${this.root}'`);
    }
    await syncDir(path.dirname(target));
  }

  /** Abandons a staged stream. */
  async discard(stagingDir: string): Promise<void> {
    await fsp.rm(stagingDir, { recursive: true, force: true });
  }

  /** The committed stream's metadata; undefined when there is none; CorruptError when it is damaged. */
  async read(name: string): Promise<StreamMeta | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.streamDir(name), META), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CorruptError(`stream '${name}': cannot read its metadata ${META} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    }
    return parseMeta(name, text);
  }

  /**
   * Every committed stream, sorted by name. A stream whose metadata is damaged is listed with
   * `damaged` saying why (never left out silently); a directory that vanished meanwhile (a
   * concurrent delete) is not a stream.
   */
  async list(): Promise<StreamListing[]> {
    const entries = await fsp.readdir(path.join(this.root, 'streams')).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw toVidgraphError(err, `cannot list the database '${this.root}'`);
    });
    const out: StreamListing[] = [];
    for (const entry of entries.sort()) {
      const dir = path.join(this.root, 'streams', entry);
      let name: string;
      try {
        name = decodeName(entry);
      } catch {
        name = entry; // not a name vidgraph wrote: shown as it is on disk
      }
      let text: string;
      try {
        text = await fsp.readFile(path.join(dir, META), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await fsp.stat(dir).catch(() => undefined))) continue; // deleted meanwhile
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `it has no metadata ${META}` : `cannot read its metadata ${META} (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
        out.push({ name, kind: 'stream', rows: 0, committed: true, bytes: await dirBytes(dir).catch(() => 0), damaged: `stream '${name}': ${why}` });
        continue;
      }
      try {
        const meta = parseMeta(name, text);
        out.push({ name: meta.name, kind: meta.kind, rows: meta.rows, committed: true, bytes: await dirBytes(dir).catch(() => 0) });
      } catch (err) {
        if (!(err instanceof VidgraphError)) throw err;
        out.push({ name, kind: 'stream', rows: 0, committed: true, bytes: await dirBytes(dir).catch(() => 0), damaged: err.message });
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Removes a stream: it disappears for readers in one rename, then its files go. */
  async delete(name: string): Promise<void> {
    const trash = path.join(this.root, 'trash', randomBytes(8).toString('hex'));
    try {
      await fsp.rename(this.streamDir(name), trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`stream '${name}' does not exist in ${this.root}`);
      throw toVidgraphError(err, `stream '${name}': cannot delete it from the database '${this.root}'`);
    }
    await fsp.rm(trash, { recursive: true, force: true });
  }

  private async collectGarbage(): Promise<void> {
    const staging = path.join(this.root, 'staging');
    for (const entry of await fsp.readdir(staging).catch(() => [] as string[])) {
      const pid = Number.parseInt(entry.split('-')[0] ?? '', 10);
      let host = os.hostname();
      try {
        host = (JSON.parse(await fsp.readFile(path.join(staging, entry, 'owner.json'), 'utf8')) as { host: string }).host;
      } catch { /* committed-in-progress or unreadable: judge by pid */ }
      if (host === os.hostname() && !processAlive(pid)) await fsp.rm(path.join(staging, entry), { recursive: true, force: true });
    }
    const trash = path.join(this.root, 'trash');
    for (const entry of await fsp.readdir(trash).catch(() => [] as string[])) {
      await fsp.rm(path.join(trash, entry), { recursive: true, force: true });
    }
  }
}

/**
 * Checks what a reader relies on in meta.json: damage (a truncated or edited file) is a
 * CorruptError naming the stream, never a SyntaxError or a TypeError later on.
 */
export function parseMeta(name: string, text: string): StreamMeta {
  const corrupt = (what: string, cause?: unknown) => new CorruptError(`stream '${name}': its metadata ${META} ${what}`, { cause });
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw corrupt('is not valid JSON (truncated or damaged)', err);
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw corrupt('is not a JSON object');
  const meta = m as Record<string, unknown>;
  const bad = (field: string) => corrupt(`has an invalid ${field}: ${JSON.stringify(meta[field])?.slice(0, 80) ?? 'undefined'}`);
  if (meta.formatVersion !== 1) throw bad('formatVersion');
  if (meta.name !== name) throw bad('name');
  if (meta.kind !== 'video' && meta.kind !== 'stream') throw bad('kind');
  // Rows are int32 row numbers everywhere (the engine's index, Int32Array requests).
  if (typeof meta.rows !== 'number' || !Number.isSafeInteger(meta.rows) || meta.rows < 0 || meta.rows > 2 ** 31 - 1) throw bad('rows');
  if (meta.storage !== undefined && meta.storage !== 'packets' && meta.storage !== 'elements') throw bad('storage');
  if (meta.type !== undefined && (typeof meta.type !== 'string' || meta.type.length === 0)) throw bad('type');
  if (meta.storage === 'elements' && meta.type === undefined) throw bad('type');
  if (meta.storage !== 'elements' && (typeof meta.dataFile !== 'string' || meta.dataFile.length === 0)) throw bad('dataFile');
  if (meta.dataFile !== undefined && typeof meta.dataFile !== 'string') throw bad('dataFile');
  if (typeof meta.dataFile === 'string' && !path.isAbsolute(meta.dataFile) && !/^s3:\/\/[^/]+\/./.test(meta.dataFile) && meta.dataFile !== path.basename(meta.dataFile)) throw bad('dataFile');
  const src = meta.source as Record<string, unknown> | undefined;
  if (src !== undefined && (typeof src !== 'object' || src === null || typeof src.path !== 'string' || typeof src.size !== 'number' || typeof src.mtimeMs !== 'number')) throw bad('source');
  if (meta.video !== undefined && (typeof meta.video !== 'object' || meta.video === null || Array.isArray(meta.video))) throw bad('video');
  if (meta.warnings !== undefined && !(Array.isArray(meta.warnings) && meta.warnings.every((w) => typeof w === 'string'))) throw bad('warnings');
  if (meta.attempt !== undefined && (typeof meta.attempt !== 'string' || !/^[A-Za-z0-9._-]{1,200}$/.test(meta.attempt))) throw bad('attempt');
  return meta as unknown as StreamMeta;
}

/** Stream names become directory names that are safe, readable and reversible. */
export function encodeName(name: string): string {
  return encodeURIComponent(name).replace(/\./g, '%2E').replace(/\*/g, '%2A');
}

export function decodeName(entry: string): string {
  return decodeURIComponent(entry);
}

/** Longest directory name (NAME_MAX on Linux and macOS): the limit of an encoded stream name. */
export const MAX_ENCODED_NAME = 255;

/**
 * Checks that a stream name can be stored: well-formed Unicode (a lone surrogate has no UTF-8
 * form) and, encoded as its directory name, within the filesystem's limit on a name.
 */
export function checkStreamName(where: string, name: string): void {
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.exec(name);
  if (lone) {
    throw new BadArgumentError(`${where}: expected a stream name of well-formed Unicode text, got one with a lone surrogate (U+${lone[0].charCodeAt(0).toString(16).toUpperCase()}) at index ${lone.index}`);
  }
  const encoded = encodeName(name).length;
  if (encoded > MAX_ENCODED_NAME) {
    throw new BadArgumentError(`${where}: the stream name '${name.slice(0, 40)}${name.length > 40 ? '...' : ''}' is too long: stored as a directory name it takes ${encoded} bytes, more than the ${MAX_ENCODED_NAME} a filesystem allows (characters other than ASCII letters, digits and - _ ! ~ ' ( ) are stored as %XX per UTF-8 byte)`);
  }
}

/** Whether a process with this pid runs on this machine (owned by anyone). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function writeFileDurable(file: string, text: string): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, fs.constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) total += (await fsp.stat(path.join(dir, entry.name))).size;
  }
  return total;
}
