import type { Client } from '../client';
import { NotFoundError } from '../errors';
import type { StreamMeta } from '../storage/local-database';
import { StoredStream } from './stored-stream';

/**
 * A stored stream of non-video elements (histograms, JSON, bytes, ...) or frames. Any stored
 * stream loads through it, encoded frame outputs and ingested videos included (as through
 * NamedVideoStream); it never ingests.
 *
 * @example
 * const hists = new vg.NamedStream(sc, 'example_hist');
 * for await (const [r, g, b] of hists.load()) console.log(r[0], g[0], b[0]);
 */
export class NamedStream<T = unknown> extends StoredStream<T> {
  /** The stream `name` of the database `sc` (it need not exist yet: an output stream does not). */
  constructor(sc: Client, name: string) {
    super(sc, name, 'NamedStream');
  }

  /** @internal */
  async meta(): Promise<StreamMeta> {
    const db = await this.sc.ready();
    const meta = await db.read(this.name());
    if (!meta) throw new NotFoundError(`stream '${this.name()}' does not exist in ${db.root}`);
    return meta;
  }
}
