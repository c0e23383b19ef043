// Bad inputs give the documented VidgraphError codes, with messages that name the input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { fixture } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

describe('errors', () => {
  test('a file that is not a video is ERR_INVALID_VIDEO naming the file (ingest and VideoReader)', async () => {
    const file = await fixture('not_a_video.mp4');
    const sc = new vg.Client({ db: tempDir() });
    const err = await new vg.NamedVideoStream(sc, 'x', { path: file }).ingest().catch((e) => e);
    assert.ok(err instanceof vg.VidgraphError);
    assert.ok(err instanceof vg.InvalidVideoError);
    assert.equal(err.code, 'ERR_INVALID_VIDEO');
    assert.ok(err.message.includes(file), err.message);
    await assert.rejects(vg.VideoReader.open(file), { code: 'ERR_INVALID_VIDEO' });
    assert.deepEqual(await sc.listStreams(), [], 'a failed ingest leaves nothing visible');
    assert.deepEqual(fs.readdirSync(path.join(sc.dbPath, 'staging')), [], 'and nothing staged');
  });

  test('a file without a video stream is ERR_INVALID_VIDEO saying so', async () => {
    const file = await fixture('audio_only.m4a');
    await assert.rejects(vg.VideoReader.open(file), { code: 'ERR_INVALID_VIDEO', message: /has no video stream/ });
  });

  test('a missing file is ERR_NOT_FOUND naming the path', async () => {
    const missing = path.join(tempDir(), 'nope.mp4');
    await assert.rejects(vg.VideoReader.open(missing), (e) => e instanceof vg.NotFoundError && e.code === 'ERR_NOT_FOUND' && e.message.includes(missing));
    const sc = new vg.Client({ db: tempDir() });
    await assert.rejects(new vg.NamedVideoStream(sc, 'm', { path: missing }).ingest(), { code: 'ERR_NOT_FOUND' });
  });

  test('an empty file and a directory are ERR_INVALID_VIDEO', async () => {
    const dir = tempDir();
    const empty = path.join(dir, 'empty.mp4');
    fs.writeFileSync(empty, '');
    await assert.rejects(vg.VideoReader.open(empty), { code: 'ERR_INVALID_VIDEO' });
    await assert.rejects(vg.VideoReader.open(dir), { code: 'ERR_INVALID_VIDEO' });
  });

  test('load() with a row out of range is ERR_BAD_ARGUMENT naming the row and the stream size', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const s = new vg.NamedVideoStream(sc, 'v', { path: await fixture('vp8.webm') });
    await assert.rejects(async () => { for await (const _ of s.load({ rows: [0, 48] })); },
      { code: 'ERR_BAD_ARGUMENT', message: "load: expected rows[1] to be an integer between 0 and 47 (stream 'v' has 48 rows), got 48 (number)" });
    assert.throws(() => s.load({ rows: 3 }), { code: 'ERR_BAD_ARGUMENT' });
  });

  test('constructor arguments are validated with the expected type and what was received', () => {
    assert.throws(() => new vg.Client({ threads: '4' }), { code: 'ERR_BAD_ARGUMENT', message: "Client: expected integer threads between 1 and 1024, got '4' (string)" });
    assert.throws(() => new vg.Client({ dbPath: 'x' }), { code: 'ERR_BAD_ARGUMENT', message: /unknown option 'dbPath'/ });
    assert.throws(() => new vg.Client({ logLevel: 'loud' }), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => new vg.Client({ db: 's3://B_/prefix' }), { code: 'ERR_BAD_ARGUMENT', message: /S3 bucket name.*"B_"/ });
    assert.throws(() => new vg.Client({ storage: { type: 's3' } }), { code: 'ERR_BAD_ARGUMENT', message: /storage\.bucket: expected an S3 bucket name/ });
    assert.throws(() => new vg.Client({ storage: { type: 'gcs' } }), { code: 'ERR_BAD_ARGUMENT', message: /storage\.type 'posix' or 's3'/ });
    const sc = new vg.Client({ db: tempDir() });
    assert.throws(() => new vg.NamedVideoStream(sc, ''), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => new vg.NamedVideoStream(sc, 'x', { path: 3 }), { code: 'ERR_BAD_ARGUMENT', message: /got 3 \(number\)/ });
    assert.throws(() => vg.Frame.alloc(0, 10, 3), { code: 'ERR_BAD_ARGUMENT', message: 'Frame.alloc: expected integer height > 0, got 0 (number)' });
    assert.throws(() => vg.Frame.from(new Uint8Array(5), 2, 2, 1), { code: 'ERR_BAD_ARGUMENT', message: /2x2x1 = 4 elements, got 5/ });
  });

  test('Frame.alloc and Frame.from build packed HWC frames of each dtype', () => {
    const f = vg.Frame.alloc(2, 3, 2, 'float32');
    assert.equal(f.data.length, 12);
    assert.ok(f.data instanceof Float32Array);
    const g = vg.Frame.from(new Uint16Array(24), 2, 4, 3);
    assert.equal(g.dtype, 'uint16');
    assert.equal(g.byteLength, 48);
  });

  test('hasGpu() is false without a CUDA device, and gpus: [] forces the CPU', () => {
    assert.equal(new vg.Client({ db: tempDir(), gpus: [] }).hasGpu(), false);
    assert.equal(typeof new vg.Client({ db: tempDir() }).hasGpu(), 'boolean');
  });
});

describe('errors that are not ours (issue 10, item 7)', () => {
  const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  /** Every error must be a VidgraphError whose code the README documents. */
  const ours = (code, message) => (e) => {
    assert.ok(e instanceof vg.VidgraphError, `not a VidgraphError: ${e?.constructor?.name} ${e?.code} ${e?.message}`);
    assert.ok(vg.ERROR_CODES.includes(e.code), `undocumented code ${e.code}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  };

  test('system and Node errors become documented codes: long or ill-formed names, symlink loops, paths below a file, damaged metadata', async () => {
    const db = tempDir();
    const sc = new vg.Client({ db });
    const video = await fixture('h264_bframes_opengop.mp4');
    // A name whose directory name (percent-encoded) exceeds NAME_MAX, and a lone surrogate (no UTF-8 form).
    assert.throws(() => new vg.NamedStream(sc, '€'.repeat(100)), ours('ERR_BAD_ARGUMENT', /too long: stored as a directory name it takes 900 bytes, more than the 255/));
    assert.throws(() => new vg.NamedVideoStream(sc, 'a\uD800b', { path: video }), ours('ERR_BAD_ARGUMENT', /lone surrogate \(U\+D800\) at index 1/));
    assert.doesNotThrow(() => new vg.NamedStream(sc, 'ok \u{1F600} name')); // a well-formed pair is fine
    // A symlink loop as the video: ingest and the reader.
    fs.symlinkSync(path.join(db, 'loop-b'), path.join(db, 'loop-a'));
    fs.symlinkSync(path.join(db, 'loop-a'), path.join(db, 'loop-b'));
    await assert.rejects(new vg.NamedVideoStream(sc, 'loop', { path: path.join(db, 'loop-a') }).ingest(), ours('ERR_BAD_ARGUMENT', /loop-a.*ELOOP/));
    await assert.rejects(vg.VideoReader.open(path.join(db, 'loop-a')), ours('ERR_BAD_ARGUMENT', /ELOOP/));
    // Paths below a regular file.
    await assert.rejects(new vg.Client({ db: '/dev/null/x' }).listStreams(), ours('ERR_BAD_ARGUMENT', /'\/dev\/null' is not a directory/));
    await assert.rejects(vg.VideoReader.open(video, { indexCache: '/dev/null' }), ours('ERR_BAD_ARGUMENT', /indexCache/));
    // Damaged meta.json: ERR_CORRUPT on reads, and listed (marked damaged), never silently left out.
    const v = new vg.NamedVideoStream(sc, 'v', { path: video });
    await v.ingest();
    const meta = path.join(db, 'streams', 'v', 'meta.json');
    const good = fs.readFileSync(meta, 'utf8');
    fs.writeFileSync(meta, good.slice(0, 40));
    await assert.rejects(v.len(), ours('ERR_CORRUPT', /stream 'v': its metadata meta\.json is not valid JSON/));
    const listed = await sc.listStreams();
    assert.deepEqual(listed.map((s) => [s.name, s.damaged !== undefined]), [['v', true]]);
    assert.match(listed[0].damaged, /not valid JSON/);
    assert.match(await sc.summarize(), /v +\? +\? +damaged/);
    fs.writeFileSync(meta, JSON.stringify({ ...JSON.parse(good), rows: -5 }));
    await assert.rejects(v.len(), ours('ERR_CORRUPT', /invalid rows: -5/));
    await assert.rejects(async () => { for await (const f of v.load()) assert.fail(`loaded ${f}`); }, ours('ERR_CORRUPT'));
    fs.writeFileSync(meta, good);
    assert.equal(await v.len(), 48);
  });

  test('a job that fails on a system error reports a documented code naming the job, never ERR_INTERNAL', async () => {
    const db = tempDir();
    const sc = new vg.Client({ db });
    await sc.listStreams(); // the database exists
    fs.rmSync(path.join(db, 'staging'), { recursive: true });
    fs.writeFileSync(path.join(db, 'staging'), 'not a directory'); // outputs cannot be staged: ENOTDIR
    const input = sc.io.Input([new vg.ArrayStream([new Uint8Array([1])])]);
    const result = await sc.run(sc.io.Output(sc.ops.Pass({ input }), [new vg.NamedStream(sc, 'out')]), vg.PerfParams.manual(1, 1), { showProgress: false });
    assert.deepEqual(result.failedJobs, ['array(1)']);
    const [err] = result.stats.errors;
    assert.equal(err.code, 'ERR_BAD_ARGUMENT', err.message);
    assert.match(err.message, /cannot write to the database .*ENOTDIR/);
  });

  test('every error code the sources use is in vg.ERROR_CODES, and the README documents each one', () => {
    const used = new Set();
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|cpp|h)$/.test(e.name)) for (const m of fs.readFileSync(p, 'utf8').matchAll(/['"](ERR_[A-Z_]+)['"]/g)) used.add(m[1]);
      }
    };
    walk(path.join(ROOT, 'lib'));
    walk(path.join(ROOT, 'cpp'));
    // Node's own codes that lib/errors.ts translates (they never reach callers).
    const foreign = new Set(['ERR_OUT_OF_MEMORY', 'ERR_MEMORY_ALLOCATION_FAILED', 'ERR_WORKER_OUT_OF_MEMORY', 'ERR_BUFFER_TOO_LARGE', 'ERR_STRING_TOO_LONG', 'ERR_FS_FILE_TOO_LARGE']);
    for (const code of used) if (!foreign.has(code)) assert.ok(vg.ERROR_CODES.includes(code), `${code} is used but not in ERROR_CODES`);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Errors\n'), readme.indexOf('\n### Safety in long-lived processes'));
    for (const code of vg.ERROR_CODES) assert.ok(section.includes(`\`${code}\``), `${code} is not in the README's error list`);
  });
});
