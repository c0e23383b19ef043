// The examples run as users would run them, and produce what they say.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as vg from 'vidgraph';
import { makeClip } from './helpers/corpus.mjs';
import { haveRedis, startProcess, startRedis } from './helpers/processes.mjs';
import { bytesOf, tempDir } from './helpers/util.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const samples = path.join(ROOT, 'test', '.cache', 'samples');

async function example(file, db) {
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'examples', file)], { env: { ...process.env, VIDGRAPH_DB: db, VIDGRAPH_SAMPLES: samples } });
  return stdout;
}

describe('examples', () => {
  test('quickstart ingests a sample, reads frames and summarizes the database', async () => {
    const db = tempDir();
    const out = await example('quickstart.mjs', db);
    assert.match(out, /ingested 'sample-720p' in .*: 300 frames 1280x720 h264/);
    assert.match(out, /loaded 50 random frames/);
    assert.match(out, /sample-720p\s+video\s+300\s+yes/);
  });

  test('tutorial 1: histograms of two videos', async () => {
    const db = tempDir();
    const out = await example('tutorials/01-histograms.mjs', db);
    assert.match(out, /computed 600 histograms/);
    const sc = new vg.Client({ db });
    assert.equal(await new vg.NamedStream(sc, 'tutorial-a-hist').len(), 300);
    assert.equal(await new vg.NamedStream(sc, 'tutorial-b-hist').len(), 300);
  });

  test('tutorial 2: sampling decodes only what it needs', async () => {
    const out = await example('tutorials/02-sampling.mjs', tempDir());
    // Every 30th row: the keyframe interval up to each row, less the non-reference frames not
    // asked for, plus the frames decoded before a row that come out after it (B-frame
    // references): decoding every frame on the way takes 145 to 170 of the 300, skipping fewer.
    const stride = Number(/stride: 10 rows, decoded (\d+) of 300 frames/.exec(out)?.[1]);
    assert.ok(stride >= 10 && stride < 145, out);
    // The first second: its 30 frames and at most the one reference shown after them.
    assert.match(out, /range: 30 rows, decoded 3[01] of 300 frames/);
    assert.match(out, /gather: 4 rows/);
  });

  test('tutorial 3: the grayscale walkthrough', async () => {
    const out = await example('tutorials/03-grayscale.mjs', tempDir());
    assert.match(out, /tutorial-gray: 100 frames 320x180/);
    assert.match(out, /first pixel: (\d+), \1, \1 /);
  });

  test('tutorial 5: compression (H.264 by default, tuned, raw) and saveMp4', async () => {
    const out = await example('tutorials/05-compression.mjs', tempDir());
    assert.match(out, /tutorial-blur-default: h264, 300 frames, 2 keyframes/); // libx264 default: a keyframe every 250
    assert.match(out, /tutorial-blur-small: h264, 300 frames, 10 keyframes/);
    assert.match(out, /tutorial-blur-raw: rawvideo, 300 frames/);
    const size = (name) => Number(new RegExp(`${name}: .* ([\\d.]+) MiB`).exec(out)[1]);
    assert.ok(size('tutorial-blur-small') < size('tutorial-blur-default') && size('tutorial-blur-default') < size('tutorial-blur-raw'));
    assert.match(out, /saved .*tutorial-blur\.mp4/);
  });

  test('op attribute: device (falls back to the CPU with a clear message when there is no GPU)', async () => {
    const out = await example('op-attributes/device-resize.mjs', tempDir());
    assert.match(out, /attr-device-resize: 300 frames 320x180 on (cpu|gpu)/);
    if (/on cpu/.test(out)) assert.match(out, /no CUDA GPU available \(.+\): running Resize on the CPU/);
  });

  test('op attribute: batch', async () => {
    const out = await example('op-attributes/batch-resize.mjs', tempDir());
    assert.match(out, /attr-batch-resize: 300 frames 320x180 in 38 kernel calls/);
  });

  test('op attribute: stencil, motion between frames through opencv4nodejs, next to the built-in Farneback flow', async () => {
    const out = await example('op-attributes/stencil-optical-flow.mjs', tempDir());
    const m = /attr-motion: 60 rows, mean frame difference ([\d.]+), mean Farneback motion ([\d.]+) px\/frame/.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[1]) > 0.1 && Number(m[2]) > 0.1, 'testsrc2 moves');
  });

  test('op attributes: bounded state and slicing (background subtraction)', async () => {
    const out = await example('op-attributes/background-subtraction.mjs', tempDir());
    const m = /attr-bgsub: 30 masks, ([\d.]+)% of pixels moving/.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[1]) > 0 && Number(m[1]) < 100);
  });

  test('extract-frames example writes every frame of the sample', async () => {
    const out = tempDir();
    process.env.VIDGRAPH_SAMPLES = samples;
    const { sampleVideo } = await import('../examples/tutorials/sample.mjs');
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'examples', 'extract-frames', 'run.mjs'), sampleVideo('sample-360p.mp4'), out]);
    assert.match(stdout, /sample-360p\.mp4: 300 frames/);
    assert.equal(fs.readdirSync(path.join(out, 'sample-360p.mp4')).length, 300);
    JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'extract-frames', 'pipeline.json'), 'utf8'));
  });

  test('train-classifier trains a TensorFlow.js model on generator batches (the loss goes down)', async () => {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'examples', 'train-classifier', 'train.mjs')], { env: { ...process.env, VIDGRAPH_SAMPLES: samples }, maxBuffer: 1 << 24 });
    assert.match(stdout, /classes pan, zoom: 8 training videos, 4 validation videos/);
    const m = /training loss: first epoch ([\d.]+), last epoch ([\d.]+)/.exec(stdout);
    assert.ok(m, stdout);
    assert.ok(Number(m[2]) < Number(m[1]), stdout);
  });

  test('tutorial 4: slicing', async () => {
    const out = await example('tutorials/04-slicing.mjs', tempDir());
    assert.match(out, /tutorial-flow: 300 flow fields/);
  });
});

describe('crash safety of runs', () => {
  test('a run killed mid-way leaves nothing half-visible, and the rerun equals a clean run', async () => {
    const db = tempDir();
    const file = await makeClip('crash-run.mp4', { width: 320, height: 240, seconds: 6, fps: 25, noise: false });
    const child = spawn(process.execPath, [path.join(ROOT, 'test', 'children', 'run-graph.mjs'), db, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise((resolve) => {
      child.stdout.on('data', (d) => {
        out += d;
        const done = [...out.matchAll(/done (\d+)/g)].map((m) => Number(m[1]));
        if (done.length && done.at(-1) >= 20) { child.kill('SIGKILL'); resolve(); }
      });
      child.on('exit', resolve);
    });
    assert.doesNotMatch(out, /finished/, 'the run was killed before it finished');
    const sc = new vg.Client({ db });
    assert.equal(await new vg.NamedVideoStream(sc, 'out').exists(), false, 'nothing half-written is visible');
    assert.deepEqual((await sc.listStreams()).map((s) => s.name), ['input']);
    await run(process.execPath, [path.join(ROOT, 'test', 'children', 'run-graph.mjs'), db, file]);
    const clean = tempDir();
    await run(process.execPath, [path.join(ROOT, 'test', 'children', 'run-graph.mjs'), clean, file]);
    const a = new vg.NamedVideoStream(sc, 'out');
    const b = new vg.NamedVideoStream(new vg.Client({ db: clean }), 'out');
    assert.equal(await a.len(), 150);
    assert.deepEqual(fs.readdirSync(path.join(db, 'staging')), []);
    const rows = [0, 74, 149];
    const fa = [];
    for await (const f of a.load({ rows })) fa.push(bytesOf(f));
    let k = 0;
    for await (const f of b.load({ rows })) assert.ok(bytesOf(f).equals(fa[k++]), `row ${rows[k - 1]}`);
  });

  test('the cluster example: Scanner\'s cluster tutorial on Redis and two workers, as its README runs it', { skip: haveRedis ? false : 'redis-server is not installed' }, async () => {
    const db = tempDir();
    const children = [];
    try {
      const redis = await startRedis();
      children.push(redis.child);
      for (let i = 0; i < 2; i++) {
        const w = await startProcess(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'worker', '--redis', redis.url], /ready on queue 'vidgraph'/, { env: { ...process.env, VIDGRAPH_DB: db } });
        children.push(w.child);
      }
      const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, 'examples', 'cluster', 'run.mjs')], { env: { ...process.env, VIDGRAPH_DB: db, VIDGRAPH_SAMPLES: samples, VIDGRAPH_REDIS: redis.url } });
      assert.doesNotMatch(stderr, /Warning/, 'the run printed a warning');
      assert.match(stdout, /all 600 rows done by 2 worker\(s\)/);
      assert.match(stdout, /cluster: 600 histograms from 2 videos in .* s; failed jobs: 0/);
      assert.match(stdout, /cluster-0-hist: 300 histograms\ncluster-1-hist: 300 histograms/);
      const workers = JSON.parse((await run(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'workers', '--redis', redis.url, '--json'])).stdout);
      assert.equal(workers.length, 2);
    } finally {
      for (const c of children) c.kill('SIGKILL');
    }
  });
});
