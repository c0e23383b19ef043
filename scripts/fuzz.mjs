#!/usr/bin/env node
// The fuzz suite: seeded, deterministic damage to small videos and to database files, each
// case opened, read fully and read at 10 random rows in a child process under a memory and a
// time cap. A case fails when its child crashes, hangs, exceeds the memory cap, throws anything
// but a VidgraphError with a documented code, or (damaged element streams) returns rows that
// are not the stored bytes without an error.
//
//   npm run fuzz -- [--count N] [--db-count N] [--seed S] [--jobs J] [--timeout SEC] [--mem-cap MiB]
//   npm run fuzz -- --replay v1-17        (a case by name; or a file under test/.cache/fuzz-failures/)
//
// Memory cap: each child runs under `prlimit --data` (RLIMIT_DATA: the kernel refuses private
// writable mappings beyond it, so an allocation fails instead of the machine swapping; unlike
// `--as` it does not count V8's address-space reservations), and the parent polls the child's
// /proc/<pid>/status: a case whose resident peak (VmHWM, reset per case through clear_refs) or
// data size (VmData) reaches 90% of the cap, or whose child dies reporting an allocation
// failure, is a memory-cap hit. Time cap: a case not answered in --timeout seconds is a hang
// (the child is killed). Crash: the child exits or is signalled without answering.
// Seed videos are made by the ffmpeg CLI into test/.cache/fuzz/ (git-ignored); failing inputs
// are kept under test/.cache/fuzz-failures/.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { seededRandom } from '../test/helpers/util.mjs';
import * as m from './fuzz-mutate.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHILD = path.join(REPO, 'scripts', 'fuzz-child.mjs');
const CACHE = path.join(REPO, 'test', '.cache');
export const SEED_DIR = path.join(CACHE, 'fuzz');
export const FAILURE_DIR = path.join(CACHE, 'fuzz-failures');

/**
 * The error codes a damaged input may produce: every code documented in API.md "Errors" and
 * README "Errors". Anything else (ERR_INTERNAL, a TypeError, a RangeError...) is a failure.
 */
export const DOCUMENTED_CODES = [
  'ERR_NOT_FOUND', 'ERR_EXISTS', 'ERR_BAD_ARGUMENT', 'ERR_INVALID_VIDEO', 'ERR_DECODE',
  'ERR_UNSUPPORTED_CODEC', 'ERR_PLUGIN', 'ERR_ABORTED', 'ERR_NO_GPU', 'ERR_NATIVE_LOAD',
  'ERR_CLOSED', 'ERR_CORRUPT', 'ERR_RESOURCE', 'ERR_TIMEOUT',
];

// ---------------------------------------------------------------------------
// seed videos: 4 codecs in 5 containers, 128x96, 1.5 s at 24 fps (36 frames), GOP 12

const execFileP = promisify(execFile);
const SRC = ['-f', 'lavfi', '-i', 'testsrc2=size=128x96:rate=24:duration=1.5'];
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '12', '-threads', '1'];
export const SEEDS = [
  { name: 'h264.mp4', args: [...X264], targeted: [m.mp4TkhdDims, m.mp4SampleEntryDims, m.mp4AvcCSps, m.mp4AvcCSps] },
  { name: 'hevc.mkv', args: ['-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-x265-params', 'log-level=error:pools=none:frame-threads=1:keyint=12'], targeted: [m.mkvPixelDims] },
  { name: 'vp9.webm', args: ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '12', '-threads', '1'], targeted: [m.vp9FrameDims, m.mkvPixelDims] },
  { name: 'mpeg4.avi', args: ['-c:v', 'mpeg4', '-q:v', '5', '-g', '12'], targeted: [m.aviDims] },
  { name: 'h264.ts', args: [...X264, '-f', 'mpegts'], targeted: [] },
  { name: 'h264.h264', args: [...X264, '-f', 'h264'], targeted: [m.annexBSps] },
  { name: 'mjpeg.mov', args: ['-c:v', 'mjpeg', '-q:v', '5', '-pix_fmt', 'yuvj420p'], targeted: [m.jpegSofDims, m.mp4TkhdDims, m.mp4SampleEntryDims] },
];

/** Makes the seed videos once (cached); returns name → path. */
export async function makeSeeds() {
  fs.mkdirSync(SEED_DIR, { recursive: true });
  const out = {};
  for (const s of SEEDS) {
    const file = path.join(SEED_DIR, s.name);
    if (!fs.existsSync(file)) {
      const tmp = path.join(SEED_DIR, `.tmp-${process.pid}-${s.name}`);
      await execFileP('ffmpeg', ['-y', '-v', 'error', '-nostdin', ...SRC, ...s.args, '-fflags', '+bitexact', tmp]);
      fs.renameSync(tmp, file);
    }
    out[s.name] = file;
  }
  return out;
}

// ---------------------------------------------------------------------------
// cases

const GENERIC = [
  ['bit flips', 20, m.bitFlips],
  ['header bit flips', 20, m.headerFlips],
  ['truncation', 14, m.truncate],
  ['zeroed range', 12, m.zeroRange],
  ['swapped ranges', 10, m.swapRanges],
  ['duplicated range', 8, m.duplicateRange],
];
const ABSURD_WEIGHT = 16;

function caseRandom(seed, kind, i) {
  return seededRandom((Math.imul(seed, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b) ^ (kind === 'd' ? 0x5bd1e995 : 0)) >>> 0);
}

function weighted(rand, entries) {
  let x = rand() * entries.reduce((n, e) => n + e[1], 0);
  for (const e of entries) if ((x -= e[1]) < 0) return e;
  return entries.at(-1);
}

/** Case i of a seeded run over videos: which seed, which damage, the damaged bytes. */
export function videoCase(seed, i, seeds) {
  const rand = caseRandom(seed, 'v', i);
  const s = SEEDS[i % SEEDS.length];
  const bytes = fs.readFileSync(seeds[s.name]);
  const targeted = s.targeted.length > 0 ? [['absurd dimensions', ABSURD_WEIGHT, null]] : [];
  let [kind, , fn] = weighted(rand, [...GENERIC, ...targeted]);
  let result;
  if (kind === 'absurd dimensions') {
    const f = s.targeted[Math.floor(rand() * s.targeted.length)];
    result = f(bytes, rand);
    if (!result) [kind, result] = ['header bit flips', m.headerFlips(bytes, rand)];
  } else {
    result = fn(bytes, rand);
  }
  return { id: `v${seed}-${i}`, kind: 'video', source: s.name, mutation: kind, what: result.what, bytes: result.buf, rowSeed: seed * 1000 + i };
}

const DB_FILES = ['v/meta.json', 'v/index.vgix', 'v/packets.bin', 'h/meta.json', 'h/rows.bin', 'h/rows.idx', 'f/meta.json', 'f/rows.bin', 'f/rows.idx', 'e/index.vgix'];
const DB_GENERIC = GENERIC.filter(([kind]) => kind !== 'header bit flips');

/** Case j of a seeded run over database files: which file of the pristine database, which damage. */
export function dbCase(seed, j, pristine) {
  const rand = caseRandom(seed, 'd', j);
  const rel = DB_FILES[j % DB_FILES.length];
  const [stream, file] = rel.split('/');
  const target = path.join(pristine.streams[stream], file);
  const bytes = fs.readFileSync(target);
  let result;
  let mutation;
  if (rand() < 0.5 && (file === 'meta.json' || file === 'rows.idx' || rel === 'f/rows.bin')) {
    mutation = 'absurd field';
    if (file === 'meta.json') result = m.metaField(bytes, rand);
    else if (file === 'rows.idx') result = m.rowTableEntry(bytes, rand);
    else result = m.frameHeader(bytes, rand, fs.readFileSync(path.join(pristine.streams.f, 'rows.idx')));
  }
  if (!result) {
    const [kind, , fn] = weighted(rand, DB_GENERIC);
    mutation = kind;
    result = fn(bytes, rand);
  }
  return { id: `d${seed}-${j}`, kind: 'db', source: rel, mutation, what: result.what, bytes: result.buf, rowSeed: seed * 1000 + j };
}

/**
 * The pristine database the db cases damage: 'v' (the H.264/MP4 seed ingested, packets copied),
 * 'h' (its Histogram rows) and 'f' (6 frames resized to 32x24, lossless) as element streams, and
 * 'e' (12 frames resized to 48x32, encoded by the engine: an index and packets).
 */
export async function makePristineDb(dir, seeds) {
  const vg = await import('vidgraph');
  const sc = new vg.Client({ db: dir, logLevel: 'silent' });
  try {
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: seeds['h264.mp4'] })]);
    await sc.run([
      sc.io.Output(sc.ops.Histogram({ frame: frames }), [new vg.NamedStream(sc, 'h')]),
      sc.io.Output(sc.ops.Resize({ frame: sc.streams.Range(frames, [[0, 6]]), width: 32, height: 24 }).lossless(), [new vg.NamedStream(sc, 'f')]),
      sc.io.Output(sc.ops.Resize({ frame: sc.streams.Range(frames, [[6, 18]]), width: 48, height: 32 }), [new vg.NamedStream(sc, 'e')]),
    ], vg.PerfParams.manual(12, 12), { showProgress: false });
  } finally {
    await sc.close();
  }
  const streams = {};
  for (const entry of fs.readdirSync(path.join(dir, 'streams'))) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'streams', entry, 'meta.json'), 'utf8'));
    streams[meta.name] = path.join(dir, 'streams', entry);
  }
  for (const name of ['v', 'h', 'f', 'e']) if (!streams[name]) throw new Error(`fuzz: the pristine database has no stream '${name}'`);
  return { dir, streams };
}

/** Writes a case's input under `dir`: the damaged file, or a copy of the pristine database with one file damaged. */
function materialize(c, dir, pristine) {
  if (c.kind === 'video') {
    const file = path.join(dir, `${c.id}${path.extname(c.source)}`);
    fs.writeFileSync(file, c.bytes);
    return { file, cleanup: () => fs.rmSync(file, { force: true }) };
  }
  const db = path.join(dir, c.id);
  fs.cpSync(pristine.dir, db, { recursive: true });
  if (c.bytes) {
    const [stream, file] = c.source.split('/');
    fs.writeFileSync(path.join(db, path.relative(pristine.dir, pristine.streams[stream]), file), c.bytes);
  }
  return { db, cleanup: () => fs.rmSync(db, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------
// children

const hasPrlimit = (() => {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir && fs.existsSync(path.join(dir, 'prlimit'))) return true;
  return false;
})();

function procStatus(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { hwm: kib('VmHWM'), rss: kib('VmRSS'), data: kib('VmData') };
  } catch {
    return undefined;
  }
}

const OOM_TEXT = /out of memory|bad_alloc|Cannot allocate memory|allocation failed|heap limit/i;

/** One child process; runs one case at a time. */
class Child {
  constructor(opts) {
    this.opts = opts;
    const capBytes = opts.memCapMiB * 1024 * 1024;
    const node = [process.execPath, `--max-old-space-size=${Math.max(256, Math.floor(opts.memCapMiB / 2))}`, CHILD];
    const [cmd, args] = hasPrlimit ? ['prlimit', [`--data=${capBytes}`, '--', ...node]] : [node[0], node.slice(1)];
    this.proc = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, SVT_LOG: '1' } });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => { this.exit = { code, signal }; resolve(this.exit); }));
    this.ready = new Promise((resolve) => {
      const onMessage = (msg) => { if (msg?.type === 'ready') { this.proc.off('message', onMessage); resolve(true); } };
      this.proc.on('message', onMessage);
      this.exited.then(() => resolve(false));
    });
  }

  /** Runs a case: { report } or { died: { code, signal }, killed?: 'time'|'memory' }, with the case's peak memory. */
  async run(msg) {
    if (!(await this.ready) || this.exit) return { died: this.exit ?? { code: null, signal: null }, stderr: this.stderr, startup: true };
    const pid = this.proc.pid;
    try { fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); } catch { /* peak then spans the child's life */ }
    this.stderr = '';
    const cap = this.opts.memCapMiB * 1024 * 0.9; // KiB
    let peak = { hwm: 0, data: 0 };
    let killed;
    const sample = () => {
      const st = procStatus(pid);
      if (!st) return;
      peak = { hwm: Math.max(peak.hwm, st.hwm, st.rss), data: Math.max(peak.data, st.data) };
      if (!killed && (peak.hwm >= cap || peak.data >= cap)) { killed = 'memory'; this.proc.kill('SIGKILL'); }
    };
    const poll = setInterval(sample, 50);
    const timer = setTimeout(() => { if (!killed) { killed = 'time'; this.proc.kill('SIGKILL'); } }, this.opts.timeoutSec * 1000);
    try {
      const report = await new Promise((resolve) => {
        const onMessage = (r) => { if (r?.type === 'result' && r.id === msg.id) { this.proc.off('message', onMessage); resolve(r); } };
        this.proc.on('message', onMessage);
        this.exited.then(() => resolve(undefined));
        this.proc.send(msg);
      });
      sample();
      const memMiB = { peakRss: Math.round(peak.hwm / 1024), peakData: Math.round(peak.data / 1024) };
      if (report && !killed) return { report, memMiB };
      await this.exited;
      return { died: this.exit, killed, memMiB, stderr: this.stderr };
    } finally {
      clearInterval(poll);
      clearTimeout(timer);
    }
  }

  async close() {
    if (!this.exit) { this.proc.kill('SIGKILL'); await this.exited; }
  }
}

/** A case's outcome: 'ok' | 'crash' | 'hang' | 'memory' | 'undocumented' | 'nondeterministic' | 'silent', with details. */
export function classify(c, run, baseline) {
  const base = { id: c.id, source: c.source, mutation: c.mutation, what: c.what, memMiB: run.memMiB };
  if (!run.report) {
    if (run.killed === 'time') return { ...base, outcome: 'hang', detail: `no answer in the time cap (child killed)` };
    const exit = run.died?.signal ? `signal ${run.died.signal}` : `exit code ${run.died?.code}`;
    if (run.killed === 'memory' || OOM_TEXT.test(run.stderr ?? '')) return { ...base, outcome: 'memory', detail: `memory cap reached (${exit}; peak RSS ${run.memMiB?.peakRss} MiB, data ${run.memMiB?.peakData} MiB)`, stderr: run.stderr };
    return { ...base, outcome: 'crash', detail: `child died without answering: ${exit}`, stderr: run.stderr };
  }
  const steps = run.report.steps;
  const bad = steps.filter((s) => !s.ok && !(s.error.vidgraph && DOCUMENTED_CODES.includes(s.error.code)));
  if (bad.length) {
    const kinds = [...new Set(bad.map((s) => `${s.error.vidgraph ? 'VidgraphError' : s.error.name} ${s.error.code ?? ''} ${s.error.message}`))];
    const detail = `${bad.length} step(s) (${bad.slice(0, 4).map((s) => s.step).join(', ')}${bad.length > 4 ? ', ...' : ''}) threw ${kinds.slice(0, 3).join(' | ')}${kinds.length > 3 ? ` and ${kinds.length - 3} more` : ''}`;
    return { ...base, outcome: 'undocumented', detail, steps };
  }
  const split = steps.find((s) => s.step === 'determinism' && s.ok && s.differing.length > 0);
  if (split) {
    const shown = split.differing.slice(0, 3).map((d) => `row ${d.row}: in order ${d.inOrder}, shuffled ${d.shuffled}, alone ${d.alone}`);
    return { ...base, outcome: 'nondeterministic', detail: `${split.differing.length} of ${split.rows} rows differ by how they are read (${shown.join('; ')})`, steps };
  }
  const silent = baseline && silentRows(c, steps, baseline);
  if (silent?.length) return { ...base, outcome: 'silent', detail: `rows of the damaged ${c.source} loaded without an error but not as stored: ${silent.join('; ')}`, steps };
  const errors = [...new Set(steps.filter((s) => !s.ok).map((s) => s.error.code))];
  return { ...base, outcome: 'ok', rejected: errors, steps };
}

/**
 * Element-stream damage the reader can always detect (the stored bytes are gone, or a row-table
 * entry or frame header is impossible): a row that loads without an error must be the stored row.
 * A truncated rows.bin must also not yield every row; a truncated rows.idx may yield fewer rows.
 * (Bit flips inside rows.bin are not detectable without checksums, so they are not judged.)
 */
function silentRows(c, steps, baseline) {
  if (c.kind !== 'db') return [];
  const [label, file] = c.source.split('/');
  const judged = (c.mutation === 'truncation' && (file === 'rows.bin' || file === 'rows.idx')) ||
    (c.mutation === 'absurd field' && (file === 'rows.idx' || file === 'rows.bin'));
  if (!judged) return [];
  const want = baseline.steps.find((s) => s.step === `${label} load all`)?.hashes ?? [];
  const out = [];
  for (const s of steps) {
    if (!s.ok) continue;
    if (s.step === `${label} load all`) {
      const wrong = s.hashes.filter((h, k) => h !== want[k]).length;
      const lengthWrong = file === 'rows.bin' ? s.hashes.length !== want.length : s.hashes.length > want.length;
      if (wrong || lengthWrong) out.push(`load() gave ${s.hashes.length} of ${want.length} rows, ${wrong} not as stored`);
    }
    if (s.step.startsWith(`${label} load row `) && s.hash !== want[s.row]) out.push(`row ${s.row}`);
  }
  return [...new Set(out)];
}

// ---------------------------------------------------------------------------
// a run

/**
 * Runs `count` video cases and `dbCount` database cases from `seed` (or the named `only` cases)
 * in `jobs` children. Returns { results, failures, counts }.
 */
export async function runFuzz({ count = 200, dbCount = Math.ceil(count / 4), seed = 1, jobs = 2, timeoutSec = 60, memCapMiB = 2048, only, keepFailures = true, log = () => {} } = {}) {
  const seeds = await makeSeeds();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vidgraph-fuzz-'));
  try {
    const pristine = await makePristineDb(path.join(work, 'pristine'), seeds);
    const makeCase = (id) => {
      const match = /^([vd])(\d+)-(\d+)$/.exec(id);
      if (!match) throw new Error(`fuzz: not a case name: ${id} (expected v<seed>-<i> or d<seed>-<j>)`);
      return match[1] === 'v' ? videoCase(Number(match[2]), Number(match[3]), seeds) : dbCase(Number(match[2]), Number(match[3]), pristine);
    };
    const ids = only ?? [...Array.from({ length: count }, (_, i) => `v${seed}-${i}`), ...Array.from({ length: dbCount }, (_, j) => `d${seed}-${j}`)];
    // Baselines: every seed and the pristine database must read cleanly, or the harness is wrong.
    const baselines = [
      ...SEEDS.map((s) => ({ id: `seed:${s.name}`, kind: 'video', source: s.name, mutation: 'none', what: 'the seed as made', file: seeds[s.name], rowSeed: 1 })),
      { id: 'db:pristine', kind: 'db', source: 'pristine database', mutation: 'none', what: 'the database as written', rowSeed: 1 },
    ];
    const opts = { timeoutSec, memCapMiB };
    const results = [];
    let baselineDb;
    const runOne = async (child, c) => {
      const input = c.file ? { file: c.file, cleanup: () => {} } : materialize(c, work, pristine);
      const msg = { type: 'case', id: c.id, kind: c.kind, file: input.file, db: input.db, rowSeed: c.rowSeed, tmp: work };
      const run = await child.run(msg);
      const r = classify(c, run, baselineDb);
      if (c.mutation === 'none' && r.outcome === 'ok' && r.rejected.length) Object.assign(r, { outcome: 'baseline', detail: `the undamaged input failed: ${r.rejected.join(', ')}` });
      if (r.outcome !== 'ok' && keepFailures && c.bytes) r.saved = saveFailure(c, input);
      input.cleanup();
      return r;
    };
    let baseChild = new Child(opts);
    try {
      for (const c of baselines) {
        if (baseChild.exit) baseChild = new Child(opts);
        const r = await runOne(baseChild, c);
        if (c.id === 'db:pristine') baselineDb = { steps: r.steps };
        results.push(r);
        log(r);
      }
    } finally {
      await baseChild.close();
    }
    await inChildren(ids, jobs, opts, async (child, id) => {
      const r = await runOne(child, makeCase(id));
      results.push(r);
      log(r);
    });
    const counts = {};
    for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    return { results, failures: results.filter((r) => r.outcome !== 'ok'), counts };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Feeds `items` to `jobs` children, one at a time each; a child that died on its last item is
 * replaced before the next, so a crash costs only the case it happened on.
 */
async function inChildren(items, jobs, opts, each) {
  const queue = [...items];
  const worker = async () => {
    let child = new Child(opts);
    try {
      while (queue.length) {
        if (child.exit) child = new Child(opts);
        await each(child, queue.shift());
      }
    } finally {
      await child.close();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}

/**
 * Self-test of the harness: probes the child misbehaves on purpose ('ok', 'segv', 'abort', 'hang',
 * 'alloc' (grows until the cap), 'throw' (a TypeError)), classified like cases, in order.
 */
export async function runProbes(probes, { jobs = 1, timeoutSec = 5, memCapMiB = 512 } = {}) {
  const results = new Map();
  await inChildren(probes.map((p, k) => [p, k]), jobs, { timeoutSec, memCapMiB }, async (child, [probe, k]) => {
    const c = { id: `probe-${k}-${probe}`, kind: 'probe', source: 'probe', mutation: probe, what: probe };
    results.set(k, classify(c, await child.run({ type: 'case', id: c.id, kind: 'probe', probe })));
  });
  return probes.map((_, k) => results.get(k));
}

function saveFailure(c, input) {
  fs.mkdirSync(FAILURE_DIR, { recursive: true });
  const to = path.join(FAILURE_DIR, c.kind === 'video' ? `${c.id}${path.extname(c.source)}` : c.id);
  fs.rmSync(to, { recursive: true, force: true });
  if (c.kind === 'video') fs.copyFileSync(input.file, to);
  else fs.cpSync(input.db, to, { recursive: true });
  return path.relative(REPO, to);
}

/** Runs one saved input (a video file or a database directory) as a case, as given. */
export async function replayPath(p, { timeoutSec = 60, memCapMiB = 2048 } = {}) {
  const abs = path.resolve(p);
  const isDb = fs.statSync(abs).isDirectory();
  const child = new Child({ timeoutSec, memCapMiB });
  try {
    const c = { id: path.basename(abs), kind: isDb ? 'db' : 'video', source: abs, mutation: 'saved', what: abs };
    const run = await child.run({ type: 'case', id: c.id, kind: c.kind, file: isDb ? undefined : abs, db: isDb ? abs : undefined, rowSeed: 1, tmp: os.tmpdir() });
    return classify(c, run);
  } finally {
    await child.close();
  }
}

/** One line per failure, with what is needed to reproduce it. */
export function describeFailure(r) {
  const where = r.saved ? `; saved as ${r.saved}` : '';
  const replay = r.mutation === 'saved' ? path.relative(REPO, r.source) : r.mutation === 'none' ? undefined : r.id;
  return `${r.id} [${r.outcome}] ${r.source}: ${r.mutation} (${r.what}): ${r.detail}${where}${replay ? `; replay: npm run fuzz -- --replay ${replay}` : ''}`;
}

// ---------------------------------------------------------------------------
// command line

/** A result for printing; with `steps`, one line per step: "<step>: ok" or "<step>: <code or class> <message>". */
function summary(r, steps) {
  const out = { id: r.id, outcome: r.outcome, source: r.source, mutation: r.mutation, what: r.what, detail: r.detail, rejected: r.rejected, memMiB: r.memMiB };
  if (steps && r.steps) out.steps = r.steps.map((s) => `${s.step}: ${s.ok ? 'ok' : `${s.error.vidgraph ? s.error.code : `${s.error.name} (not a VidgraphError)${s.error.code ? ` ${s.error.code}` : ''}`} ${s.error.message}`}`);
  if (steps && r.stderr) out.stderr = r.stderr;
  return out;
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`fuzz: ${a} needs a value`);
      return v;
    };
    const num = (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`fuzz: ${a} expects a non-negative integer, got ${v}`);
      return n;
    };
    if (a === '--count') o.count = num(next());
    else if (a === '--db-count') o.dbCount = num(next());
    else if (a === '--seed') o.seed = num(next());
    else if (a === '--jobs') o.jobs = Math.max(1, num(next()));
    else if (a === '--timeout') o.timeoutSec = Math.max(1, num(next()));
    else if (a === '--mem-cap') o.memCapMiB = Math.max(256, num(next()));
    else if (a === '--replay') (o.replay ??= []).push(next());
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`fuzz: unknown argument ${a} (see --help)`);
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 20).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    return 0;
  }
  const { replay = [] } = o;
  const paths = replay.filter((r) => fs.existsSync(r));
  const names = replay.filter((r) => !fs.existsSync(r));
  const out = [];
  for (const p of paths) out.push(await replayPath(p, o));
  if (names.length || !replay.length) {
    let done = 0;
    const started = Date.now();
    const log = (r) => {
      done++;
      if (names.includes(r.id)) console.log(JSON.stringify(summary(r, true), null, 2));
      else if (o.verbose) console.log(JSON.stringify(summary(r, false)));
      else if (r.outcome !== 'ok') console.log(`fuzz: ${r.id} ${r.outcome}`);
      else if (done % 50 === 0) console.log(`fuzz: ${done} cases, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    };
    const res = await runFuzz({ ...o, only: names.length ? names : undefined, log });
    out.push(...res.results.filter((r) => !names.length || names.includes(r.id) || r.outcome !== 'ok'));
    const peak = Math.max(0, ...res.results.map((r) => r.memMiB?.peakRss ?? 0));
    console.log(`fuzz: ${res.results.length} cases in ${((Date.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(res.counts)}; largest child peak RSS ${peak} MiB`);
    const rejected = {};
    for (const r of res.results) {
      for (const code of r.rejected ?? []) {
        rejected[code] ??= { cases: 0, e_g: [] };
        rejected[code].cases++;
        if (rejected[code].e_g.length < 4) rejected[code].e_g.push(r.id);
      }
    }
    console.log(`fuzz: cases rejected with a documented error, by code: ${JSON.stringify(rejected)}`);
  }
  for (const r of out.slice(0, paths.length)) console.log(JSON.stringify(summary(r, true), null, 2));
  const failures = out.filter((r) => r.outcome !== 'ok');
  for (const r of failures) console.log(`FAIL ${describeFailure(r)}`);
  return failures.length ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then((code) => { process.exitCode = code; }, (err) => { console.error(err); process.exitCode = 2; });
}
