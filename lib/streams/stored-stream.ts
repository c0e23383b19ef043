import type { Client } from '../client';
import { BadArgumentError, CorruptError, NotFoundError, VidgraphError } from '../errors';
import { Frame } from '../frame';
import { typeNamed } from '../graph/types';
import { ElementReader } from '../storage/element-file';
import type { StreamMeta } from '../storage/local-database';
import { PosixStorage } from '../storage/posix-storage';
import { describe, knownKeys, nonEmptyString, plainObject } from '../validate';

/** What every stored stream can do: name, size, existence, loading, deletion. */
export abstract class StoredStream<T> {
  /** @internal */ readonly sc: Client;
  private readonly streamName: string;

  constructor(sc: Client, name: string, where: string) {
    nonEmptyString(where, 'name', name);
    if (name.length > 200) throw new BadArgumentError(`${where}: expected a name of at most 200 characters, got ${name.length}`);
    this.sc = sc;
    this.streamName = name;
  }

  name(): string {
    return this.streamName;
  }

  /** @internal The committed stream's metadata (ingesting first where the stream knows how). */
  abstract meta(): Promise<StreamMeta>;

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

  /** Deletes the stream (ERR_NOT_FOUND when it does not exist). */
  async delete(sc: Client = this.sc): Promise<void> {
    await (await sc.ready()).delete(this.streamName);
  }

  storage(): PosixStorage {
    return new PosixStorage();
  }

  /** Rows, lazily, in the order asked (repeats allowed). Without `rows`: every row in order. */
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

  /** @internal */
  protected abstract loadRows(meta: StreamMeta, rows: number[]): AsyncGenerator<T>;

  /** @internal Rows of element storage, decoded by the stream's type. */
  protected async *loadElements(meta: StreamMeta, rows: number[]): AsyncGenerator<T> {
    const dir = (await this.sc.ready()).streamDir(this.streamName);
    const isFrame = meta.type === 'Frame';
    const type = isFrame ? undefined : typeNamed(meta.type ?? 'Bytes');
    if (!isFrame && !type) throw new NotFoundError(`stream '${this.streamName}' holds type '${meta.type}', which is not registered (vg.registerType)`);
    const reader = await ElementReader.open(dir, this.streamName, meta.rows);
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
    }
  }
}
