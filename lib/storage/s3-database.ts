/**
 * The S3 database: streams as objects under s3://<bucket>/<prefix>/.
 *
 *   <prefix>/streams/<encoded name>/meta.json             the visibility point: names the attempt
 *   <prefix>/streams/<encoded name>/<attempt>/<file>      the stream's files (index.vgix, packets.bin,
 *                                                         element files), immutable
 *
 * Writers write into a local staging directory, as on posix. `commit` uploads every staged
 * file under a fresh attempt id (time, pid, random, host: unique per attempt), and only then
 * writes meta.json naming that attempt: a writer killed before that write leaves objects no
 * meta.json names, which no reader sees and which the next `open` (or `delete`) removes once
 * their writer's process is gone (same host) or a day has passed (other hosts). Overwriting
 * replaces meta.json, then deletes the old attempt's objects. No conditional writes are used
 * (not every S3-compatible store honours If-None-Match): two writers of one new name race,
 * and the commit that reads back someone else's attempt reports ERR_EXISTS.
 *
 * Packet files are read with ranged GETs into a sparse local cache file, only the ranges a
 * decode needs (planned from the index: see packet-ranges.ts).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { _Object, S3Client } from '@aws-sdk/client-s3';
import { BadArgumentError, CorruptError, ExistsError, InvalidVideoError, NotFoundError, VidgraphError } from '../errors';
import type { ByteRange, Database, HandedOver, LocalFiles, PacketData } from './database';
import { checkStreamName, decodeName, encodeName, parseMeta, processAlive, StreamListing, StreamMeta } from './local-database';
import { coalesce } from './packet-ranges';

const META = 'meta.json';

let sdkModule: typeof S3Sdk | undefined;
/** The AWS SDK, loaded on first use of S3 (never by a program that only uses local disk). */
function sdk(): typeof S3Sdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sdkModule ??= require('@aws-sdk/client-s3') as typeof S3Sdk;
  return sdkModule;
}
/**
 * Files larger than this go up in parts of this size (multipart upload): 64 MiB, or
 * VIDGRAPH_S3_PART_BYTES (S3 itself wants parts of at least 5 MiB but the last; the tests, on
 * s3rver, go lower).
 */
function multipartPartBytes(): number {
  const v = Number(process.env.VIDGRAPH_S3_PART_BYTES);
  return Number.isInteger(v) && v >= 1024 ? v : 64 * 2 ** 20;
}

/** Attempts of writers on other hosts are collected after this long (their liveness is unknown here). */
const FOREIGN_ATTEMPT_TTL_MS = 24 * 3600 * 1000;

/** Where an S3 database is and how to reach it. */
export interface S3Location {
  bucket: string;
  prefix?: string;
  region?: string;
  endpoint?: string;
}

/** 's3://bucket/prefix' → bucket and prefix; ERR_BAD_ARGUMENT when it is not one. */
export function parseS3Url(where: string, url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new BadArgumentError(`${where}: expected s3://bucket/prefix, got '${url}'`);
  checkBucket(where, m[1]!);
  return { bucket: m[1]!, prefix: m[2]!.replace(/\/+$/, '') };
}

export function checkBucket(where: string, bucket: unknown): string {
  if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new BadArgumentError(`${where}: expected an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens), got ${JSON.stringify(bucket)}`);
  }
  return bucket;
}

/** One S3 error as a VidgraphError naming the bucket and key; never the credentials. */
function s3Error(err: unknown, what: string): VidgraphError {
  if (err instanceof VidgraphError) return err;
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const name = e?.name ?? e?.Code ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  const detail = `${name}${status ? ` ${status}` : ''}: ${e?.message ?? String(err)}`;
  if (name === 'NoSuchBucket' || name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new NotFoundError(`${what}: ${detail}`, { cause: err });
  if (/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Credentials|ExpiredToken|Forbidden/i.test(name) || status === 403) {
    return new BadArgumentError(`${what}: access refused (${detail}); check the AWS credentials and the bucket policy`, { cause: err });
  }
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|TimeoutError|NetworkingError/.test(`${name} ${e?.message ?? ''}`)) {
    return new VidgraphError('ERR_RESOURCE', `${what}: cannot reach S3 (${detail})`, { cause: err });
  }
  return new VidgraphError('ERR_INTERNAL', `${what}: ${detail}`, { cause: err });
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

async function bodyBytes(body: unknown): Promise<Uint8Array> {
  const b = body as { transformToByteArray?: () => Promise<Uint8Array> } | undefined;
  if (!b?.transformToByteArray) throw new Error('empty response body');
  return b.transformToByteArray();
}

interface Attempt {
  host: string;
  pid: number;
  time: number;
}

function hostTag(host = os.hostname()): string {
  return host.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 60) || 'host';
}

function parseAttempt(id: string): Attempt | undefined {
  const [time, pid, , host] = id.split('.');
  const t = Number.parseInt(time ?? '', 36);
  const p = Number.parseInt(pid ?? '', 10);
  if (!Number.isFinite(t) || !Number.isFinite(p) || !host) return undefined;
  return { host, pid: p, time: t };
}

export class S3Database implements Database {
  readonly kind = 's3' as const;
  readonly root: string;
  readonly bucket: string;
  readonly prefix: string;
  /** @internal The SDK client (tests count its requests with middleware). */
  readonly s3: S3Client;
  private readonly cacheDir = path.join(os.tmpdir(), 'vidgraph-s3-cache', `${process.pid}-${randomBytes(6).toString('hex')}`);
  private readonly stagingRoot = path.join(os.tmpdir(), 'vidgraph-s3-staging');
  private readonly openFiles = new Set<PacketData>();

  constructor(loc: S3Location) {
    this.bucket = checkBucket('Client', loc.bucket);
    this.prefix = (loc.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.root = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    const endpoint = loc.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    this.s3 = new (sdk().S3Client)({
      region: loc.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(loc.endpoint !== undefined && { endpoint: loc.endpoint }),
      // Custom endpoints (MinIO, s3rver, ...) address buckets by path.
      forcePathStyle: endpoint !== undefined,
      // Streamed uploads are checksummed only where S3 requires it (some compatible stores
      // store aws-chunked bodies with their trailers).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  get localDir(): string {
    return path.join(os.tmpdir(), 'vidgraph-s3-local', this.bucket, this.prefix);
  }

  private streamsPrefix(): string {
    return `${this.prefix ? `${this.prefix}/` : ''}streams/`;
  }

  private streamPrefix(name: string): string {
    checkStreamName('database', name);
    return `${this.streamsPrefix()}${encodeName(name)}/`;
  }

  private metaKey(name: string): string {
    return `${this.streamPrefix(name)}${META}`;
  }

  private fileKey(name: string, meta: StreamMeta, file: string): string {
    if (!meta.attempt) throw new CorruptError(`stream '${name}': its metadata ${META} in ${this.root} names no attempt`);
    return `${this.streamPrefix(name)}${meta.attempt}/${file}`;
  }

  private where(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async open(): Promise<void> {
    await this.openExisting();
    await this.collectGarbage();
  }

  /** Checks that the bucket exists and can be reached; creates nothing. */
  async openExisting(): Promise<void> {
    try {
      await this.s3.send(new (sdk().HeadBucketCommand)({ Bucket: this.bucket }));
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`there is no vidgraph database at '${this.root}': the bucket '${this.bucket}' does not exist`, { cause: err });
      throw s3Error(err, `cannot open the database '${this.root}'`);
    }
  }

  async stage(): Promise<string> {
    const dir = path.join(this.stagingRoot, `${process.pid}-${randomBytes(6).toString('hex')}`);
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(path.join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() }));
    return dir;
  }

  async discard(stagingDir: string): Promise<void> {
    await fsp.rm(stagingDir, { recursive: true, force: true });
  }

  /** A fresh attempt id: base-36 time, pid, random, host (of its owner: this process unless handed over). */
  private newAttempt(owner?: { pid: number; host: string }): string {
    return `${Date.now().toString(36)}.${owner?.pid ?? process.pid}.${randomBytes(6).toString('hex')}.${owner ? hostTag(owner.host) : hostTag()}`;
  }

  /**
   * Phase 1 of a commit: uploads every staged file under a fresh attempt. Nothing is visible
   * yet. Returns the attempt id.
   */
  async uploadAttempt(stagingDir: string, name: string, owner?: { pid: number; host: string }): Promise<string> {
    const attempt = this.newAttempt(owner);
    const base = `${this.streamPrefix(name)}${attempt}/`;
    const uploaded: string[] = [];
    try {
      for (const file of (await fsp.readdir(stagingDir)).sort()) {
        if (file === 'owner.json' || file === META) continue;
        const full = path.join(stagingDir, file);
        const st = await fsp.stat(full);
        if (!st.isFile()) continue;
        const key = base + file;
        try {
          await this.uploadFile(key, full, st.size);
        } catch (err) {
          throw s3Error(err, `stream '${name}': cannot upload ${this.where(key)}`);
        }
        uploaded.push(key);
      }
    } catch (err) {
      await this.deleteKeys(uploaded).catch(() => undefined);
      throw err;
    }
    return attempt;
  }

  /**
   * One file to one object: a single PUT up to the part size, else a multipart upload (S3 takes
   * at most 5 GiB in one PUT) of parts read straight from the file; a failed multipart upload is
   * aborted, so that no parts linger in the bucket.
   */
  private async uploadFile(key: string, file: string, size: number): Promise<void> {
    const part = multipartPartBytes();
    if (size <= part) {
      await this.s3.send(new (sdk().PutObjectCommand)({ Bucket: this.bucket, Key: key, Body: createReadStream(file), ContentLength: size }));
      return;
    }
    const { UploadId } = await this.s3.send(new (sdk().CreateMultipartUploadCommand)({ Bucket: this.bucket, Key: key }));
    try {
      const parts: { ETag?: string; PartNumber: number }[] = [];
      for (let start = 0, n = 1; start < size; start += part, n++) {
        const end = Math.min(start + part, size);
        const { ETag } = await this.s3.send(new (sdk().UploadPartCommand)({
          Bucket: this.bucket, Key: key, UploadId, PartNumber: n, Body: createReadStream(file, { start, end: end - 1 }), ContentLength: end - start,
        }));
        parts.push({ ETag, PartNumber: n });
      }
      await this.s3.send(new (sdk().CompleteMultipartUploadCommand)({ Bucket: this.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.s3.send(new (sdk().AbortMultipartUploadCommand)({ Bucket: this.bucket, Key: key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Phase 2: writes meta.json naming `attempt`, the one step that makes the stream visible;
   * then removes the attempt it replaced.
   */
  async publish(meta: StreamMeta, attempt: string, opts: { overwrite?: boolean } = {}): Promise<void> {
    const name = meta.name;
    let previous: StreamMeta | undefined;
    let taken = false;
    try {
      previous = await this.read(name);
      taken = previous !== undefined;
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
      taken = true; // a damaged stream holds the name
    }
    if (taken && !opts.overwrite) {
      await this.deleteAttempt(name, attempt).catch(() => undefined);
      throw new ExistsError(`stream '${name}' already exists in ${this.root}`);
    }
    const key = this.metaKey(name);
    try {
      await this.s3.send(new (sdk().PutObjectCommand)({ Bucket: this.bucket, Key: key, Body: JSON.stringify({ ...meta, attempt }, null, 2), ContentType: 'application/json' }));
    } catch (err) {
      await this.deleteAttempt(name, attempt).catch(() => undefined);
      throw s3Error(err, `stream '${name}': cannot write ${this.where(key)}`);
    }
    if (!opts.overwrite) {
      // Without conditional writes, two writers of a new name can both get here: the one whose
      // attempt is not the one read back lost.
      const now = await this.read(name).catch(() => undefined);
      if (now?.attempt !== attempt) {
        await this.deleteAttempt(name, attempt).catch(() => undefined);
        throw new ExistsError(`stream '${name}' already exists in ${this.root} (another writer committed it meanwhile)`);
      }
    }
    if (previous?.attempt && previous.attempt !== attempt) await this.deleteAttempt(name, previous.attempt).catch(() => undefined);
  }

  /**
   * A distributed run's worker: uploads the staged stream as an attempt owned by the client
   * (its pid and host name the attempt, so cleanup keeps it while the client lives).
   */
  async handOver(stagingDir: string, meta: StreamMeta, owner: { pid: number; host: string }): Promise<HandedOver> {
    const attempt = await this.uploadAttempt(stagingDir, meta.name, owner);
    await this.discard(stagingDir);
    return { attempt };
  }

  async commitHandedOver(handed: HandedOver, meta: StreamMeta, opts: { overwrite?: boolean } = {}): Promise<void> {
    if (!handed.attempt) throw new CorruptError(`stream '${meta.name}': a worker handed over no S3 attempt (client and worker use different databases?)`);
    await this.publish(meta, handed.attempt, opts);
  }

  async fetchHandedOver(handed: HandedOver, meta: StreamMeta): Promise<LocalFiles> {
    if (!handed.attempt) throw new CorruptError(`stream '${meta.name}': a worker handed over no S3 attempt (client and worker use different databases?)`);
    return this.elementFiles(meta.name, { ...meta, attempt: handed.attempt });
  }

  async discardHandedOver(handed: HandedOver, meta: StreamMeta): Promise<void> {
    if (handed.attempt) await this.deleteAttempt(meta.name, handed.attempt);
  }

  async commit(stagingDir: string, meta: StreamMeta, opts: { overwrite?: boolean } = {}): Promise<void> {
    if (!opts.overwrite) {
      const existing = await this.read(meta.name).catch((err: unknown) => {
        if (err instanceof CorruptError) return meta; // damaged: the name is taken
        throw err;
      });
      if (existing) throw new ExistsError(`stream '${meta.name}' already exists in ${this.root}`);
    }
    const attempt = await this.uploadAttempt(stagingDir, meta.name);
    await this.publish(meta, attempt, opts);
    await fsp.rm(stagingDir, { recursive: true, force: true });
  }

  async read(name: string): Promise<StreamMeta | undefined> {
    const key = this.metaKey(name);
    let text: string;
    try {
      const out = await this.s3.send(new (sdk().GetObjectCommand)({ Bucket: this.bucket, Key: key }));
      text = Buffer.from(await bodyBytes(out.Body)).toString('utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw s3Error(err, `stream '${name}': cannot read its metadata ${this.where(key)}`);
    }
    const meta = parseMeta(name, text);
    if (!meta.attempt) throw new CorruptError(`stream '${name}': its metadata ${this.where(key)} names no attempt`);
    return meta;
  }

  /** Every object under `prefix`. */
  private async listAll(prefix: string): Promise<_Object[]> {
    const out: _Object[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.s3.send(new (sdk().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (err) {
        throw s3Error(err, `cannot list ${this.where(prefix)}`);
      }
      out.push(...(page.Contents ?? []));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** Objects by encoded stream name: whether it has meta.json, and its objects by attempt. */
  private async groups(prefix = this.streamsPrefix()): Promise<Map<string, { meta: boolean; metaBytes: number; attempts: Map<string, _Object[]> }>> {
    const base = this.streamsPrefix();
    const groups = new Map<string, { meta: boolean; metaBytes: number; attempts: Map<string, _Object[]> }>();
    for (const o of await this.listAll(prefix)) {
      const rest = (o.Key ?? '').slice(base.length).split('/');
      if (rest.length < 2) continue;
      const g = groups.get(rest[0]!) ?? { meta: false, metaBytes: 0, attempts: new Map<string, _Object[]>() };
      groups.set(rest[0]!, g);
      if (rest.length === 2 && rest[1] === META) {
        g.meta = true;
        g.metaBytes = o.Size ?? 0;
      } else if (rest.length >= 3) {
        const list = g.attempts.get(rest[1]!) ?? [];
        list.push(o);
        g.attempts.set(rest[1]!, list);
      }
    }
    return groups;
  }

  async list(): Promise<StreamListing[]> {
    const out: StreamListing[] = [];
    for (const [entry, g] of await this.groups()) {
      if (!g.meta) continue; // uncommitted attempts only: not a stream
      let name: string;
      try {
        name = decodeName(entry);
      } catch {
        name = entry;
      }
      try {
        const meta = await this.read(name);
        if (!meta) continue; // deleted meanwhile
        const bytes = (g.attempts.get(meta.attempt!) ?? []).reduce((n, o) => n + (o.Size ?? 0), g.metaBytes);
        out.push({ name: meta.name, kind: meta.kind, rows: meta.rows, committed: true, bytes });
      } catch (err) {
        if (!(err instanceof CorruptError)) throw err;
        out.push({ name, kind: 'stream', rows: 0, committed: true, bytes: g.metaBytes, damaged: err.message });
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async delete(name: string): Promise<void> {
    let meta: StreamMeta | undefined;
    let damaged = false;
    try {
      meta = await this.read(name);
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
      damaged = true;
    }
    if (!meta && !damaged) throw new NotFoundError(`stream '${name}' does not exist in ${this.root}`);
    // Gone for readers in one step, then its objects.
    await this.deleteKeys([this.metaKey(name)]);
    if (meta?.attempt) await this.deleteAttempt(name, meta.attempt);
    await this.collectGarbage(this.streamPrefix(name), damaged);
  }

  private async deleteAttempt(name: string, attempt: string): Promise<void> {
    const keys = (await this.listAll(`${this.streamPrefix(name)}${attempt}/`)).map((o) => o.Key!).filter(Boolean);
    await this.deleteKeys(keys);
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const out = await this.s3.send(new (sdk().DeleteObjectsCommand)({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
        const failed = out.Errors?.[0];
        if (failed) throw Object.assign(new Error(failed.Message ?? 'delete failed'), { name: failed.Code ?? 'Error' });
      } catch (err) {
        throw s3Error(err, `cannot delete ${this.where(batch[0]!)}${batch.length > 1 ? ` and ${batch.length - 1} more` : ''}`);
      }
    }
  }

  /**
   * Removes what crashed writers left: attempts no meta.json names whose writer is gone (a
   * dead pid on this host; a day old elsewhere), and local staging and cache directories of
   * dead processes. `all`: every unreferenced attempt (deleting a damaged stream).
   */
  private async collectGarbage(prefix?: string, all = false): Promise<void> {
    const here = hostTag();
    const garbage: string[] = [];
    for (const [entry, g] of await this.groups(prefix)) {
      // A committed stream with one attempt holds nothing stray (its meta.json names it): no GET.
      if (g.meta && g.attempts.size <= 1 && !all) continue;
      let current: string | undefined;
      if (g.meta) {
        try {
          current = (await this.read(decodeName(entry)))?.attempt;
        } catch {
          continue; // damaged: left for delete()
        }
      }
      for (const [attempt, objects] of g.attempts) {
        if (attempt === current) continue;
        const a = parseAttempt(attempt);
        const gone = all || !a || (a.host === here ? !processAlive(a.pid) : Date.now() - a.time > FOREIGN_ATTEMPT_TTL_MS);
        if (gone) garbage.push(...objects.map((o) => o.Key!).filter(Boolean));
      }
    }
    await this.deleteKeys(garbage);
    if (prefix) return;
    for (const root of [this.stagingRoot, path.dirname(this.cacheDir)]) {
      for (const entry of await fsp.readdir(root).catch(() => [] as string[])) {
        const pid = Number.parseInt(entry.split('-')[0] ?? '', 10);
        if (!processAlive(pid)) await fsp.rm(path.join(root, entry), { recursive: true, force: true }).catch(() => undefined);
      }
    }
  }

  async readStreamFile(name: string, meta: StreamMeta, file: string): Promise<Uint8Array> {
    const key = this.fileKey(name, meta, file);
    try {
      const out = await this.s3.send(new (sdk().GetObjectCommand)({ Bucket: this.bucket, Key: key }));
      return await bodyBytes(out.Body);
    } catch (err) {
      if (isMissing(err)) throw Object.assign(new Error(`${this.where(key)} does not exist`), { code: 'ENOENT' });
      throw s3Error(err, `stream '${name}': cannot read ${this.where(key)}`);
    }
  }

  async rewriteStreamFile(): Promise<boolean> {
    return false; // objects are immutable: an old index is classified again at each open
  }

  async elementFiles(name: string, meta: StreamMeta): Promise<LocalFiles> {
    const dir = path.join(this.cacheDir, `e-${randomBytes(6).toString('hex')}`);
    await fsp.mkdir(dir, { recursive: true });
    try {
      const base = `${this.streamPrefix(name)}${meta.attempt}/`;
      for (const o of await this.listAll(base)) {
        const file = o.Key!.slice(base.length);
        if (file.includes('/')) continue;
        await fsp.writeFile(path.join(dir, file), await this.readStreamFile(name, meta, file));
      }
    } catch (err) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { dir, release: () => fsp.rm(dir, { recursive: true, force: true }) };
  }

  async packetData(name: string, meta: StreamMeta): Promise<PacketData> {
    const file = meta.dataFile ?? '';
    if (file.startsWith('s3://')) return inPlacePacketData(this.s3, name, meta, this.cacheDir);
    if (path.isAbsolute(file)) {
      const size = (await fsp.stat(file).catch(() => undefined))?.size ?? -1;
      return { path: file, size, remote: false, ensure: async () => false, ensureAll: async () => undefined, close: async () => undefined };
    }
    const key = this.fileKey(name, meta, file);
    let size: number;
    try {
      size = (await this.s3.send(new (sdk().HeadObjectCommand)({ Bucket: this.bucket, Key: key }))).ContentLength ?? 0;
    } catch (err) {
      if (isMissing(err)) return { path: this.where(key), size: -1, remote: true, ensure: async () => false, ensureAll: async () => undefined, close: async () => undefined };
      throw s3Error(err, `stream '${name}': cannot read ${this.where(key)}`);
    }
    const label = `stream '${name}'`;
    const data = await RangedFile.create((offset, length) => getRange(this.s3, this.bucket, key, offset, length, label),
      path.join(this.cacheDir, `p-${randomBytes(6).toString('hex')}.bin`), size);
    this.openFiles.add(data);
    const close = data.close.bind(data);
    data.close = async () => {
      this.openFiles.delete(data);
      await close();
    };
    return data;
  }

  async close(): Promise<void> {
    for (const f of [...this.openFiles]) await f.close().catch(() => undefined);
    await fsp.rm(this.cacheDir, { recursive: true, force: true }).catch(() => undefined);
    this.s3.destroy();
  }
}

/** One ranged GET of [offset, offset + length) of s3://bucket/key. */
async function getRange(s3: S3Client, bucket: string, key: string, offset: number, length: number, label: string): Promise<Uint8Array> {
  const where = `s3://${bucket}/${key}`;
  try {
    const out = await s3.send(new (sdk().GetObjectCommand)({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }));
    const bytes = await bodyBytes(out.Body);
    if (bytes.length !== length) throw new CorruptError(`${label}: ${where} returned ${bytes.length} bytes for a range of ${length} at ${offset} (was it truncated?)`);
    return bytes;
  } catch (err) {
    throw s3Error(err, `${label}: cannot read ${where} bytes ${offset}-${offset + length - 1}`);
  }
}

/** 's3://bucket/key' of an object (a video in a bucket). */
export function parseS3Object(where: string, url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new BadArgumentError(`${where}: expected s3://bucket/key, got '${url}'`);
  return { bucket: checkBucket(where, m[1]!), key: m[2]! };
}

let defaultClient: S3Client | undefined;
const configuredClients = new Map<string, S3Client>();

/** The bytes of one object (FilesStream): ERR_NOT_FOUND naming it when it is missing. */
export async function readObject(loc: S3Location, key: string, label: string): Promise<Uint8Array> {
  const id = JSON.stringify([loc.region, loc.endpoint]);
  let s3 = configuredClients.get(id);
  if (!s3) {
    const endpoint = loc.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    s3 = new (sdk().S3Client)({
      region: loc.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(loc.endpoint !== undefined && { endpoint: loc.endpoint }),
      forcePathStyle: endpoint !== undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    configuredClients.set(id, s3);
  }
  const where = `s3://${loc.bucket}/${key}`;
  try {
    const out = await s3.send(new (sdk().GetObjectCommand)({ Bucket: loc.bucket, Key: key }));
    return await bodyBytes(out.Body);
  } catch (err) {
    if (isMissing(err)) throw new NotFoundError(`${label}: '${where}' does not exist`, { cause: err });
    throw s3Error(err, `${label}: cannot read '${where}'`);
  }
}

/** The S3 client for videos in buckets: the database's own on S3, else one from the AWS environment. */
export function sourceClient(db: Database): S3Client {
  if (db instanceof S3Database) return db.s3;
  defaultClient ??= new (sdk().S3Client)({
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: (process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL) !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return defaultClient;
}

/** Size and last-modified time of s3://bucket/key (ERR_NOT_FOUND naming it when it is missing). */
export async function headObject(s3: S3Client, url: string, label: string): Promise<{ size: number; mtimeMs: number }> {
  const { bucket, key } = parseS3Object(label, url);
  try {
    const out = await s3.send(new (sdk().HeadObjectCommand)({ Bucket: bucket, Key: key }));
    return { size: out.ContentLength ?? 0, mtimeMs: out.LastModified?.getTime() ?? 0 };
  } catch (err) {
    if (isMissing(err)) throw new NotFoundError(`${label}: video '${url}' does not exist`, { cause: err });
    throw s3Error(err, `${label}: cannot read '${url}'`);
  }
}

/** Downloads s3://bucket/key into `file` (streamed, never held in memory). */
export async function downloadObject(s3: S3Client, url: string, file: string, label: string): Promise<void> {
  const { bucket, key } = parseS3Object(label, url);
  try {
    const out = await s3.send(new (sdk().GetObjectCommand)({ Bucket: bucket, Key: key }));
    const body = out.Body as NodeJS.ReadableStream | undefined;
    if (!body) throw new Error('empty response body');
    const { pipeline } = await import('node:stream/promises');
    const { createWriteStream } = await import('node:fs');
    await pipeline(body, createWriteStream(file));
  } catch (err) {
    if (isMissing(err)) throw new NotFoundError(`${label}: video '${url}' does not exist`, { cause: err });
    throw s3Error(err, `${label}: cannot download '${url}'`);
  }
}

/**
 * The packets of a stream ingested in place from a video in a bucket: ranged GETs of the
 * original object, after checking that it has not changed since (size and time).
 */
export async function inPlacePacketData(s3: S3Client, name: string, meta: StreamMeta, cacheDir: string): Promise<PacketData> {
  const url = meta.dataFile!;
  const label = `stream '${name}'`;
  const { bucket, key } = parseS3Object(label, url);
  const now = await headObject(s3, url, label).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new NotFoundError(`stream '${name}' was ingested in place and its video '${url}' is gone`, { cause: err });
    throw err;
  });
  if (meta.source && (now.size !== meta.source.size || now.mtimeMs !== meta.source.mtimeMs)) {
    throw new InvalidVideoError(`stream '${name}' was ingested in place and '${url}' has changed since; delete and ingest it again`);
  }
  return RangedFile.create((offset, length) => getRange(s3, bucket, key, offset, length, label), path.join(cacheDir, `i-${randomBytes(6).toString('hex')}.bin`), now.size);
}

/**
 * A remote packet file mirrored into a sparse local file: ranges are fetched on request (what
 * is already there is not fetched again), one GET per missing run.
 */
export class RangedFile implements PacketData {
  readonly remote = true;
  /** Fetched [start, end) spans, sorted and disjoint. */
  private have: [number, number][] = [];
  private queue: Promise<void> = Promise.resolve();

  private constructor(private readonly getRange: (offset: number, length: number) => Promise<Uint8Array>, readonly path: string, readonly size: number) {}

  static async create(getRange: (offset: number, length: number) => Promise<Uint8Array>, local: string, size: number): Promise<RangedFile> {
    await fsp.mkdir(path.dirname(local), { recursive: true });
    const fh = await fsp.open(local, 'w');
    try {
      await fh.truncate(size); // sparse: holes read as zeros and take no disk
    } finally {
      await fh.close();
    }
    return new RangedFile(getRange, local, size);
  }

  async ensureAll(): Promise<void> {
    await this.ensure([{ offset: 0, length: this.size }]);
  }

  ensure(ranges: readonly ByteRange[]): Promise<boolean> {
    const run = this.queue.then(() => this.fetch(ranges));
    this.queue = run.then(() => undefined, () => undefined);
    return run;
  }

  private missing(ranges: readonly ByteRange[]): ByteRange[] {
    const want = coalesce(ranges.filter((r) => r.length > 0).map((r) => [Math.max(0, r.offset), Math.min(this.size, r.offset + r.length)] as [number, number]).filter(([a, b]) => b > a));
    const out: [number, number][] = [];
    for (const w of want) {
      let a = w.offset;
      const end = w.offset + w.length;
      for (const [h0, h1] of this.have) {
        if (h1 <= a) continue;
        if (h0 >= end) break;
        if (h0 > a) out.push([a, h0]);
        a = Math.max(a, h1);
        if (a >= end) break;
      }
      if (a < end) out.push([a, end]);
    }
    return coalesce(out);
  }

  private async fetch(ranges: readonly ByteRange[]): Promise<boolean> {
    const todo = this.missing(ranges);
    if (todo.length === 0) return false;
    const fh = await fsp.open(this.path, 'r+');
    try {
      for (const r of todo) {
        const bytes = await this.getRange(r.offset, r.length);
        await fh.write(bytes, 0, bytes.length, r.offset);
        this.have.push([r.offset, r.offset + r.length]);
        this.have = coalesce(this.have).map((x) => [x.offset, x.offset + x.length] as [number, number]);
      }
    } finally {
      await fh.close();
    }
    return true;
  }

  async close(): Promise<void> {
    await this.queue;
    await fsp.rm(this.path, { force: true });
  }
}
