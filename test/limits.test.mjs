// Bounded resources (issue 8): thread options, the pixel limit against decompression bombs,
// op arguments, the batch-size guard and the reader's cache.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as vg from 'vidgraph';
import { h264Bomb } from './helpers/bomb.mjs';
import { fixture, makeClip } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

const native = createRequire(import.meta.url)('../dist/native.js').native();
const execFileP = promisify(execFile);
const CHILD = fileURLToPath(new URL('./children/read-bomb.mjs', import.meta.url));
const cores = os.availableParallelism();
const file = await fixture('h264_bframes_opengop.mp4'); // 48 frames of 320x240, keyframes at 0 and 24

/** Warnings emitted while `fn` runs (process.emitWarning delivers them on a later tick). */
async function warningsDuring(fn) {
  const seen = [];
  const listener = (w) => seen.push(w);
  process.on('warning', listener);
  try {
    const value = await fn();
    await new Promise((resolve) => setImmediate(resolve));
    return { value, warnings: seen };
  } finally {
    process.off('warning', listener);
  }
}

function threadCount() {
  return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
}

/** Runs test/children/read-bomb.mjs; its address space is capped so that a regression fails instead of exhausting the machine. */
async function readInChild(target, options, row) {
  const args = [CHILD, target, options ? JSON.stringify(options) : '', ...(row === undefined ? [] : [String(row)])];
  // 8 GiB of address space (not under AddressSanitizer, whose shadow memory needs terabytes).
  const script = process.env.VIDGRAPH_SANITIZER ? 'exec "$0" "$@"' : `ulimit -v ${8 * 1024 * 1024}; exec "$0" "$@"`;
  const { stdout } = await execFileP('bash', ['-c', script, process.execPath, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

describe('thread options are bounded', () => {
  test('VideoReader.open refuses threads above 1024 (threads: 100000)', async () => {
    await assert.rejects(vg.VideoReader.open(file, { threads: 100000 }), {
      code: 'ERR_BAD_ARGUMENT',
      message: 'VideoReader.open: expected integer threads between 1 and 1024, got 100000 (number)',
    });
  });

  test('thread options above 4 per core are clamped to 4 per core with a warning', async () => {
    const asked = Math.min(1024, 4 * cores + 1);
    const client = await warningsDuring(() => new vg.Client({ db: tempDir(), threads: asked }));
    assert.equal(client.value.threads, 4 * cores);
    assert.ok(client.warnings.some((w) => w.code === 'VIDGRAPH_THREADS_CLAMPED' && /Client: threads/.test(w.message)), 'Client warns');

    const reader = await warningsDuring(() => vg.VideoReader.open(file, { threads: asked }));
    assert.ok(reader.warnings.some((w) => w.code === 'VIDGRAPH_THREADS_CLAMPED' && /VideoReader\.open: threads/.test(w.message)), 'VideoReader warns');
    assert.equal((await reader.value.frame(5)).index, 5);
    await reader.value.close();

    const perf = await warningsDuring(() => vg.PerfParams.manual(1, 1, { pipelineInstancesPerNode: asked }));
    assert.equal(perf.value.options.pipelineInstancesPerNode, 4 * cores);
    assert.ok(perf.warnings.some((w) => w.code === 'VIDGRAPH_THREADS_CLAMPED'), 'PerfParams warns');
    assert.throws(() => vg.PerfParams.manual(1, 1, { pipelineInstancesPerNode: 100000 }), { code: 'ERR_BAD_ARGUMENT', message: /between 0 and 1024/ });
  });

  test('a native decoder constructed directly starts at most 4 threads per core', async () => {
    const scan = await native.scan(file, { inplace: true });
    const before = threadCount();
    const asked = Math.max(200, 8 * cores); // the old engine started them all
    const decoder = new native.NativeDecoder(scan.index, file, { threads: asked });
    try {
      await decoder.decode(Int32Array.from([0, 1, 2]));
      const started = threadCount() - before;
      assert.ok(started <= 4 * cores + 2, `threads: ${asked} started ${started} threads on ${cores} cores`);
    } finally {
      await decoder.close();
    }
  });
});

describe('limitInputPixels', () => {
  const dir = tempDir();
  // One decoded 16000x16000 picture alone is 384 MB (YUV) + 768 MB (RGB), on top of the
  // child's own ~150 MB: a refused bomb stays far below.
  const BOUNDED = 640 * 2 ** 20;

  test('a video larger than limitInputPixels is refused at open with ERR_INVALID_VIDEO naming the size', async () => {
    const message = /320x240 \(76800 pixels\), more than limitInputPixels \(1000\); raise limitInputPixels, or set it to false/;
    await assert.rejects(vg.VideoReader.open(file, { limitInputPixels: 1000 }), { code: 'ERR_INVALID_VIDEO', message });
    // From a cached index, too (no scan): the decoder checks the stream's size before decoding.
    const cache = path.join(dir, 'index-cache');
    await (await vg.VideoReader.open(file, { indexCache: cache })).close();
    await assert.rejects(vg.VideoReader.open(file, { indexCache: cache, limitInputPixels: 1000 }), { code: 'ERR_INVALID_VIDEO', message });
    // At the limit, or with false, it opens.
    const exact = await vg.VideoReader.open(file, { limitInputPixels: 76800 });
    assert.equal((await exact.frame(0)).image.width, 320);
    await exact.close();
    const unlimited = await vg.VideoReader.open(file, { limitInputPixels: false });
    await unlimited.close();
  });

  test('limitInputPixels must be a positive integer or false', async () => {
    for (const bad of [0, -1, 1.5, 'big', true, null]) {
      await assert.rejects(vg.VideoReader.open(file, { limitInputPixels: bad }), { code: 'ERR_BAD_ARGUMENT', message: /VideoReader\.open: expected limitInputPixels as an integer > 0 or false/ });
    }
    assert.throws(() => new vg.Client({ db: tempDir(), limitInputPixels: 0 }), { code: 'ERR_BAD_ARGUMENT', message: /Client: expected limitInputPixels/ });
  });

  test('a 5 KB H.264 file claiming 16000x16000 is refused by the default limit, in bounded memory', async () => {
    const bomb = h264Bomb(dir, { width: 16000, height: 16000 });
    assert.ok(fs.statSync(bomb).size < 20_000);
    const r = await readInChild(bomb);
    assert.equal(r.error?.code, 'ERR_INVALID_VIDEO', JSON.stringify(r));
    assert.ok(r.error.vidgraph);
    assert.match(r.error.message, /16000x16000 \(256000000 pixels\), more than limitInputPixels \(33177600\)/);
    assert.match(r.error.message, /bomb-16000x16000\.h264/);
    assert.ok(process.env.VIDGRAPH_SANITIZER || r.maxRssBytes < BOUNDED, `peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
  });

  test('a huge picture that appears mid-stream is refused inside the decoder, before it is allocated', async () => {
    // The first GOP is an honest 64x64 (what the container and the probe see); the second
    // claims 16000x16000 in a new SPS.
    const bomb = h264Bomb(dir, { width: 16000, height: 16000, prefix: true, container: 'mkv' });
    const first = await readInChild(bomb, undefined, 0);
    assert.deepEqual(first.opened, { width: 64, height: 64, frames: 20 }, JSON.stringify(first));
    assert.deepEqual(first.frame, { index: 0, width: 64, height: 64 }, JSON.stringify(first));
    const late = await readInChild(bomb, undefined, -1);
    assert.equal(late.error?.code, 'ERR_INVALID_VIDEO', JSON.stringify(late));
    assert.match(late.error.message, /late\.mkv': the picture near row 1\d is 16000x16000 \(256000000 pixels\), more than limitInputPixels \(33177600\)/);
    assert.ok(process.env.VIDGRAPH_SANITIZER || late.maxRssBytes < BOUNDED, `peak RSS ${(late.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
    // A raw stream (no timestamps) is decoded once at open to find the frame order: refused there.
    const raw = await readInChild(h264Bomb(dir, { width: 16000, height: 16000, prefix: true }));
    assert.equal(raw.error?.code, 'ERR_INVALID_VIDEO', JSON.stringify(raw));
    assert.match(raw.error.message, /16000x16000 \(256000000 pixels\), more than limitInputPixels/);
    assert.ok(process.env.VIDGRAPH_SANITIZER || raw.maxRssBytes < BOUNDED, `peak RSS ${(raw.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
  });

  test('extractFrames and the generators take limitInputPixels to VideoReader', async () => {
    const report = await vg.extractFrames({ input: file, outputDir: path.join(dir, 'frames'), limitInputPixels: 1000 });
    assert.equal(report.failed, 1);
    assert.equal(report.videos[0].error?.code, 'ERR_INVALID_VIDEO');
    assert.match(report.videos[0].error.message, /320x240 \(76800 pixels\), more than limitInputPixels \(1000\)/);
    await assert.rejects(vg.extractFrames({ input: file, outputDir: path.join(dir, 'frames'), limitInputPixels: -5 }), { code: 'ERR_BAD_ARGUMENT', message: /extractFrames: expected limitInputPixels/ });

    const root = path.join(dir, 'classes');
    fs.mkdirSync(path.join(root, 'walk'), { recursive: true });
    fs.copyFileSync(file, path.join(root, 'walk', 'a.mp4'));
    const globPattern = path.join(root, '{classname}', '*.mp4');
    const strict = new vg.VideoFrameGenerator({ globPattern, batchSize: 1, targetShape: [32, 32], limitInputPixels: 1000 });
    await assert.rejects(strict.getBatch(0), { code: 'ERR_INVALID_VIDEO', message: /more than limitInputPixels \(1000\)/ });
    const lenient = new vg.VideoFrameGenerator({ globPattern, batchSize: 1, targetShape: [32, 32] });
    assert.deepEqual((await lenient.getBatch(0)).xShape, [1, 5, 32, 32, 3]);
    assert.throws(() => new vg.VideoFrameGenerator({ globPattern, limitInputPixels: 'huge' }), { code: 'ERR_BAD_ARGUMENT', message: /generator: expected limitInputPixels/ });
  });

  test('the Client applies limitInputPixels at ingest and when a graph decodes a stored stream', async () => {
    const db = tempDir();
    const strict = new vg.Client({ db, limitInputPixels: 1000 });
    await assert.rejects(new vg.NamedVideoStream(strict, 'big', { path: file }).ingest(), { code: 'ERR_INVALID_VIDEO', message: /ingest of 'big'.*320x240 \(76800 pixels\), more than limitInputPixels \(1000\)/ });
    const lenient = new vg.Client({ db });
    await new vg.NamedVideoStream(lenient, 'big', { path: file }).ingest();
    const load = async (sc) => {
      const out = [];
      for await (const f of new vg.NamedVideoStream(sc, 'big').load({ rows: [3] })) out.push(f);
      return out;
    };
    assert.equal((await load(lenient)).length, 1);
    await assert.rejects(load(strict), { code: 'ERR_INVALID_VIDEO', message: /more than limitInputPixels \(1000\)/ });
    // A graph over the stored stream: the job fails, the others (none here) would commit.
    const run = async (sc) => {
      const hist = sc.ops.Histogram({ frame: sc.io.Input([new vg.NamedVideoStream(sc, 'big')]) });
      return sc.run(sc.io.Output(hist, [new vg.NamedStream(sc, 'big_hist')]), vg.PerfParams.manual(8, 16), { showProgress: false, cacheMode: vg.CacheMode.Overwrite });
    };
    assert.deepEqual((await run(strict)).failedJobs, ['big']);
    assert.deepEqual((await run(lenient)).failedJobs, []);
    await strict.close?.();
    await lenient.close?.();
  });
});

describe('op arguments are bounded', () => {
  const sc = new vg.Client({ db: tempDir() });
  const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);

  test('when the graph is built: Blur kernelSize 999999 and other explosive arguments are refused', () => {
    assert.throws(() => sc.ops.Blur({ frame: frames, kernelSize: 999999 }), {
      code: 'ERR_BAD_ARGUMENT',
      message: "Blur: expected an odd integer between 1 and 255 for argument 'kernelSize', got 999999 (number)",
    });
    const refused = [
      ['Blur', { kernelSize: 4 }, /an odd integer between 1 and 255/],
      ['Blur', { sigma: 1e6 }, /a number between 0 and 100 for argument 'sigma', got 1000000/],
      ['Resize', { width: 20000, height: 10 }, /Resize: expected an integer between 1 and 16384 for argument 'width', got 20000/],
      ['Resize', { width: 10, height: 0 }, /between 1 and 16384 for argument 'height'/],
      ['CloneChannels', { replications: 1000 }, /an integer between 1 and 64 for argument 'replications'/],
      ['ImageEncoder', { quality: 101 }, /an integer between 0 and 100 for argument 'quality'/],
      ['OpticalFlow', { levels: 1000 }, /between 1 and 32 for argument 'levels'/],
      ['OpticalFlow', { winSize: 99999 }, /between 1 and 255 for argument 'winSize'/],
      ['OpticalFlow', { iterations: 1e6 }, /between 1 and 100 for argument 'iterations'/],
      ['OpticalFlow', { polyN: 999 }, /between 3 and 15 for argument 'polyN'/],
      ['OpticalFlow', { pyrScale: 1 }, /a number between 0 and 1 \(exclusive\) for argument 'pyrScale'/],
    ];
    for (const [op, args, message] of refused) {
      assert.throws(() => sc.ops[op]({ frame: frames, ...args }), { code: 'ERR_BAD_ARGUMENT', message }, `${op} ${JSON.stringify(args)}`);
    }
    // The bounds themselves are accepted.
    sc.ops.Blur({ frame: frames, kernelSize: 255, sigma: 100 });
    sc.ops.Resize({ frame: frames, width: 16384, height: 1 });
    sc.ops.CloneChannels({ frame: frames, replications: 64 });
  });

  test('in the engine: a NativeKernel constructed directly cannot bypass the bounds', () => {
    const refused = [
      ['Blur', { kernelSize: 999999 }, 'Blur: expected odd integer kernelSize between 1 and 255, got 999999'],
      ['Blur', { kernelSize: 1e20 }, 'Blur: expected odd integer kernelSize between 1 and 255, got 1e+20'],
      ['Blur', { sigma: 1e9 }, 'Blur: expected sigma between 0 and 100, got 1e+09'],
      ['Resize', { width: 1e12, height: 10 }, 'Resize: expected integer width between 1 and 16384, got 1e+12'],
      ['Resize', { width: 10, height: 20000 }, 'Resize: expected integer height between 1 and 16384, got 20000'],
      ['CloneChannels', { replications: 100000 }, 'CloneChannels: expected integer replications between 1 and 64, got 100000'],
      ['ImageEncoder', { format: 'jpeg', quality: 1000 }, 'ImageEncoder: expected integer quality between 0 and 100, got 1000'],
      ['OpticalFlow', { levels: 100000 }, 'OpticalFlow: expected integer levels between 1 and 32, got 100000'],
      ['OpticalFlow', { winSize: 1e7 }, 'OpticalFlow: expected integer winSize between 1 and 255, got 1e+07'],
      ['OpticalFlow', { iterations: 1e9 }, 'OpticalFlow: expected integer iterations between 1 and 100, got 1e+09'],
      ['OpticalFlow', { polySigma: 1e9 }, 'OpticalFlow: expected polySigma between 0 and 10, got 1e+09'],
    ];
    for (const [op, args, message] of refused) {
      assert.throws(() => new native.NativeKernel(op, args), { code: 'ERR_BAD_ARGUMENT', message }, `${op} ${JSON.stringify(args)}`);
    }
    assert.ok(new native.NativeKernel('Blur', { kernelSize: 255 }));
  });
});

describe('VideoReader batches and cache', () => {
  // 4K frames (24.9 MB of RGB each), every frame a keyframe so that random reads are cheap.
  const big = makeClip('limits-4k.mp4', { width: 3840, height: 2160, seconds: 2, fps: 24, gop: 1, noise: false, extraArgs: ['-preset', 'ultrafast', '-crf', '40'] });

  test('frames() refuses a request above maxBatchBytes with ERR_RESOURCE before decoding anything', async () => {
    const r = await vg.VideoReader.open(file, { maxBatchBytes: 320 * 240 * 3 * 10 });
    await assert.rejects(r.frames([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), {
      code: 'ERR_RESOURCE',
      message: 'VideoReader.frames: 11 frames of 320x240 would take 2534400 bytes of decoded RGB, more than maxBatchBytes (2304000); ask for fewer frames per call, use iterFrames(), or raise maxBatchBytes in VideoReader.open',
    });
    assert.equal(r.stats.framesDecoded, 0);
    // Repeats cost nothing extra; ten distinct frames fit.
    assert.equal((await r.frames([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 0])).length, 12);
    // iterFrames streams whatever the range: not limited by maxBatchBytes.
    let n = 0;
    for await (const f of r.iterFrames()) n += f.index >= 0 ? 1 : 0;
    assert.equal(n, 48);
    await r.close();
    await assert.rejects(vg.VideoReader.open(file, { maxBatchBytes: 0 }), { code: 'ERR_BAD_ARGUMENT', message: /maxBatchBytes > 0, got 0/ });
  });

  test('the default maxBatchBytes (1 GiB) refuses 44 frames of 4K', async () => {
    const r = await vg.VideoReader.open(await big);
    const rows = Array.from({ length: 44 }, (_, i) => i);
    await assert.rejects(r.frames(rows), { code: 'ERR_RESOURCE', message: /44 frames of 3840x2160 would take 1094860800 bytes.*maxBatchBytes \(1073741824\)/ });
    assert.equal(r.stats.framesDecoded, 0);
    await r.close();
  });

  test('a sequential read leaves the cache empty; random requests still hit it', async () => {
    const r = await vg.VideoReader.open(file);
    for await (const f of r.iterFrames()) assert.ok(f.image);
    assert.equal(r.stats.cacheBytes, 0);
    assert.equal(r.stats.cachedFrames, 0);
    for (let i = 0; i < 48; i++) await r.frame(i);
    assert.ok(r.stats.cachedFrames <= 1, `${r.stats.cachedFrames} frames cached after frame(0..47)`);
    const cached = r.stats.cachedFrames;
    await r.frame(20);
    await r.frame(10);
    assert.equal(r.stats.cachedFrames, cached + 2, 'random requests are cached');
    const decoded = r.stats.framesDecoded;
    await r.frame(20);
    await r.frame(10);
    assert.equal(r.stats.framesDecoded, decoded, 'repeated random requests decode nothing');
    assert.equal(r.stats.cacheBytes, r.stats.cachedFrames * 320 * 240 * 3);
    await r.close();
  });

  test('the default cache holds at most 64 MiB of decoded frames', async () => {
    const r = await vg.VideoReader.open(await big);
    for (const i of [40, 3, 30, 12, 22]) await r.frame(i);
    assert.ok(r.stats.cacheBytes <= 64 * 2 ** 20, `cache holds ${r.stats.cacheBytes} bytes`);
    assert.ok(r.stats.cachedFrames >= 1);
    const decoded = r.stats.framesDecoded;
    await r.frame(22); // the most recent random request is still cached
    assert.equal(r.stats.framesDecoded, decoded);
    await r.close();
  });
});
