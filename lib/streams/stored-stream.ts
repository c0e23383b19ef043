import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '../client';
import { BadArgumentError, CorruptError, InvalidVideoError, NotFoundError, VidgraphError } from '../errors';
import { Frame } from '../frame';
import { native } from '../native';
import { typeNamed } from '../graph/types';
import { ElementReader } from '../storage/element-file';
import { checkStreamName, StreamMeta } from '../storage/local-database';
import { StorageBackend } from '../storage/posix-storage';
import type { PacketData } from '../storage/database';
import { PacketPlanner } from '../storage/packet-ranges';
import { describe, knownKeys, nonEmptyString, plainObject } from '../validate';
import { framesInOrder, VideoSource } from '../video-source';

/** Files of a stream stored as packets (ingested or encoded video). */
export const INDEX_FILE = 'index.vgix';
export const PACKETS_FILE = 'packets.bin';

/** What every stored stream can do: name, size, existence, loading, deletion. */
export abstract class StoredStream<T> {
  /** @internal */ readonly sc: Client;
  private readonly streamName: string;

  constructor(sc: Client, name: string, where: string) {
    nonEmptyString(where, 'name', name);
    if (name.length > 200) throw new BadArgumentError(`${where}: expected a name of at most 200 characters, got ${name.length}`);
    checkStreamName(where, name);
    this.sc = sc;
    this.streamName = name;
  }

  /**
   * The stream's name in the database.
   *
   * @example
   * const out = new vg.NamedStream(sc, 'example_hist');
   * console.log(out.name()); // 'example_hist'
   */
  name(): string {
    return this.streamName;
  }

  /** @internal The committed stream's metadata (ingesting first where the stream knows how). */
  abstract meta(): Promise<StreamMeta>;

  /**
   * Rows in the stream (ingesting first when it is a NamedVideoStream with a `path` that does not
   * exist yet); ERR_NOT_FOUND when the stream does not exist.
   *
   * @example
   * const rows = await video.len();
   */
  async len(): Promise<number> {
    return (await this.meta()).rows;
  }

  /**
   * True once the stream is committed (streams are never visible before). Never ingests.
   *
   * @example
   * if (!(await video.exists())) await video.ingest();
   */
  async exists(): Promise<boolean> {
    return (await (await this.sc.ready()).read(this.streamName)) !== undefined;
  }

  /**
   * Whether the stream is committed: the same as {@link exists}, since only committed streams are visible.
   *
   * @example
   * const done = await new vg.NamedStream(sc, 'example_hist').committed();
   */
  async committed(): Promise<boolean> {
    return this.exists();
  }

  /**
   * Deletes the stream (ERR_NOT_FOUND when it does not exist).
   *
   * @example
   * await new vg.NamedStream(sc, 'example_hist').delete();
   */
  async delete(sc: Client = this.sc): Promise<void> {
    await (await sc.ready()).delete(this.streamName);
  }

  /**
   * The stream's storage backend, which can delete many streams at once.
   *
   * @example
   * await hists.storage().delete(sc, [hists, video]);
   */
  storage(): StorageBackend {
    return new StorageBackend(this.sc.storageType);
  }

  /**
   * Rows, lazily, in the order asked (repeats allowed). Without `rows`: every row in order.
   * Frames load as {@link Frame}, other rows decoded by their column type, null rows as null.
   *
   * @example
   * for await (const frame of video.load({ rows: [0, 100, 100, 5] })) console.log(frame.width);
   */
  load(opts?: { rows?: number[] }): AsyncIterable<T> {
    const where = `${this.streamName}.load`;
    const o = plainObject(where, 'options', opts);
    knownKeys(where, o, ['rows']);
    if (o.rows !== undefined && !Array.isArray(o.rows)) {
      throw new BadArgumentError(`load: expected rows as an array of integers, got ${describe(o.rows)}`);
    }
    const asked = o.rows as number[] | undefined;
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        const meta = await self.meta();
        const n = meta.rows;
        asked?.forEach((r, i) => {
          if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= n) {
            throw new BadArgumentError(`load: expected rows[${i}] to be an integer between 0 and ${n - 1} (stream '${self.streamName}' has ${n} rows), got ${describe(r)}`);
          }
        });
        yield* self.loadRows(meta, asked ?? Array.from({ length: n }, (_, i) => i));
      },
    };
  }

  /**
   * @internal Rows in the order asked, however the stream is stored: element rows decoded by
   * their type, packets (an ingested video, an encoded frame output) through a decoder.
   */
  protected loadRows(meta: StreamMeta, rows: number[]): AsyncGenerator<T> {
    return meta.storage === 'elements' ? this.loadElements(meta, rows) : (this.loadPackets(rows) as AsyncGenerator<T>);
  }

  /** @internal Frames of a stream stored as packets, decoding a bounded chunk ahead. */
  private async *loadPackets(rows: number[]): AsyncGenerator<Frame<'uint8'>> {
    const source = await this.openSource();
    try {
      for await (const { frame } of framesInOrder(source, rows)) yield frame;
    } finally {
      await source.close();
    }
  }

  /** @internal Opens a decoder over a stream stored as packets (`gpu`: decode there, NVDEC). */
  async openSource(opts: { maxSize?: [number, number]; gpu?: number } = {}): Promise<VideoSource> {
    const meta = await this.meta();
    if (meta.storage === 'elements' || !meta.dataFile) throw new BadArgumentError(`stream '${this.name()}' holds raw rows, not packets`);
    const db = await this.sc.ready();
    if (path.isAbsolute(meta.dataFile) && meta.source) {
      const dataPath = meta.dataFile;
      const st = await fsp.stat(dataPath).catch(() => undefined);
      if (!st) throw new NotFoundError(`stream '${this.name()}' was ingested in place and its video '${dataPath}' is gone`);
      if (st.size !== meta.source.size || st.mtimeMs !== meta.source.mtimeMs) {
        throw new InvalidVideoError(`stream '${this.name()}' was ingested in place and '${dataPath}' has changed since; delete and ingest it again`);
      }
    }
    const packets = await db.packetData(this.name(), meta);
    try {
      const index = await this.storedIndex(meta, packets);
      // Streams ingested before rotation existed have no display matrix in their index: nothing to turn.
      const rotate = (meta.video as { rotate?: unknown } | undefined)?.rotate !== false;
      const label = `stream '${this.name()}'`;
      let prefetch: ((rows: ArrayLike<number>) => Promise<void>) | undefined;
      let widen: ((rows: ArrayLike<number>) => Promise<boolean>) | undefined;
      if (packets.remote) {
        const planner = new PacketPlanner(index, label, this.sc.threads, os.availableParallelism());
        prefetch = async (rows) => {
          await packets.ensure(planner.byteRanges(Array.from(rows)));
        };
        widen = (rows) => packets.ensure(planner.byteRanges(Array.from(rows), true));
      }
      return new VideoSource(index, packets.path, label, {
        threads: this.sc.threads, gpu: opts.gpu, maxSize: opts.maxSize, maxPixels: this.sc.maxPixels, rotate, skipNonReference: this.sc.skipNonReference,
        prefetch, widen, onClose: () => packets.close(),
      });
    } catch (err) {
      await packets.close();
      throw err;
    }
  }

  /**
   * @internal The stored packet index, checked against the metadata and the packet file: damage
   * (a truncated or edited index, a packet file shorter than the index says) is a CorruptError
   * naming the stream, before any decoder reads a byte.
   */
  protected async storedIndex(meta: StreamMeta, packets: PacketData): Promise<Uint8Array> {
    const corrupt = (what: string, cause?: unknown) => new CorruptError(`stream '${this.name()}': ${what}`, { cause });
    const db = await this.sc.ready();
    const index = await db.readStreamFile(this.name(), meta, INDEX_FILE).catch((err: NodeJS.ErrnoException) => {
      if (err instanceof VidgraphError && err.code !== 'ERR_NOT_FOUND') throw err;
      throw corrupt(`cannot read its packet index ${INDEX_FILE} (${err.code ?? err.message})`, err);
    });
    let info;
    try {
      info = native().indexInfo(index);
    } catch (err) {
      throw corrupt(`its packet index ${INDEX_FILE} is damaged (${(err as Error)?.message ?? String(err)})`, err);
    }
    if (info.frames !== meta.rows) throw corrupt(`its packet index has ${info.frames} rows but its metadata says ${meta.rows}`);
    if (!path.isAbsolute(meta.dataFile!)) {
      if (packets.size < 0) throw corrupt(`cannot read its packet file ${meta.dataFile} (ENOENT)`);
      if (packets.size < info.dataBytes) {
        throw corrupt(`its packet file ${meta.dataFile} has ${packets.size} bytes but its index points up to byte ${info.dataBytes} (was it truncated?)`);
      }
    }
    if (!info.classified) return this.upgradeIndex(meta, index, packets);
    return index;
  }

  /**
   * An index written before format 3 lacks the per-packet "nothing references it" flags: they
   * are found once from the stored packets and the index is written over (atomically: readers
   * see the old index or the new one), so later opens skip the pass. A database that cannot be
   * written keeps the old index, and each open classifies again.
   */
  private async upgradeIndex(meta: StreamMeta, index: Uint8Array, packets: PacketData): Promise<Uint8Array> {
    let upgraded: Uint8Array;
    try {
      await packets.ensureAll();
      upgraded = await native().classifyIndex(index, packets.path);
    } catch (err) {
      throw new CorruptError(`stream '${this.name()}': cannot read its packets to upgrade its index (${(err as Error)?.message ?? String(err)})`, { cause: err });
    }
    const db = await this.sc.ready();
    await db.rewriteStreamFile(this.name(), meta, INDEX_FILE, upgraded).catch(() => undefined);
    return upgraded;
  }

  /** @internal Rows of element storage, decoded by the stream's type. */
  protected async *loadElements(meta: StreamMeta, rows: number[]): AsyncGenerator<T> {
    const isFrame = meta.type === 'Frame';
    const type = isFrame ? undefined : typeNamed(meta.type ?? 'Bytes');
    if (!isFrame && !type) throw new NotFoundError(`stream '${this.streamName}' holds type '${meta.type}', which is not registered (vg.registerType)`);
    const files = await (await this.sc.ready()).elementFiles(this.streamName, meta);
    const reader = await ElementReader.open(files.dir, this.streamName, meta.rows).catch(async (err: unknown) => {
      await files.release();
      throw err;
    });
    try {
      for (const r of rows) {
        const v = await reader.read(r, isFrame);
        if (v === null || v instanceof Frame) {
          yield v as T;
          continue;
        }
        let value: unknown;
        try {
          value = type!.deserialize(v);
        } catch (err) {
          // Bytes that were read intact but do not decode as the stream's type: damaged rows.
          if (err instanceof VidgraphError) throw err;
          throw new CorruptError(`stream '${this.streamName}', row ${r}: the stored bytes are not a valid ${type!.name} (${(err as Error)?.message ?? String(err)})`, { cause: err });
        }
        yield value as T;
      }
    } finally {
      await reader.close();
      await files.release();
    }
  }
}
