import * as os from 'node:os';
import * as path from 'node:path';
import type TableClass from 'cli-table3';
import { BadArgumentError, ClosedError } from './errors';
import type { Column } from './graph/graph';
import { IO } from './graph/io';
import type * as ClusterRun from './distributed/cluster-run';
import { queueName, redisUrl } from './distributed/queue';
import { opsProxy } from './graph/ops';
import type { Ops } from './graph/op-types';
import { Partitioner, StreamOps } from './graph/stream-ops';
import type { OutputOp } from './graph/graph';
import type { PerfParams } from './run/perf-params';
import { run, RunOptions, RunResult } from './run/run';
import { LoadOpOptions, loadOp } from './plugins';
import { usableGpus } from './gpu';
import { native } from './native';
import { LocalDatabase, StreamListing } from './storage/local-database';
import type { Database } from './storage/database';
import { checkBucket, parseS3Url, S3Database } from './storage/s3-database';
import { limitInputPixelsOption, threadsOption } from './limits';
import { describe, integer, knownKeys, optionalBoolean, plainObject } from './validate';

/** How much the engine logs: `'warn'` by default; `'debug'` also lets the native engine's own warnings through. */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

/**
 * An explicit storage backend for {@link ClientOptions.storage}: `'posix'` (a local
 * directory) or `'s3'` (a bucket and key prefix; credentials from the standard AWS chain).
 */
export interface StorageConfig {
  /** The backend: `'posix'` (local disk) or `'s3'`. */
  type: 'posix' | 's3';
  /** S3 bucket (S3 backend only; required there). */
  bucket?: string;
  /** S3 region (S3 backend only). Default: $AWS_REGION, else us-east-1. */
  region?: string;
  /** S3 endpoint URL (S3 backend only), e.g. a MinIO server. Default: $AWS_ENDPOINT_URL_S3, else AWS. */
  endpoint?: string;
  /** For `'posix'`: the database directory, used when `db` is not given. For `'s3'`: the key prefix. */
  prefix?: string;
}

/** Options of `new vg.Client(options)`; every one is optional and an unknown key is ERR_BAD_ARGUMENT. */
export interface ClientOptions {
  /** Database location. Default: $VIDGRAPH_DB, else ~/.vidgraph/db (embedded, local disk). */
  db?: string;
  /** An explicit storage backend instead of `db` (see {@link StorageConfig}). */
  storage?: StorageConfig;
  /**
   * Distributed mode: `sc.run` sends one task per job to a BullMQ queue on this Redis, where
   * `npx vidgraph worker` processes take them; every worker must see the same database (`db`).
   */
  cluster?: {
    /** The Redis URL of the task queue, e.g. 'redis://127.0.0.1:6379'. */
    redis: string;
    /** The queue's name (default 'vidgraph'; the workers' `--queue`). */
    queue?: string;
  };
  /**
   * CPU threads for decoding and encoding. Default: all cores. At most 1024; more than 4 per
   * core are clamped to 4 per core with a process warning.
   */
  threads?: number;
  /**
   * Videos whose pictures have more pixels are refused (ERR_INVALID_VIDEO) at ingest and
   * before decoding. Default 7680 × 4320 (8K UHD); false: no limit of vidgraph's own.
   */
  limitInputPixels?: number | false;
  /**
   * Decoders leave out frames no other frame references when their rows are not needed
   * (default true); false decodes every frame on the way, for damaged or untrusted videos
   * (see VideoReader.open's `skipNonReference`).
   */
  skipNonReference?: boolean;
  /** GPU ids to use. Default: all visible; [] forces CPU. */
  gpus?: number[];
  /** How much the engine logs (default `'warn'`). */
  logLevel?: LogLevel;
}

const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];
const OPTION_NAMES = ['db', 'storage', 'cluster', 'threads', 'gpus', 'logLevel', 'limitInputPixels', 'skipNonReference'] as const;

/**
 * A connection to a vidgraph database: the entry point for stored streams (`NamedVideoStream`,
 * `NamedStream`), graphs (`sc.io`, `sc.ops`, `sc.streams`) and runs (`sc.run`). Options are
 * validated at once; the database directory is created on first use.
 *
 * @example
 * await using sc = new vg.Client();            // ~/.vidgraph/db
 * const video = new vg.NamedVideoStream(sc, 'example', { path: 'example.mp4' });
 * await video.ingest();
 * console.log(await sc.summarize());
 */
export class Client {
  /** The database directory, as an absolute path (S3: `s3://bucket/prefix`). */
  readonly dbPath: string;
  /** The storage backend in use: `'posix'` or `'s3'`. */
  readonly storageType: 'posix' | 's3';
  /** CPU threads used for decoding and encoding (the `threads` option, else all cores). */
  readonly threads: number;
  /** Pixels per picture above which videos are refused; 0: no limit (limitInputPixels: false). */
  readonly maxPixels: number;
  /** Whether decoders leave out unneeded frames nothing references (skipNonReference). */
  readonly skipNonReference: boolean;
  /** The GPU ids asked for (`gpus` option); undefined: all visible ones. */
  readonly gpus: number[] | undefined;
  /** The log level in effect. */
  readonly logLevel: LogLevel;
  /** @internal Distributed mode's queue (from `cluster`), or undefined for local runs. */
  readonly cluster: { redis: string; queue: string } | undefined;
  /** @internal */
  readonly database: Database;
  private opened?: Promise<void>;
  private closed = false;
  /** Graph inputs and outputs: `sc.io.Input([...])`, `sc.io.Output(column, [...])`. */
  readonly io = new IO();
  /** Ops by name: `sc.ops.Resize({ frame, width: 640, height: 480 })`. */
  readonly ops: Ops = opsProxy();
  /** Stream operators: `sc.streams.Stride(col, [2])`, Range, Ranges, StridedRange, Gather, Repeat, RepeatNull, Slice, Unslice. */
  readonly streams = new StreamOps();
  /** Partitioners for Slice: all, strided, range, ranges, gather. */
  readonly partitioner = new Partitioner();

  /**
   * Validates the options (ERR_BAD_ARGUMENT naming the option) without touching the disk; the
   * database is opened, and created if needed, by the first call that uses it.
   */
  constructor(options?: ClientOptions) {
    // Phase 1: defaults.
    const opts = plainObject('Client', 'options', options) as ClientOptions;
    knownKeys('Client', opts as Record<string, unknown>, OPTION_NAMES);
    let db = process.env.VIDGRAPH_DB || path.join(os.homedir(), '.vidgraph', 'db');
    let threads = os.availableParallelism();
    let logLevel: LogLevel = 'warn';

    // Phase 2: validate.
    if (opts.db !== undefined) {
      if (typeof opts.db !== 'string' || opts.db.length === 0) throw new BadArgumentError(`Client: expected a directory path for db, got ${describe(opts.db)}`);
      db = opts.db;
    }
    if (opts.threads !== undefined) threads = threadsOption('Client', 'threads', opts.threads);
    const maxPixels = limitInputPixelsOption('Client', opts.limitInputPixels);
    if (opts.logLevel !== undefined) {
      if (!LOG_LEVELS.includes(opts.logLevel)) throw new BadArgumentError(`Client: expected logLevel one of ${LOG_LEVELS.join(', ')}, got ${describe(opts.logLevel)}`);
      logLevel = opts.logLevel;
    }
    const skipNonReference = optionalBoolean('Client', 'skipNonReference', opts.skipNonReference) ?? true;
    if (opts.gpus !== undefined) {
      if (!Array.isArray(opts.gpus)) throw new BadArgumentError(`Client: expected gpus as an array of device ids, got ${describe(opts.gpus)}`);
      opts.gpus.forEach((g, i) => integer('Client', `gpus[${i}]`, g, { min: 0 }));
    }

    // Phase 3: interpret.
    if (opts.storage !== undefined) {
      const st = plainObject('Client', 'storage', opts.storage) as Record<string, unknown>;
      knownKeys('Client.storage', st, ['type', 'bucket', 'region', 'endpoint', 'prefix']);
      if (st.type !== 'posix' && st.type !== 's3') throw new BadArgumentError(`Client: expected storage.type 'posix' or 's3', got ${describe(st.type)}`);
      for (const k of ['region', 'endpoint', 'prefix'] as const) {
        if (st[k] !== undefined && typeof st[k] !== 'string') throw new BadArgumentError(`Client: expected storage.${k} as a string, got ${describe(st[k])}`);
      }
      if (st.endpoint !== undefined && !/^https?:\/\/./.test(st.endpoint as string)) throw new BadArgumentError(`Client: expected storage.endpoint as an http(s) URL, got ${describe(st.endpoint)}`);
    }
    let cluster: { redis: string; queue: string } | undefined;
    if (opts.cluster !== undefined) {
      const c = plainObject('Client', 'cluster', opts.cluster);
      knownKeys('Client.cluster', c, ['redis', 'queue']);
      cluster = { redis: redisUrl('Client: cluster.redis', c.redis), queue: queueName('Client: cluster.queue', c.queue) };
    }
    if (opts.storage?.type === 's3' && !(opts.db ?? '').startsWith('s3://')) {
      const bucket = checkBucket('Client: storage.bucket', opts.storage.bucket);
      this.database = new S3Database({ bucket, prefix: opts.storage.prefix, region: opts.storage.region, endpoint: opts.storage.endpoint });
    } else if (db.startsWith('s3://')) {
      const { bucket, prefix } = parseS3Url('Client: db', db);
      const st = opts.storage?.type === 's3' ? opts.storage : undefined;
      this.database = new S3Database({ bucket, prefix, region: st?.region, endpoint: st?.endpoint });
    } else {
      this.database = new LocalDatabase(path.resolve(opts.storage?.prefix && !opts.db ? opts.storage.prefix : db));
    }
    this.dbPath = this.database.root;
    this.storageType = this.database.kind;
    this.threads = threads;
    this.maxPixels = maxPixels;
    this.skipNonReference = skipNonReference;
    this.gpus = opts.gpus;
    this.logLevel = logLevel;
    this.cluster = cluster;
    native().setLogLevel(logLevel === 'debug' ? 'warn' : 'silent');
  }

  /** @internal Opens the database on first use (creates it, clears crashed writers' leftovers). */
  ready(): Promise<Database> {
    if (this.closed) return Promise.reject(new ClosedError(`Client: the client of '${this.dbPath}' is closed`));
    this.opened ??= this.database.open();
    return this.opened.then(() => this.database);
  }

  /**
   * @internal For read-only use (the CLI's `ls` and `info`): the database must exist already;
   * nothing is created or cleaned up, and later calls on this client see it the same way.
   * ERR_NOT_FOUND when there is no database at `db`.
   */
  openExisting(): Promise<Database> {
    if (this.closed) return Promise.reject(new ClosedError(`Client: the client of '${this.dbPath}' is closed`));
    this.opened ??= this.database.openExisting();
    return this.opened.then(() => this.database);
  }

  /**
   * Runs the graph behind `outputs`: one job per input stream; each job's outputs are
   * committed together, and a failing job fails alone (listed in `failedJobs`).
   *
   * @example
   * const { stats } = await sc.run(output, vg.PerfParams.estimate(), { cacheMode: vg.CacheMode.Overwrite });
   */
  run(outputs: OutputOp | OutputOp[], perf: PerfParams, opts?: RunOptions): Promise<RunResult> {
    if (this.closed) return Promise.reject(new ClosedError(`Client.run: the client of '${this.dbPath}' is closed`));
    // Loaded on first use: a process that never runs on a cluster does not load it at import.
    if (this.cluster) return (require('./distributed/cluster-run') as typeof ClusterRun).clusterRun(this, outputs, perf, opts ?? {}, this.cluster);
    return run(this, outputs, perf, opts);
  }

  /**
   * Loads a C++ op plugin (built against include/vidgraph/op.h) and, for ops with arguments,
   * the .proto that defines their argument message. Returns the names of the ops it added.
   * `opts.timeout` (ms, default 30000) bounds each registration (in a check process, then here):
   * one that does not return in time is ERR_TIMEOUT and the plugin is not loaded. An op name that
   * already exists is ERR_EXISTS unless `opts.replace`.
   *
   * @example
   * await sc.loadOp('build/myresize.so', 'resize.proto');
   * const small = sc.ops.MyResize({ frame, width: 200, height: 300 });
   */
  loadOp(soPath: string, protoPath?: string, opts?: LoadOpOptions): Promise<string[]> {
    if (this.closed) return Promise.reject(new ClosedError(`Client.loadOp: the client of '${this.dbPath}' is closed`));
    return loadOp(soPath, protoPath, opts);
  }

  /**
   * True when a CUDA GPU can be used: the engine was built with CUDA, a driver and a device are
   * present, and the `gpus` option does not force the CPU. {@link gpuStatus} says why not.
   *
   * @example
   * const device = sc.hasGpu() ? vg.DeviceType.GPU : vg.DeviceType.CPU;
   */
  hasGpu(): boolean {
    return usableGpus(this.gpus).ids !== undefined;
  }

  /**
   * Every committed stream, with its kind (`'video'` or `'stream'`), rows and size on disk.
   *
   * @example
   * for (const s of await sc.listStreams()) console.log(s.name, s.kind, s.rows);
   */
  async listStreams(): Promise<StreamListing[]> {
    return (await this.ready()).list();
  }

  /**
   * A table of the streams: name, kind, rows, committed, size on disk. Control characters in
   * names are shown escaped; damaged streams are marked and explained.
   *
   * @example
   * console.log(await sc.summarize());
   */
  async summarize(): Promise<string> {
    const streams = await this.listStreams();
    return [streamTable(streams), `${streams.length} stream(s) in ${displayName(this.dbPath)}`, ...damageNotes(streams)].join('\n');
  }

  /**
   * Closes the client: later calls on it reject with ERR_CLOSED. Streams already committed stay.
   *
   * @example
   * const sc = new vg.Client({ db: './db' });
   * try { console.log(await sc.summarize()); } finally { await sc.close(); }
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.database.close().catch(() => undefined);
  }

  /**
   * Closes the client at the end of an `await using` block (the same as {@link Client.close}).
   *
   * @example
   * await using sc = new vg.Client();
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** cli-table3 drawn without a box: columns two spaces apart, a rule of dashes under the heading. */
const PLAIN_TABLE: Partial<Record<TableClass.CharName, string>> = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', right: '', 'right-mid': '',
  mid: '-', 'mid-mid': '  ', middle: '  ',
};

/**
 * A plain-text table: a heading, a rule, one line per row, columns aligned by their width on a
 * terminal (cli-table3 measures wide characters, such as CJK, as two columns), no colours.
 */
export function formatTable(header: string[], rows: string[][], align: ('left' | 'right')[] = []): string {
  // Loaded when a table is drawn, so that importing vidgraph does not pay for it (~8 ms).
  const Table = require('cli-table3') as typeof TableClass;
  const table = new Table({
    head: header,
    chars: PLAIN_TABLE,
    colAligns: header.map((_, i) => align[i] ?? 'left'),
    // compact: the rule under the heading only, none between rows.
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0 },
  });
  table.push(...rows);
  const lines = table.toString().split('\n').map((l) => l.trimEnd());
  // With no rows cli-table3 draws no rule under the heading: the same layout either way.
  if (rows.length === 0) lines.push(header.map((h) => '-'.repeat(h.length)).join('  '));
  return lines.join('\n');
}

/**
 * A name as it is safe to print on a terminal: control characters (C0, DEL, C1), line and
 * paragraph separators and bidirectional overrides are written as escapes (\n, \t, \x1b,
 * \u202e), and a backslash as \\, so a stream name can neither move the cursor, recolour
 * the terminal nor pass for another row or another name.
 */
export function displayName(name: string): string {
  return name.replace(/[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    if (named[c]) return named[c]!;
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** The stream table of `summarize()` and `vidgraph ls` (a damaged stream: committed 'damaged'). */
export function streamTable(streams: StreamListing[]): string {
  const rows = streams.map((s) => s.damaged
    ? [displayName(s.name), '?', '?', 'damaged', formatBytes(s.bytes)]
    : [displayName(s.name), s.kind, String(s.rows), s.committed ? 'yes' : 'no', formatBytes(s.bytes)]);
  return formatTable(['stream', 'kind', 'rows', 'committed', 'size'], rows, ['left', 'left', 'right', 'left', 'right']);
}

/** One line per damaged stream: what is wrong with it. */
export function damageNotes(streams: StreamListing[]): string[] {
  return streams.filter((s) => s.damaged).map((s) => `${displayName(s.damaged!)} (ERR_CORRUPT)`);
}
