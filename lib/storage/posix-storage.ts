import type { Client } from '../client';
import { BadArgumentError } from '../errors';

interface NamedLike {
  name(): string;
}

/** The local-disk storage backend: `storage().delete(sc, streams)` deletes many streams at once. */
export class PosixStorage {
  /** The backend's kind: always `'posix'` (local disk). */
  readonly type = 'posix' as const;

  /**
   * Deletes every stream in `streams` from the database of `sc`, one after the other
   * (ERR_NOT_FOUND at the first that does not exist).
   *
   * @example
   * const hists = new vg.NamedStream(sc, 'a_hist');
   * await hists.storage().delete(sc, [hists, new vg.NamedStream(sc, 'b_hist')]);
   */
  async delete(sc: Client, streams: NamedLike[]): Promise<void> {
    if (!Array.isArray(streams)) throw new BadArgumentError('storage.delete: expected an array of streams');
    const db = await sc.ready();
    for (const s of streams) await db.delete(s.name());
  }
}
