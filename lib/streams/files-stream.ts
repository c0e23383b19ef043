import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Client } from '../client';
import { BadArgumentError, NotFoundError, toVidgraphError } from '../errors';
import { checkBucket, readObject } from '../storage/s3-database';
import { describe, knownKeys, plainObject } from '../validate';

/** Where a {@link FilesStream}'s files are: local disk, or a bucket. */
export interface FilesStorageConfig {
  /** `'posix'` (local files) or `'s3'`. */
  type: 'posix' | 's3';
  /** S3 bucket (required for `'s3'`). */
  bucket?: string;
  /** S3 region. Default: $AWS_REGION, else us-east-1. */
  region?: string;
  /** S3 endpoint URL. Default: $AWS_ENDPOINT_URL_S3, else AWS. */
  endpoint?: string;
  /** A directory (posix) or key prefix (S3) the paths are relative to. */
  prefix?: string;
}

/**
 * Where a {@link FilesStream} reads its files: local disk (`'posix'`) or a bucket (`'s3'`,
 * credentials from the standard AWS chain).
 *
 * @example
 * const storage = new vg.FilesStorage({ type: 's3', bucket: 'my-bucket', prefix: 'images' });
 */
export class FilesStorage {
  /** The configuration, as given. */
  readonly config: Readonly<FilesStorageConfig>;

  constructor(config: FilesStorageConfig) {
    const o = plainObject('FilesStorage', 'options', config) as Record<string, unknown>;
    knownKeys('FilesStorage', o, ['type', 'bucket', 'region', 'endpoint', 'prefix']);
    if (o.type !== 'posix' && o.type !== 's3') throw new BadArgumentError(`FilesStorage: expected type 'posix' or 's3', got ${describe(o.type)}`);
    for (const k of ['region', 'endpoint', 'prefix'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'string') throw new BadArgumentError(`FilesStorage: expected ${k} as a string, got ${describe(o[k])}`);
    }
    if (o.type === 's3') checkBucket('FilesStorage: bucket', o.bucket);
    this.config = Object.freeze({ ...(config as FilesStorageConfig) });
  }

  /**
   * One file's bytes (ERR_NOT_FOUND naming it when it does not exist).
   *
   * @example
   * const bytes = await new vg.FilesStorage({ type: 'posix' }).read('photo.jpg');
   */
  async read(file: string): Promise<Uint8Array> {
    const c = this.config;
    if (c.type === 's3') {
      const key = c.prefix ? `${c.prefix.replace(/\/+$/, '')}/${file}` : file;
      return readObject({ bucket: c.bucket!, region: c.region, endpoint: c.endpoint }, key, 'FilesStream');
    }
    const full = path.resolve(c.prefix ?? '', file);
    try {
      return await fsp.readFile(full);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`FilesStream: file '${full}' does not exist`, { cause: err });
      throw toVidgraphError(err, `FilesStream: cannot read '${full}'`);
    }
  }
}

/**
 * An input stream of files, one row per file (its bytes, a Uint8Array), on local disk or in a
 * bucket (see {@link FilesStorage}).
 *
 * @example
 * const images = new vg.FilesStream(sc, { paths: ['a.jpg', 'b.jpg'] });
 * const sizes = sc.io.Input([images]);
 */
export class FilesStream {
  /** @internal */ readonly sc: Client;
  /** The files, as given. */
  readonly paths: readonly string[];
  /** Where they are read from. */
  readonly files: FilesStorage;

  constructor(sc: Client, opts: { paths: string[]; storage?: FilesStorage }) {
    const o = plainObject('FilesStream', 'options', opts);
    knownKeys('FilesStream', o, ['paths', 'storage']);
    if (!Array.isArray(o.paths) || !o.paths.every((p) => typeof p === 'string' && p.length > 0)) {
      throw new BadArgumentError(`FilesStream: expected paths as an array of non-empty strings, got ${describe(o.paths)}`);
    }
    if (o.storage !== undefined && !(o.storage instanceof FilesStorage)) throw new BadArgumentError(`FilesStream: expected storage as a vg.FilesStorage, got ${describe(o.storage)}`);
    this.sc = sc;
    this.paths = Object.freeze([...(o.paths as string[])]);
    this.files = (o.storage as FilesStorage | undefined) ?? new FilesStorage({ type: 'posix' });
  }

  /**
   * A name for messages: `files(n)` for n files.
   *
   * @example
   * new vg.FilesStream(sc, { paths: ['a.jpg'] }).name(); // 'files(1)'
   */
  name(): string {
    return `files(${this.paths.length})`;
  }

  /**
   * The number of files (rows).
   *
   * @example
   * const rows = await images.len();
   */
  async len(): Promise<number> {
    return this.paths.length;
  }

  /**
   * Rows (file bytes), lazily, in the order asked. Without `rows`: every file in order.
   *
   * @example
   * for await (const bytes of images.load({ rows: [1] })) console.log(bytes.length);
   */
  load(opts?: { rows?: number[] }): AsyncIterable<Uint8Array> {
    const o = plainObject('FilesStream.load', 'options', opts);
    knownKeys('FilesStream.load', o, ['rows']);
    const n = this.paths.length;
    const rows = (o.rows as number[] | undefined) ?? Array.from({ length: n }, (_, i) => i);
    if (!Array.isArray(rows)) throw new BadArgumentError(`FilesStream.load: expected rows as an array of integers, got ${describe(rows)}`);
    rows.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 0 || r >= n) throw new BadArgumentError(`FilesStream.load: expected rows[${i}] to be an integer between 0 and ${n - 1}, got ${describe(r)}`);
    });
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        for (const r of rows) yield await self.files.read(self.paths[r]!);
      },
    };
  }
}
