import type { Client } from '../client';
import { BadArgumentError } from '../errors';

interface NamedLike {
  name(): string;
}

/** The local-disk storage backend: `storage().delete(sc, streams)` deletes many streams at once. */
export class PosixStorage {
  readonly type = 'posix' as const;

  async delete(sc: Client, streams: NamedLike[]): Promise<void> {
    if (!Array.isArray(streams)) throw new BadArgumentError('storage.delete: expected an array of streams');
    const db = await sc.ready();
    for (const s of streams) await db.delete(s.name());
  }
}
