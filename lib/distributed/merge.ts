/**
 * A distributed run splits a job into tasks of output rows (lib/distributed/cluster-run.ts);
 * each task stages one part per output. mergeParts joins one output's parts, in row order, into
 * the stream one machine writes:
 * - element parts (rows.bin, rows.idx): the row bytes appended, the row table's offsets shifted;
 * - encoded parts (packets.bin, index.vgix): every part but the last is a whole number of
 *   keyframe intervals, and the encoder starts every interval afresh (cpp/video/encoder.cpp),
 *   so the native concatEncoded appends the packets with their index shifted, and the result
 *   equals one encoder's output over all the rows, byte for byte.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CorruptError, fromNative } from '../errors';
import { native } from '../native';
import type { Database, LocalFiles } from '../storage/database';
import type { StreamMeta } from '../storage/local-database';
import type { StagedPart } from './queue';

const DATA = 'rows.bin';
const TABLE = 'rows.idx';

/** Joins `parts` (one output's, in row order) into `outDir`; returns the joined stream's metadata. */
export async function mergeParts(db: Database, parts: StagedPart[], outDir: string): Promise<StreamMeta> {
  if (parts.length === 0) throw new CorruptError('merge: no parts');
  const name = parts[0]!.meta.name;
  const encoded = parts.some((p) => p.meta.storage === 'packets');
  // An encoded stream's tasks past its last row stage empty element parts: nothing to join.
  const used = encoded ? parts.filter((p) => p.meta.storage === 'packets') : parts;
  const stray = parts.findIndex((p) => p.meta.storage !== 'packets' && p.meta.rows > 0);
  if (encoded && stray >= 0) throw new CorruptError(`stream '${name}': task ${stray} stored ${parts[stray]!.meta.rows} rows unencoded where the other tasks encoded theirs`);
  const local: LocalFiles[] = [];
  try {
    for (const p of used) local.push(await db.fetchHandedOver(p.handed, p.meta));
    if (encoded) {
      const inputs: { index: Uint8Array; data: string }[] = [];
      for (let k = 0; k < used.length; k++) {
        const index = await fsp.readFile(path.join(local[k]!.dir, 'index.vgix')).catch((err: unknown) => {
          throw new CorruptError(`stream '${name}': part ${k} has no readable index.vgix (${(err as Error)?.message ?? String(err)})`, { cause: err });
        });
        inputs.push({ index, data: path.join(local[k]!.dir, 'packets.bin') });
      }
      const joined = await native().concatEncoded(inputs, path.join(outDir, 'packets.bin')).catch((err: unknown) => {
        throw fromNative(err, `stream '${name}'`);
      });
      await fsp.writeFile(path.join(outDir, 'index.vgix'), joined.index);
      return { ...used[0]!.meta, rows: joined.info.frames, createdAt: new Date().toISOString(), video: { ...joined.info } };
    }
    return await joinElements(name, parts, local, outDir);
  } finally {
    for (const f of local) await f.release().catch(() => undefined);
  }
}

async function joinElements(name: string, parts: StagedPart[], local: LocalFiles[], outDir: string): Promise<StreamMeta> {
  const out = createWriteStream(path.join(outDir, DATA));
  const table: number[] = [];
  let offset = 0;
  let rows = 0;
  try {
    for (let k = 0; k < parts.length; k++) {
      const dir = local[k]!.dir;
      const raw = await fsp.readFile(path.join(dir, TABLE));
      if (raw.byteLength % 16 !== 0) throw new CorruptError(`stream '${name}': part ${k}'s row table has ${raw.byteLength} bytes, not a whole number of rows`);
      const entries = new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
      if (entries.length / 2 !== parts[k]!.meta.rows) throw new CorruptError(`stream '${name}': part ${k} has ${entries.length / 2} rows in its table, its metadata says ${parts[k]!.meta.rows}`);
      for (let i = 0; i < entries.length; i += 2) table.push(entries[i]! + offset, entries[i + 1]!);
      const size = (await fsp.stat(path.join(dir, DATA))).size;
      await pipeline(createReadStream(path.join(dir, DATA)), out, { end: false });
      offset += size;
      rows += entries.length / 2;
    }
  } finally {
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  const data = await fsp.open(path.join(outDir, DATA), 'r+');
  await data.sync();
  await data.close();
  const t = await fsp.open(path.join(outDir, TABLE), 'w');
  await t.writeFile(Buffer.from(new Float64Array(table).buffer));
  await t.sync();
  await t.close();
  // The metadata one machine writes: the first part's, with the row counts of the whole.
  const base = parts.find((p) => p.meta.video) ?? parts[0]!;
  const meta: StreamMeta = { ...base.meta, rows, createdAt: new Date().toISOString() };
  if (base.meta.video) {
    const fps = Number((base.meta.video as { fps?: number }).fps ?? 0);
    meta.video = { ...base.meta.video, frames: rows, durationSec: fps > 0 ? rows / fps : 0, keyframes: rows };
  }
  return meta;
}
