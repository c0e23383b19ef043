// Safety at the native boundary (issue 8): calls after close, N-API handles released on the JS
// thread only, detached buffers, checked sizes and argument types, C++ exceptions as coded
// errors, and close() that cancels at the next packet instead of blocking the event loop.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { fixture, makeClip } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

const native = createRequire(import.meta.url)('../dist/native.js').native();
const here = path.dirname(fileURLToPath(import.meta.url));
const small = await fixture('h264_bframes_opengop.mp4'); // 48 frames, 320x240
// One long GOP: a request for its last row decodes ~240 packets.
const longGop = await makeClip('safety-long-gop.mp4', { width: 640, height: 360, seconds: 10, fps: 24, gop: 240 });

/** A uint8 frame in JavaScript memory with a fixed pattern. */
function jsFrame(h, w, c = 3, seed = 1) {
  const f = vg.Frame.alloc(h, w, c);
  for (let i = 0; i < f.data.length; i++) f.data[i] = (i * 31 + seed * 7) & 255;
  return f;
}

function plain(f) {
  return { height: f.height, width: f.width, channels: f.channels, dtype: f.dtype, data: f.data };
}

/** Runs a script in a child Node process; resolves with { code, signal, stdout, stderr }. */
// `prefix`: a command that runs node (prlimit, to start it with other limits; it execs node, so
// a signal that ends node is the child's own).
function runChild(args, { timeoutMs = 120_000, env = process.env, prefix = [] } = {}) {
  return new Promise((resolve) => {
    const [command, ...rest] = [...prefix, process.execPath, ...args];
    const child = spawn(command, rest, { cwd: path.join(here, '..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

describe('calls after close() reject with ERR_CLOSED', () => {
  test('VideoReader: frame, frames, iterFrames and keyframeRows after close', async () => {
    const r = await vg.VideoReader.open(small);
    await r.frame(0);
    await r.close();
    await assert.rejects(r.frame(0), { code: 'ERR_CLOSED' });
    await assert.rejects(r.frames([1, 2]), { code: 'ERR_CLOSED' });
    assert.throws(() => r.iterFrames(), { code: 'ERR_CLOSED' });
    assert.throws(() => r.keyframeRows(), { code: 'ERR_CLOSED' });
    await r.close(); // twice is fine
  });

  test('VideoReader: close() inside an iterFrames loop ends the loop with ERR_CLOSED', async () => {
    const r = await vg.VideoReader.open(small);
    let seen = 0;
    await assert.rejects(async () => {
      for await (const f of r.iterFrames()) {
        assert.equal(f.index, seen);
        if (++seen === 3) await r.close();
      }
    }, { code: 'ERR_CLOSED' });
    assert.equal(seen, 3);
  });

  test('VideoReader: a decode in flight when close() runs is cancelled with ERR_CLOSED', async () => {
    const r = await vg.VideoReader.open(longGop, { cacheBytes: 0 });
    const far = r.frame(239); // decodes the whole GOP
    const closing = r.close();
    await assert.rejects(far, { code: 'ERR_CLOSED' });
    await closing;
  });

  test('NativeDecoder: decode after close() throws ERR_CLOSED; close() returns a promise every time', async () => {
    const r = await vg.VideoReader.open(small);
    await r.close();
    const { index } = await native.scan(small, { inplace: true });
    const d = new native.NativeDecoder(index, small, {});
    await d.decode(Int32Array.from([0]));
    const closing = d.close();
    assert.ok(closing instanceof Promise);
    assert.throws(() => d.decode(Int32Array.from([1])), { code: 'ERR_CLOSED' });
    await closing;
    await d.close();
  });

  test('NativeKernel: execute and reset after close() throw ERR_CLOSED', async () => {
    const k = new native.NativeKernel('Histogram', {});
    await k.execute([[plain(jsFrame(8, 8))]], 1);
    await k.close();
    assert.throws(() => k.execute([[plain(jsFrame(8, 8))]], 1), { code: 'ERR_CLOSED' });
    assert.throws(() => k.reset(), { code: 'ERR_CLOSED' });
    await k.close();
  });

  test('NativeEncoder: encode after finish() or close() throws ERR_CLOSED', async () => {
    const dir = tempDir();
    const e = new native.NativeEncoder(path.join(dir, 'a.bin'), { width: 16, height: 16, fpsNum: 24, fpsDen: 1 });
    await e.encode([plain(jsFrame(16, 16))]);
    await e.finish();
    assert.throws(() => e.encode([plain(jsFrame(16, 16))]), { code: 'ERR_CLOSED' });
    assert.throws(() => e.finish(), { code: 'ERR_CLOSED' });
    const e2 = new native.NativeEncoder(path.join(dir, 'b.bin'), { width: 16, height: 16, fpsNum: 24, fpsDen: 1 });
    await e2.close();
    assert.throws(() => e2.encode([plain(jsFrame(16, 16))]), { code: 'ERR_CLOSED' });
  });

  test('Client: run, loadOp and stream reads after close() reject with ERR_CLOSED', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const video = new vg.NamedVideoStream(sc, 'v', { path: small });
    await video.ingest();
    await sc.close();
    await assert.rejects(sc.listStreams(), { code: 'ERR_CLOSED' });
    await assert.rejects(video.len(), { code: 'ERR_CLOSED' });
    await assert.rejects(sc.loadOp('/nonexistent.so'), { code: 'ERR_CLOSED' });
    const out = sc.io.Output(sc.ops.FrameInfo({ frame: sc.io.Input([video]) }), [new vg.NamedStream(sc, 'o')]);
    await assert.rejects(sc.run(out, vg.PerfParams.estimate()), { code: 'ERR_CLOSED' });
  });

  test('generators: getBatch after close() rejects with ERR_CLOSED', async () => {
    const dir = tempDir();
    const fs = await import('node:fs');
    for (const cls of ['a', 'b']) {
      fs.mkdirSync(path.join(dir, cls));
      fs.copyFileSync(small, path.join(dir, cls, `${cls}.mp4`));
    }
    const gen = new vg.VideoFrameGenerator({ globPattern: path.join(dir, '{classname}', '*.mp4'), nbFrames: 2, batchSize: 1, targetShape: [16, 16], shuffle: false });
    const batch = await gen.getBatch(0);
    assert.equal(batch.xShape[0], 1);
    await gen.close();
    await assert.rejects(gen.getBatch(0), { code: 'ERR_CLOSED' });
  });
});

describe('inputs at the binding are checked before the engine reads them', () => {
  test('a frame whose buffer was transferred (detached) is refused with ERR_BAD_ARGUMENT', () => {
    const f = jsFrame(8, 8);
    const view = plain(f);
    structuredClone(f.data.buffer, { transfer: [f.data.buffer] });
    const k = new native.NativeKernel('Histogram', {});
    assert.throws(() => k.execute([[view]], 1), { code: 'ERR_BAD_ARGUMENT', message: /detached/ });
    return k.close();
  });

  test('detaching and collecting an input while its job is queued does not change the result', async () => {
    const blur = new native.NativeKernel('Blur', { kernelSize: 31, sigma: 9 });
    const expected = await blur.execute([[plain(jsFrame(64, 64, 3, 5))]], 1);
    const expectedBytes = Buffer.from(new Uint8Array(expected[0][0].data));
    // A long job first, so the second waits in the kernel's queue while its input goes away.
    const busy = Array.from({ length: 24 }, (_, i) => plain(jsFrame(720, 1280, 3, i)));
    const first = blur.execute([busy], busy.length);
    const victim = jsFrame(64, 64, 3, 5);
    const second = blur.execute([[plain(victim)]], 1);
    let moved = structuredClone(victim.data.buffer, { transfer: [victim.data.buffer] });
    new Uint8Array(moved).fill(0);
    moved = null;
    for (let i = 0; i < 20; i++) new Uint8Array(64 * 64 * 3).fill(255); // reuse freed memory
    globalThis.gc?.();
    await first;
    const got = await second;
    assert.deepEqual(Buffer.from(new Uint8Array(got[0][0].data)), expectedBytes);
    await blur.close();
  });

  test('frame sizes use checked multiplication: 2^30 x 2^30 is an error, not 0 bytes', () => {
    const k = new native.NativeKernel('Histogram', {});
    // 2^30 * 2^30 * 16 wraps to 0 in 64-bit arithmetic.
    const huge = { height: 2 ** 30, width: 2 ** 30, channels: 16, dtype: 'uint8', data: new Uint8Array(0) };
    assert.throws(() => k.execute([[huge]], 1), { code: 'ERR_BAD_ARGUMENT' });
    const wraps = { height: 65536, width: 65536, channels: 1, dtype: 'uint8', data: new Uint8Array(0) };
    assert.throws(() => k.execute([[wraps]], 1), { code: 'ERR_BAD_ARGUMENT' });
    const fractional = { height: 2.5, width: 4, channels: 3, dtype: 'uint8', data: new Uint8Array(30) };
    assert.throws(() => k.execute([[fractional]], 1), { code: 'ERR_BAD_ARGUMENT' });
    return k.close();
  });

  test('typed arrays must be of the expected type: decode() takes an Int32Array only, frames their dtype', async () => {
    const { index } = await native.scan(small, { inplace: true });
    const d = new native.NativeDecoder(index, small, {});
    assert.throws(() => d.decode(new Float64Array([0])), { code: 'ERR_BAD_ARGUMENT', message: /Int32Array/ });
    assert.throws(() => d.decode(new Uint8Array([0])), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => new native.NativeDecoder(new Float32Array(index.buffer, 0, 4), small, {}), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => new native.NativeDecoder(index, small, { threads: 1e9 }), { code: 'ERR_BAD_ARGUMENT' });
    await d.close();
    const k = new native.NativeKernel('Histogram', {});
    const f = jsFrame(4, 4);
    const wrongType = { ...plain(f), data: new Uint16Array(24) }; // 48 bytes, the right size but not uint8
    assert.throws(() => k.execute([[wrongType]], 1), { code: 'ERR_BAD_ARGUMENT', message: /element type/ });
    assert.throws(() => k.execute([[plain(f)]], -1), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => k.execute([[plain(f)]], 2 ** 40), { code: 'ERR_BAD_ARGUMENT' });
    await k.close();
  });

  test('an engine frame passed back as input is shared, and stays valid after its JS view is detached', async () => {
    const r = await vg.VideoReader.open(small, { cacheBytes: 0 });
    const { image } = await r.frame(5);
    const copy = Buffer.from(image.data);
    const hist = new native.NativeKernel('Histogram', {});
    const pending = hist.execute([[plain(image)]], 1);
    structuredClone(image.data.buffer, { transfer: [image.data.buffer] });
    globalThis.gc?.();
    const got = await pending;
    const again = await hist.execute([[{ height: 240, width: 320, channels: 3, dtype: 'uint8', data: new Uint8Array(copy) }]], 1);
    assert.deepEqual(Buffer.from(got[0][0]), Buffer.from(again[0][0]));
    await hist.close();
    await r.close();
  });
});

describe('the process survives what used to end it', () => {
  test('10,000 kernel calls, half of them throwing on the engine thread, with GC pressure and detached inputs: no crash, RSS back within 10%', async () => {
    const res = await runChild(['--expose-gc', path.join(here, 'children', 'kernel-stress.mjs'), '10000'], { timeoutMs: 300_000 });
    assert.equal(res.signal, null, `killed by ${res.signal}: ${res.stderr.slice(-2000)}`);
    assert.equal(res.code, 0, res.stderr.slice(-2000));
    const report = JSON.parse(res.stdout.trim().split('\n').pop());
    assert.equal(report.calls, 10000);
    assert.equal(report.failed, 5000);
    assert.ok(report.failedCodes.every((c) => c === 'ERR_BAD_ARGUMENT'), JSON.stringify(report.failedCodes.slice(0, 5)));
    // Under AddressSanitizer freed memory sits in its quarantine: RSS says nothing there.
    if (!process.env.VIDGRAPH_SANITIZER) assert.ok(report.rssAfter <= report.rssStart * 1.1, `RSS ${report.rssStart} → ${report.rssAfter}`);
  });

  test('a refused engine thread is ERR_RESOURCE, not std::terminate', async () => {
    // The child limits its own address space once started (prlimit on its pid), then creates
    // kernels (one engine thread each) until the system refuses one. It starts with 64 MiB
    // thread stacks, so that the refusal leaves tens of MiB for everything else: with 8 MiB
    // stacks, as little as a few KiB could be left, and any allocation anywhere might fail.
    // (LeakSanitizer's exit-time scan cannot run in a process whose address space was capped.)
    const env = { ...process.env, ASAN_OPTIONS: (process.env.ASAN_OPTIONS ?? '').replace('detect_leaks=1', 'detect_leaks=0') };
    const res = await runChild([path.join(here, 'children', 'thread-exhaustion.mjs')], {
      timeoutMs: 120_000,
      env,
      prefix: ['prlimit', `--stack=${64 << 20}`, '--'],
    });
    assert.equal(res.signal, null, `killed by ${res.signal}: ${res.stderr.slice(-2000)}`);
    assert.equal(res.code, 0, res.stderr.slice(-2000));
    const report = JSON.parse(res.stdout.trim().split('\n').pop());
    assert.equal(report.code, 'ERR_RESOURCE', JSON.stringify(report));
    assert.ok(report.created >= 1, JSON.stringify(report));
    assert.equal(report.stackKb, 64 << 10, 'the child started with 64 MiB stacks');
    assert.equal(report.afterwards, 'ok', JSON.stringify(report));
  });
});
