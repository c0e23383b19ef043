// The embedded database: commit visibility, deletion, crash safety, two writers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { ffprobeFrameCount, fixture, makeClip, oracle } from './helpers/corpus.mjs';
import { bytesOf, tempDir } from './helpers/util.mjs';

const CHILD = fileURLToPath(new URL('./children/ingest-loop.mjs', import.meta.url));

function startChild(args) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const done = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
  return { child, done, output: () => out };
}

async function expectFramesEqual(stream, file) {
  const o = await oracle(file);
  const rows = [0, Math.floor(o.count / 2), o.count - 1];
  let k = 0;
  for await (const f of stream.load({ rows })) assert.ok(bytesOf(f).equals(o.frame(rows[k++])), `row ${rows[k - 1]}`);
}

describe('stored video streams', () => {
  test('a committed stream is listed with its rows, kind and size, and reports exists/committed', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const file = await fixture('h264_bframes_opengop.mp4');
    const s = new vg.NamedVideoStream(sc, 'clip', { path: file });
    assert.equal(await s.exists(), false);
    assert.deepEqual(await sc.listStreams(), []);
    await s.ingest();
    assert.equal(await s.exists(), true);
    assert.equal(await s.committed(), true);
    const [listed] = await sc.listStreams();
    assert.equal(listed.name, 'clip');
    assert.equal(listed.kind, 'video');
    assert.equal(listed.rows, await ffprobeFrameCount(file));
    assert.equal(listed.committed, true);
    assert.ok(listed.bytes >= fs.statSync(file).size * 0.5, 'packets are copied into the database');
    assert.match(await sc.summarize(), /clip\s+video\s+48\s+yes/);
  });

  test('ingest is lazy: the first read ingests, and a second ingest() is a no-op', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const s = new vg.NamedVideoStream(sc, 'lazy', { path: await fixture('hevc.mp4') });
    assert.equal(await s.len(), 48);
    await s.ingest();
    assert.equal((await sc.listStreams()).length, 1);
    // A stream object without a path reads the stored stream by name.
    const byName = new vg.NamedVideoStream(sc, 'lazy');
    assert.deepEqual(await byName.metadata(), await s.metadata());
  });

  test('delete() and storage().delete() remove streams; deleting a missing stream is ERR_NOT_FOUND', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const file = await fixture('vp9.webm');
    const streams = ['a', 'b', 'c'].map((n) => new vg.NamedVideoStream(sc, n, { path: file }));
    for (const s of streams) await s.ingest();
    await streams[0].delete(sc);
    assert.equal(await streams[0].exists(), false);
    await streams[1].storage().delete(sc, [streams[1], streams[2]]);
    assert.deepEqual(await sc.listStreams(), []);
    await assert.rejects(streams[0].delete(sc), { code: 'ERR_NOT_FOUND' });
    await assert.rejects(new vg.NamedVideoStream(sc, 'never').len(), { code: 'ERR_NOT_FOUND' });
  });

  test('metadata() reports size, rotation, frames, fps, time base, codec, pixel format, duration and keyframes', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const m = await new vg.NamedVideoStream(sc, 'm', { path: await fixture('odd_dims.mkv') }).metadata();
    assert.deepEqual(Object.keys(m).sort(), ['codec', 'durationSec', 'fps', 'frames', 'height', 'keyframes', 'pixFmt', 'rotation', 'timeBase', 'width']);
    assert.equal(m.rotation, 0);
    assert.equal(m.width, 321);
    assert.equal(m.height, 241);
    assert.equal(m.frames, 48);
    assert.equal(m.codec, 'vp9');
    assert.equal(m.pixFmt, 'yuv420p');
    assert.equal(m.fps, 24);
    assert.ok(Math.abs(m.durationSec - 2) < 0.05, `duration ${m.durationSec}`);
    assert.equal(m.keyframes, 2);
  });

  test('inplace on a container without plain byte ranges falls back to copying, with a warning', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const warnings = [];
    const onWarning = (w) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const file = await fixture('h264.ts');
      const s = new vg.NamedVideoStream(sc, 'ts', { path: file, inplace: true });
      await s.ingest();
      await expectFramesEqual(s, file);
    } finally {
      process.off('warning', onWarning);
    }
    assert.ok(warnings.some((w) => w.code === 'VIDGRAPH_INGEST' && /cannot be read in place.*mpegts/.test(w.message)), warnings.map(String).join('\n'));
  });

  test('an in-place stream whose source file changed is refused, not misread', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const copy = path.join(tempDir(), 'video.mp4');
    fs.copyFileSync(await fixture('hevc.mp4'), copy);
    const s = new vg.NamedVideoStream(sc, 'inplace', { path: copy, inplace: true });
    await s.ingest();
    fs.appendFileSync(copy, Buffer.alloc(100));
    await assert.rejects(async () => { for await (const _ of s.load({ rows: [0] })); }, { code: 'ERR_INVALID_VIDEO', message: /has changed/ });
  });

  test('a process killed mid-ingest leaves nothing visible and nothing that blocks a retry', async () => {
    const db = tempDir();
    const file = await makeClip('crash.mp4', { width: 640, height: 360, seconds: 8, fps: 25, noise: false });
    const expected = await ffprobeFrameCount(file);
    const run = startChild([db, file, 'crash', '0']);
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        if ((run.output().match(/committed/g) ?? []).length >= 3) { clearInterval(timer); resolve(); }
      }, 5);
    });
    const staged = fs.readdirSync(path.join(db, 'staging'));
    run.child.kill('SIGKILL');
    const { signal } = await run.done;
    assert.equal(signal, 'SIGKILL');
    const committed = new Set([...run.output().matchAll(/committed (\S+)/g)].map((m) => m[1]));

    // Whatever is visible is whole: every listed stream has all its frames.
    const sc = new vg.Client({ db });
    const listed = await sc.listStreams();
    for (const name of committed) assert.ok(listed.some((s) => s.name === name), `${name} was committed but is not listed`);
    for (const s of listed) assert.equal(s.rows, expected, `${s.name} is complete`);
    // The killed writer's staging directory is gone after reopening; a retry succeeds.
    assert.deepEqual(fs.readdirSync(path.join(db, 'staging')), [], `leftovers: ${staged}`);
    const next = `crash${listed.length}`;
    const retry = new vg.NamedVideoStream(sc, next, { path: file });
    assert.equal(await retry.len(), expected);
    await expectFramesEqual(retry, file);
  });

  test('two processes writing one database at once do not corrupt it', async () => {
    const db = tempDir();
    const a = await fixture('vp8.webm');
    const b = await fixture('mpeg4.avi');
    // Both write the same names (from different videos) and their own names.
    const runs = [startChild([db, a, 'shared', '6']), startChild([db, b, 'shared', '6']), startChild([db, a, 'only-a', '4']), startChild([db, b, 'only-b', '4'])];
    const results = await Promise.all(runs.map((r) => r.done));
    const sc = new vg.Client({ db });
    const listed = await sc.listStreams();
    assert.equal(listed.length, 14, JSON.stringify(listed));
    for (const s of listed) {
      const stream = new vg.NamedVideoStream(sc, s.name);
      const n = await stream.len();
      assert.ok(n === 48, `${s.name}: ${n} rows`);
      for await (const f of stream.load({ rows: [0, n - 1] })) assert.equal(f.width, 320);
    }
    // A writer that lost a race for a name fails cleanly with ERR_EXISTS or finds it taken; none crashed.
    for (const r of results) assert.ok(r.code === 0 || /ERR_EXISTS|already exists/.test(r.out), r.out);
    assert.deepEqual(fs.readdirSync(path.join(db, 'staging')).filter((d) => !d.startsWith(`${process.pid}-`)), []);
  });
});

describe('ingest progress', () => {
  test('ingest({ onProgress }) reports frames and bytes as the scan goes, ending at ffprobe\'s frame count and the file size', async () => {
    const file = await makeClip('progress.mp4', { width: 320, height: 240, seconds: 8, fps: 25 });
    const sc = new vg.Client({ db: tempDir() });
    const seen = [];
    await new vg.NamedVideoStream(sc, 'p', { path: file }).ingest({ onProgress: (p) => seen.push(p) });
    assert.ok(seen.length >= 1);
    const size = fs.statSync(file).size;
    assert.deepEqual(seen.at(-1), { frames: await ffprobeFrameCount(file), bytes: size, totalBytes: size });
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i].frames >= seen[i - 1].frames && seen[i].bytes >= seen[i - 1].bytes, `progress went back: ${JSON.stringify(seen.slice(i - 1, i + 1))}`);
      assert.ok(seen[i].bytes <= size);
    }
    await assert.rejects(new vg.NamedVideoStream(sc, 'q', { path: file }).ingest({ onProgress: 'yes' }), (e) => e.code === 'ERR_BAD_ARGUMENT' && /onProgress/.test(e.message));
    await assert.rejects(new vg.NamedVideoStream(sc, 'q', { path: file }).ingest({ progress: () => {} }), (e) => e.code === 'ERR_BAD_ARGUMENT');
  });
});
