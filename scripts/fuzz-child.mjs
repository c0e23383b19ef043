// The fuzz suite's child driver (started by scripts/fuzz.mjs under a memory cap): takes one
// case at a time over IPC, exercises vidgraph on it and reports every step's outcome.
// A crash, a hang or a memory blow-up here is what the parent is looking for.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vg from 'vidgraph';
import { sampleRows, seededRandom } from '../test/helpers/util.mjs';

const MAX_FRAMES = 100_000; // an iterator that yields more than this is reported, not followed forever

function describeError(e) {
  return {
    vidgraph: e instanceof vg.VidgraphError,
    code: typeof e?.code === 'string' ? e.code : undefined,
    name: e?.name ?? typeof e,
    message: String(e?.message ?? e).slice(0, 400),
  };
}

function hashOf(value) {
  const h = createHash('sha1');
  const add = (v) => {
    if (v === null || v === undefined) h.update(String(v));
    else if (v instanceof vg.Frame) h.update(`F${v.height}x${v.width}x${v.channels}:${v.dtype}`).update(Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength));
    else if (ArrayBuffer.isView(v)) h.update(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    else if (Array.isArray(v)) { h.update('['); v.forEach(add); h.update(']'); }
    else h.update(JSON.stringify(v) ?? String(v));
  };
  add(value);
  return h.digest('hex').slice(0, 16);
}

async function step(steps, name, fn) {
  try {
    const value = await fn();
    steps.push({ step: name, ok: true, ...(value && typeof value === 'object' ? value : {}) });
    return true;
  } catch (e) {
    steps.push({ step: name, ok: false, error: describeError(e) });
    return false;
  }
}

async function loadAll(stream) {
  const hashes = [];
  for await (const v of stream.load()) {
    hashes.push(hashOf(v));
    if (hashes.length > MAX_FRAMES) throw new Error(`load() yielded more than ${MAX_FRAMES} rows`);
  }
  return { rows: hashes.length, hashes };
}

/** The stream at 10 seeded rows, one load per row so that each row's outcome is known. */
async function loadRows(steps, label, stream, rows) {
  for (const r of rows) {
    await step(steps, `${label} load row ${r}`, async () => {
      const got = [];
      for await (const v of stream.load({ rows: [r] })) got.push(hashOf(v));
      return { row: r, hash: got[0] };
    });
  }
}

/** One row read alone from `reader`: its pixels' hash, or the error code it failed with. */
async function rowOutcome(reader, row) {
  try {
    return hashOf((await reader.frame(row)).image);
  } catch (e) {
    return e instanceof vg.VidgraphError ? e.code : `${e?.name ?? typeof e}: ${String(e?.message ?? e).slice(0, 80)}`;
  }
}

const DETERMINISM_ROWS = 160; // every row of the seeds (36 frames) and of most damaged copies
// VIDGRAPH_FUZZ_THREADS=0 measures the frame-threaded default instead (see determinism()).
const DETERMINISM_THREADS = Number(process.env.VIDGRAPH_FUZZ_THREADS ?? 1);
const DETERMINISM_SKIP = process.env.VIDGRAPH_FUZZ_SKIP === '1';

/**
 * The rule for damaged input: a row is the same pixels however it is read, or ERR_DECODE every
 * time. Three reads: in order on one reader (sequential decoding, continuing between requests),
 * shuffled on a second reader, and each row alone on a fresh reader. With `threads: 1`: under
 * frame threads FFmpeg 5.1's H.264/HEVC decoders can hand out a picture before its own decode
 * has marked it damaged (README, "Damaged input"), so the rule is exact on one thread. With
 * `skipNonReference: false`: a damaged non-reference frame can change later frames without a
 * word from the decoder, so reads that leave such frames out may differ (README, ibid.).
 * VIDGRAPH_FUZZ_SKIP=1 measures reads that skip them.
 */
async function determinism(file, n, rowSeed) {
  const rows = Array.from({ length: Math.min(n, DETERMINISM_ROWS) }, (_, i) => i);
  const inOrder = new Map();
  const shuffled = new Map();
  const alone = new Map();
  let reader = await vg.VideoReader.open(file, { cacheBytes: 0, threads: DETERMINISM_THREADS || undefined, skipNonReference: DETERMINISM_SKIP });
  try { for (const r of rows) inOrder.set(r, await rowOutcome(reader, r)); } finally { await reader.close(); }
  const order = [...rows];
  const rand = seededRandom(rowSeed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  reader = await vg.VideoReader.open(file, { cacheBytes: 0, threads: DETERMINISM_THREADS || undefined, skipNonReference: DETERMINISM_SKIP });
  try { for (const r of order) shuffled.set(r, await rowOutcome(reader, r)); } finally { await reader.close(); }
  for (const r of rows) {
    reader = await vg.VideoReader.open(file, { cacheBytes: 0, threads: DETERMINISM_THREADS || undefined, skipNonReference: DETERMINISM_SKIP });
    try { alone.set(r, await rowOutcome(reader, r)); } finally { await reader.close(); }
  }
  const differing = [];
  for (const r of rows) {
    const got = [inOrder.get(r), shuffled.get(r), alone.get(r)];
    if (new Set(got).size > 1) differing.push({ row: r, inOrder: got[0], shuffled: got[1], alone: got[2] });
  }
  const failed = rows.filter((r) => inOrder.get(r) === 'ERR_DECODE').length;
  return { rows: rows.length, failed, differing };
}

async function videoCase(c) {
  const steps = [];
  let reader;
  if (await step(steps, 'VideoReader.open', async () => { reader = await vg.VideoReader.open(c.file); return { frames: reader.frameCount, size: [reader.width, reader.height] }; })) {
    await step(steps, 'iterFrames', async () => {
      let n = 0;
      for await (const f of reader.iterFrames()) { void f; if (++n > MAX_FRAMES) throw new Error(`iterFrames yielded more than ${MAX_FRAMES} frames`); }
      return { frames: n };
    });
    const n = reader.frameCount;
    if (Number.isInteger(n) && n > 0) {
      const rows = sampleRows(n, 8, c.rowSeed); // 8 random + first + last = 10 rows
      await step(steps, 'frames(10 rows)', async () => ({ got: (await reader.frames(rows)).length }));
    }
    await step(steps, 'close', () => reader.close());
    if (Number.isInteger(n) && n > 0) await step(steps, 'determinism', () => determinism(c.file, n, c.rowSeed));
  }
  const db = fs.mkdtempSync(path.join(c.tmp ?? os.tmpdir(), 'db-'));
  try {
    const sc = new vg.Client({ db, logLevel: 'silent' });
    const s = new vg.NamedVideoStream(sc, 'v', { path: c.file });
    if (await step(steps, 'ingest', () => s.ingest())) {
      let n = 0;
      await step(steps, 'len', async () => { n = await s.len(); return { rows: n }; });
      await step(steps, 'load all', async () => ({ rows: (await loadAll(s)).rows }));
      if (Number.isInteger(n) && n > 0) await loadRows(steps, 'video', s, sampleRows(n, 8, c.rowSeed));
    }
    await step(steps, 'Client.close', () => sc.close());
  } finally {
    fs.rmSync(db, { recursive: true, force: true });
  }
  return steps;
}

async function dbCase(c) {
  const steps = [];
  const sc = new vg.Client({ db: c.db, logLevel: 'silent' });
  const streams = [
    ['v', new vg.NamedVideoStream(sc, 'v')],
    ['h', new vg.NamedStream(sc, 'h')],
    ['f', new vg.NamedStream(sc, 'f')],
    ['e', new vg.NamedVideoStream(sc, 'e')], // frames the engine encoded: read back as a video
  ];
  await step(steps, 'listStreams', async () => ({ streams: (await sc.listStreams()).length }));
  await step(steps, 'v metadata', async () => ({ meta: await streams[0][1].metadata() }));
  for (const [label, s] of streams) {
    let n = 0;
    await step(steps, `${label} len`, async () => { n = await s.len(); return { rows: n }; });
    await step(steps, `${label} load all`, async () => ({ label, ...(await loadAll(s)) }));
    if (Number.isInteger(n) && n > 0 && n <= 1e7) await loadRows(steps, label, s, sampleRows(n, 8, c.rowSeed));
  }
  await step(steps, 'run Histogram over v', async () => {
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v')]);
    const out = new vg.NamedStream(sc, `h2-${process.pid}`);
    const r = await sc.run(sc.io.Output(sc.ops.Histogram({ frame: frames }), [out]), vg.PerfParams.manual(8, 8), { showProgress: false, cacheMode: vg.CacheMode.Overwrite });
    return { failedJobs: r.stats?.failedJobs };
  });
  await step(steps, 'Client.close', () => sc.close());
  return steps;
}

/** Misbehaviour on purpose, so that the harness's own test can see each outcome classified. */
async function probe(c) {
  const steps = [];
  if (c.probe === 'segv') process.kill(process.pid, 'SIGSEGV');
  if (c.probe === 'abort') process.abort();
  if (c.probe === 'hang') await new Promise(() => {});
  if (c.probe === 'alloc') {
    const held = (globalThis.fuzzProbeHeld = []); // kept until the parent has seen the peak
    await step(steps, 'alloc', async () => {
      for (;;) {
        held.push(Buffer.alloc(32 << 20, 1));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
  }
  if (c.probe === 'throw') await step(steps, 'throw', () => { throw new TypeError('not a VidgraphError'); });
  return steps;
}

process.on('message', async (c) => {
  if (c?.type !== 'case') return;
  const steps = c.kind === 'db' ? await dbCase(c) : c.kind === 'probe' ? await probe(c) : await videoCase(c);
  process.send({ type: 'result', id: c.id, steps });
});
process.send({ type: 'ready' });
