// What vidgraph leaves behind: temporary packet copies after signals and SIGKILL, frame memory
// after a reader closes, and directories it refuses to create (kernel pseudo-filesystems,
// paths through a regular file).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { makeClip } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

const HOLD = fileURLToPath(new URL('./children/hold-reader.mjs', import.meta.url));
const READ = fileURLToPath(new URL('./children/read-and-close.mjs', import.meta.url));
const ITER_GC = fileURLToPath(new URL('./children/iter-gc.mjs', import.meta.url));

/** Starts a child holding a reader open; resolves once it printed its temporary directory. */
function holdReader(file, mode = '') {
  const child = spawn(process.execPath, [HOLD, file, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^ready (\S+)$/m.exec(out);
      if (m) resolve(m[1]);
    });
    child.stderr.on('data', (d) => { out += d; });
    exited.then(() => reject(new Error(`child exited before opening the reader:\n${out}`)));
  });
  return { child, ready, exited };
}

const aviClip = () => makeClip('cleanup.avi', { width: 160, height: 120, seconds: 1, fps: 24 });
const tsClip = () => makeClip('cleanup.ts', { width: 160, height: 120, seconds: 1, fps: 24 });

describe('temporary packet copies', () => {
  test('a SIGKILLed reader leaves its pid-named directory, and the next process to open a reader removes it', async () => {
    const first = holdReader(await aviClip());
    const dir = await first.ready;
    assert.equal(path.dirname(dir), os.tmpdir());
    assert.match(path.basename(dir), new RegExp(`^vidgraph-reader-${first.child.pid}-`));
    assert.ok(fs.existsSync(path.join(dir, 'packets.bin')));
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    assert.ok(fs.existsSync(dir), 'SIGKILL cannot be caught: the directory is left behind');

    const second = holdReader(await tsClip());
    const own = await second.ready;
    assert.equal(fs.existsSync(dir), false, 'the orphan of the dead process is removed');
    assert.ok(fs.existsSync(own), "a live process's directory is kept");
    second.child.kill('SIGTERM');
    await second.exited;
  });

  for (const signal of ['SIGTERM', 'SIGINT']) {
    test(`${signal} removes the directory and still ends the process by that signal`, async () => {
      const { child, ready, exited } = holdReader(await tsClip());
      const dir = await ready;
      assert.ok(fs.existsSync(dir));
      child.kill(signal);
      const { signal: got, code } = await exited;
      assert.equal(got, signal, `the process ends as the signal's default action would (exit code ${code})`);
      assert.equal(fs.existsSync(dir), false);
    });
  }

  test("an application's own SIGTERM handler decides: the directory is kept while it runs and removed at exit", async () => {
    const { child, ready, exited } = holdReader(await aviClip(), 'own-handler');
    const dir = await ready;
    child.kill('SIGTERM');
    const { code, signal, out } = await exited;
    assert.equal(signal, null);
    assert.equal(code, 7);
    assert.match(out, /handler sees dir true/);
    assert.equal(fs.existsSync(dir), false);
  });
});

describe('frame memory', () => {
  /** Runs children/read-and-close.mjs over 300 720p frames in batches of 60; its RSS figures. */
  async function readFrames(mode) {
    const file = await makeClip('rss-720p.mp4', { width: 1280, height: 720, seconds: 12.5, fps: 24, noise: false });
    const child = spawn(process.execPath, ['--expose-gc', READ, file, '60', mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, out);
    const figures = JSON.parse(out.trim().split('\n').pop());
    assert.equal(figures.frames, 300);
    assert.ok(figures.peak - figures.before > 150, `the read itself holds batches of frames (peak ${figures.peak.toFixed(0)} MiB, start ${figures.before.toFixed(0)} MiB)`);
    return figures;
  }

  test('RSS returns near its starting point after reading 300 720p frames and closing the reader', async () => {
    const { before, peak, after } = await readFrames('close');
    assert.ok(after - before < 100, `RSS after close ${after.toFixed(0)} MiB, at start ${before.toFixed(0)} MiB (peak ${peak.toFixed(0)} MiB)`);
  });

  test('frames a default iterFrames() loop drops are freed by minor collections, without major ones', async () => {
    // V8 counts an ArrayBuffer's bytes as external memory itself. The engine used to count each
    // frame a second time, which started a full mark-compact every few frames (17 in this read).
    const file = await makeClip('rss-720p.mp4', { width: 1280, height: 720, seconds: 12.5, fps: 24, noise: false });
    const child = spawn(process.execPath, [ITER_GC, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, out);
    const gcs = JSON.parse(out.trim().split('\n').pop());
    assert.equal(gcs.frames, 300);
    assert.ok(gcs.minor >= 1, `the dropped frames were collected by minor GCs: ${JSON.stringify(gcs)}`);
    assert.ok(gcs.major <= 2, `major GCs during the read: ${JSON.stringify(gcs)}`);
  });

  test('a reader left open but idle gives its frame memory back too (the idle trimmer)', async () => {
    const { before, peak, after } = await readFrames('idle');
    assert.ok(after - before < 100, `RSS while idle ${after.toFixed(0)} MiB, at start ${before.toFixed(0)} MiB (peak ${peak.toFixed(0)} MiB)`);
  });
});

describe('directories vidgraph creates', () => {
  // A guard, not a timing: on the old code these paths hung forever in recursive mkdir.
  const guard = { timeout: 60_000 };

  test('a database under /proc is ERR_BAD_ARGUMENT naming the path, before anything is created', guard, async () => {
    const sc = new vg.Client({ db: '/proc/self/vidgraph-db' });
    await assert.rejects(sc.listStreams(), (err) => {
      assert.equal(err.code, 'ERR_BAD_ARGUMENT');
      assert.match(err.message, /'\/proc\/self\/vidgraph-db'/);
      assert.match(err.message, /proc pseudo-filesystem/);
      return true;
    });
  });

  test('a database path through a regular file is ERR_BAD_ARGUMENT naming the file', guard, async () => {
    const file = path.join(tempDir(), 'plain-file');
    fs.writeFileSync(file, 'x');
    const db = path.join(file, 'nested', 'db');
    const sc = new vg.Client({ db });
    await assert.rejects(new vg.NamedStream(sc, 'x').len(), (err) => {
      assert.equal(err.code, 'ERR_BAD_ARGUMENT');
      assert.ok(err.message.includes(`'${db}'`) && err.message.includes(`'${file}' is not a directory`), err.message);
      return true;
    });
  });

  test('indexCache under /proc or through a regular file is ERR_BAD_ARGUMENT naming the path', guard, async () => {
    const video = await tsClip();
    await assert.rejects(vg.VideoReader.open(video, { indexCache: '/proc/self/vidgraph-index' }), {
      code: 'ERR_BAD_ARGUMENT', message: /VideoReader\.open: cannot use '\/proc\/self\/vidgraph-index' as indexCache/,
    });
    const file = path.join(tempDir(), 'plain-file');
    fs.writeFileSync(file, 'x');
    await assert.rejects(vg.VideoReader.open(video, { indexCache: path.join(file, 'cache') }), {
      code: 'ERR_BAD_ARGUMENT', message: /is not a directory/,
    });
  });

  test('missing parents of a database or indexCache under a regular directory are still created', async () => {
    const base = tempDir();
    const sc = new vg.Client({ db: path.join(base, 'a', 'b', 'db') });
    assert.deepEqual(await sc.listStreams(), []);
    assert.ok(fs.statSync(path.join(base, 'a', 'b', 'db', 'streams')).isDirectory());
    const reader = await vg.VideoReader.open(await makeClip('cleanup.mp4', { width: 160, height: 120, seconds: 1 }), { indexCache: path.join(base, 'c', 'd') });
    await reader.close();
    assert.equal(fs.readdirSync(path.join(base, 'c', 'd')).filter((f) => f.endsWith('.vgix')).length, 1);
  });
});
