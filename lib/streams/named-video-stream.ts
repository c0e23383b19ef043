import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Client } from '../client';
import { BadArgumentError, ExistsError, fromNative, InvalidVideoError, NotFoundError } from '../errors';
import type { Frame } from '../frame';
import { native, VideoMetadata } from '../native';
import type { StreamMeta } from '../storage/local-database';
import { PosixStorage } from '../storage/posix-storage';
import { describe, knownKeys, nonEmptyString, optionalBoolean, plainObject } from '../validate';
import { framesInOrder, VideoSource } from '../video-source';

export type { VideoMetadata } from '../native';

const INDEX_FILE = 'index.vgix';
const PACKETS_FILE = 'packets.bin';

/**
 * A video stored in the database. With `path`, the video is ingested at the first read
 * (or eagerly with `ingest()`): demuxed once, every packet indexed, and (unless `inplace`)
 * its packets copied into the database.
 *
 * @example
 * const video = new vg.NamedVideoStream(sc, 'street', { path: 'street.mp4' });
 * for await (const frame of video.load({ rows: [0, 100, 200] })) console.log(frame.width, frame.height);
 */
export class NamedVideoStream {
  private readonly sc: Client;
  private readonly streamName: string;
  private readonly sourcePath?: string;
  private readonly inplace: boolean;
  private ingesting?: Promise<void>;

  constructor(sc: Client, name: string, opts?: { path?: string; inplace?: boolean }) {
    nonEmptyString('NamedVideoStream', 'name', name);
    if (name.length > 200) throw new BadArgumentError(`NamedVideoStream: expected a name of at most 200 characters, got ${name.length}`);
    const o = plainObject('NamedVideoStream', 'options', opts);
    knownKeys('NamedVideoStream', o, ['path', 'inplace']);
    if (o.path !== undefined && (typeof o.path !== 'string' || o.path.length === 0)) {
      throw new BadArgumentError(`NamedVideoStream: expected a file path for path, got ${describe(o.path)}`);
    }
    this.sc = sc;
    this.streamName = name;
    this.sourcePath = o.path === undefined ? undefined : path.resolve(o.path as string);
    this.inplace = optionalBoolean('NamedVideoStream', 'inplace', o.inplace) ?? false;
  }

  name(): string {
    return this.streamName;
  }

  /**
   * Indexes the video (and copies its packets unless `inplace`) and commits the stream.
   * Does nothing when the stream already exists.
   */
  async ingest(): Promise<void> {
    this.ingesting ??= this.doIngest().finally(() => { this.ingesting = undefined; });
    return this.ingesting;
  }

  private async doIngest(): Promise<void> {
    const db = await this.sc.ready();
    if (await db.read(this.streamName)) return;
    if (!this.sourcePath) throw new NotFoundError(`stream '${this.streamName}' does not exist and no path was given to ingest it from`);
    const stat = await fsp.stat(this.sourcePath).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new NotFoundError(`video file '${this.sourcePath}' does not exist`) : fromNative(err, this.sourcePath);
    });
    const staging = await db.stage();
    try {
      let scan;
      try {
        scan = await native().scan(this.sourcePath, { copyTo: path.join(staging, PACKETS_FILE), inplace: this.inplace, threads: this.sc.threads });
      } catch (err) {
        throw fromNative(err, `ingest of '${this.streamName}'`);
      }
      for (const w of scan.warnings) process.emitWarning(w, { code: 'VIDGRAPH_INGEST' });
      if (scan.info.inplace) await fsp.rm(path.join(staging, PACKETS_FILE), { force: true });
      await fsp.writeFile(path.join(staging, INDEX_FILE), scan.index);
      const meta: StreamMeta = {
        formatVersion: 1,
        name: this.streamName,
        kind: 'video',
        rows: scan.info.frames,
        createdAt: new Date().toISOString(),
        dataFile: scan.info.inplace ? this.sourcePath : PACKETS_FILE,
        source: { path: this.sourcePath, size: stat.size, mtimeMs: stat.mtimeMs },
        video: { ...scan.info },
        warnings: scan.warnings,
      };
      await db.commit(staging, meta);
    } catch (err) {
      await db.discard(staging);
      if (err instanceof ExistsError) {
        // Another writer committed it first: fine when it is the same video.
        const existing = await db.read(this.streamName);
        if (existing?.source?.path === this.sourcePath) return;
      }
      throw err;
    }
  }

  private async meta(): Promise<StreamMeta> {
    const db = await this.sc.ready();
    let meta = await db.read(this.streamName);
    if (!meta && this.sourcePath) {
      await this.ingest();
      meta = await db.read(this.streamName);
    }
    if (!meta) throw new NotFoundError(`stream '${this.streamName}' does not exist in ${db.root}`);
    if (meta.kind !== 'video') throw new BadArgumentError(`stream '${this.streamName}' is not a video stream`);
    return meta;
  }

  /** @internal Opens a decoder over the stored stream. */
  async openSource(opts: { maxSize?: [number, number] } = {}): Promise<VideoSource> {
    const meta = await this.meta();
    const dir = (await this.sc.ready()).streamDir(this.streamName);
    const dataPath = path.isAbsolute(meta.dataFile) ? meta.dataFile : path.join(dir, meta.dataFile);
    if (path.isAbsolute(meta.dataFile) && meta.source) {
      const st = await fsp.stat(dataPath).catch(() => undefined);
      if (!st) throw new NotFoundError(`stream '${this.streamName}' was ingested in place and its video '${dataPath}' is gone`);
      if (st.size !== meta.source.size || st.mtimeMs !== meta.source.mtimeMs) {
        throw new InvalidVideoError(`stream '${this.streamName}' was ingested in place and '${dataPath}' has changed since; delete and ingest it again`);
      }
    }
    const index = await fsp.readFile(path.join(dir, INDEX_FILE));
    return new VideoSource(index, dataPath, `stream '${this.streamName}'`, { threads: this.sc.threads, maxSize: opts.maxSize });
  }

  async len(): Promise<number> {
    return (await this.meta()).rows;
  }

  /** True once the stream is committed (streams are never visible before). */
  async exists(): Promise<boolean> {
    return (await (await this.sc.ready()).read(this.streamName)) !== undefined;
  }

  async committed(): Promise<boolean> {
    return this.exists();
  }

  async metadata(): Promise<VideoMetadata> {
    const v = (await this.meta()).video as unknown as VideoMetadata;
    return {
      width: v.width, height: v.height, frames: v.frames, fps: v.fps, timeBase: v.timeBase,
      codec: v.codec, pixFmt: v.pixFmt, durationSec: v.durationSec, keyframes: v.keyframes,
    };
  }

  /**
   * The frames, lazily, in the order asked (repeats allowed; a repeated row yields the same
   * Frame object). Without `rows`: every frame in order.
   */
  load(opts?: { rows?: number[] }): AsyncIterable<Frame> {
    const o = plainObject(`${this.streamName}.load`, 'options', opts);
    knownKeys(`${this.streamName}.load`, o, ['rows']);
    if (o.rows !== undefined && !Array.isArray(o.rows)) {
      throw new BadArgumentError(`load: expected rows as an array of integers, got ${describe(o.rows)}`);
    }
    const asked = o.rows as number[] | undefined;
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        const source = await self.openSource();
        try {
          const n = source.frameCount;
          const rows = asked ?? Array.from({ length: n }, (_, i) => i);
          asked?.forEach((r, i) => {
            if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= n) {
              throw new BadArgumentError(`load: expected rows[${i}] to be an integer between 0 and ${n - 1} (stream '${self.streamName}' has ${n} rows), got ${describe(r)}`);
            }
          });
          for await (const { frame } of framesInOrder(source, rows)) yield frame;
        } finally {
          await source.close();
        }
      },
    };
  }

  /** Deletes the stream (ERR_NOT_FOUND when it does not exist). */
  async delete(sc: Client = this.sc): Promise<void> {
    await (await sc.ready()).delete(this.streamName);
  }

  storage(): PosixStorage {
    return new PosixStorage();
  }
}
