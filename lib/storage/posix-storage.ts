import type { Client } from '../client';
import { BadArgumentError } from '../errors';

interface NamedLike {
  name(): string;
}

/**
 * A stream's storage backend (`stream.storage()`): `'posix'` (local disk) or `'s3'`;
 * `storage().delete(sc, streams)` deletes many streams at once.
 */
export class StorageBackend {
  /** The backend's kind: `'posix'` (local disk) or `'s3'`. */
  readonly type: 'posix' | 's3';

  constructor(type: 'posix' | 's3' = 'posix') {
    this.type = type;
  }

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

/** The local-disk storage backend (the name this class had before the S3 backend). */
export class PosixStorage extends StorageBackend {
  constructor() {
    super('posix');
  }
}
