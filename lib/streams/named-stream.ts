import type { Client } from '../client';
import { BadArgumentError, NotFoundError } from '../errors';
import { FrameType, TypeOf, typeNamed } from '../graph/types';
import type { StreamMeta } from '../storage/local-database';
import { describe, knownKeys, plainObject } from '../validate';
import { StoredStream } from './stored-stream';

/** Options of a NamedStream. */
export interface NamedStreamOptions<T> {
  /**
   * The type of the stream's rows (vg.Histogram, vg.Json, vg.FrameType, a registered type).
   * Reading a stream that holds another type is then ERR_BAD_ARGUMENT naming both, and
   * TypeScript knows the rows' type (`NamedStream<Int32Array[]>` for vg.Histogram).
   */
  type?: TypeOf<T>;
}

/**
 * A stored stream of non-video elements (histograms, JSON, bytes, ...) or frames. Any stored
 * stream loads through it, encoded frame outputs and ingested videos included (as through
 * NamedVideoStream); it never ingests. `NamedStream<T>` loads rows of type T: give T as a type
 * argument (`new vg.NamedStream<vg.Histogram>(sc, name)`) or, checked when read, as `{ type }`.
 *
 * @example
 * const hists = new vg.NamedStream(sc, 'example_hist', { type: vg.Histogram });
 * for await (const [r, g, b] of hists.load()) console.log(r[0], g[0], b[0]);
 */
export class NamedStream<T = unknown> extends StoredStream<T> {
  private readonly rowType?: string;

  /**
   * The stream `name` of the database `sc` (it need not exist yet: an output stream does not).
   * `opts.type` declares (and, when read, checks) the type of its rows.
   */
  constructor(sc: Client, name: string, opts?: NamedStreamOptions<T>) {
    super(sc, name, 'NamedStream');
    const o = plainObject('NamedStream', 'options', opts);
    knownKeys('NamedStream', o, ['type']);
    if (o.type !== undefined) {
      const t = o.type as { name?: unknown };
      if (o.type !== FrameType && !(typeof t?.name === 'string' && typeNamed(t.name) === o.type)) {
        throw new BadArgumentError(`NamedStream: expected type to be vg.FrameType or a registered column type (vg.Histogram, vg.Json, ... or vg.registerType), got ${describe(o.type)}`);
      }
      this.rowType = t.name as string;
    }
  }

  /** @internal */
  async meta(): Promise<StreamMeta> {
    const db = await this.sc.ready();
    const meta = await db.read(this.name());
    if (!meta) throw new NotFoundError(`stream '${this.name()}' does not exist in ${db.root}`);
    if (this.rowType !== undefined) {
      const stored = meta.type ?? (meta.storage !== 'elements' ? FrameType.name : undefined);
      if (stored !== this.rowType) throw new BadArgumentError(`stream '${this.name()}' holds ${stored ?? 'untyped'} rows, but it was opened as NamedStream with type ${this.rowType}`);
    }
    return meta;
  }
}
