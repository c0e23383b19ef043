// The GPU kernels without a GPU: their per-pixel arithmetic (cpp/kernels/cuda/pixel_ops.h) is
// compiled for the CPU too, and these host twins must equal OpenCV (Debian's python3-opencv, an
// independent build) pixel for pixel. The CUDA kernels call the same functions, so on a GPU
// `npm run test:gpu` compares each device kernel with its twin. Also here: device selection,
// the fallbacks and every error path that needs no GPU.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { execFileSync } from 'node:child_process';
import { fixture, makeClip, oracle } from './helpers/corpus.mjs';
import { cvMany } from './helpers/opencv-oracle.mjs';

const native = createRequire(import.meta.url)('../dist/native.js').native();

// A decoded frame (real picture content) and noise frames of awkward sizes (1 pixel, odd, thin).
const reader = await vg.VideoReader.open(await fixture('h264_bframes_opengop.mp4'));
const decoded = (await reader.frame(10)).image;
await reader.close();

let seed = 12345;
function noise(height, width, channels) {
  const data = new Uint8Array(height * width * channels);
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    data[i] = seed >>> 24;
  }
  return vg.Frame.from(data, height, width, channels);
}
const frames = {
  decoded,
  noise3: noise(61, 97, 3),
  noise1: noise(45, 64, 1),
  tiny3: noise(2, 3, 3),
  pixel: noise(1, 1, 3),
  thin: noise(1, 40, 3),
};

async function twin(op, args, frame) {
  const k = new native.NativeKernel(op, args, { device: 'host-twin' });
  try {
    const [[out]] = await k.execute([[frame]], 1);
    return out;
  } finally {
    await k.close();
  }
}

function bytes(x) {
  if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return Buffer.from(x.data instanceof ArrayBuffer ? x.data : x.data.buffer);
}

// Runs every case's twin, then OpenCV on all of them in one Python process, and compares.
async function compareAll(cases) {
  const ours = [];
  for (const c of cases) ours.push(await twin(c.op, c.args, frames[c.frame]));
  const theirs = cvMany(cases.map((c) => ({ expr: c.cv, frame: frames[c.frame] })));
  cases.forEach((c, i) => {
    const what = `${c.op} ${JSON.stringify(c.args)} on ${c.frame}`;
    const expected = theirs[i];
    const out = ours[i];
    if (c.compare) return c.compare(out, expected, what);
    const shape = out.channels === 1 ? [out.height, out.width] : [out.height, out.width, out.channels];
    assert.deepEqual(shape, expected.shape, `${what}: shape`);
    const a = bytes(out);
    let differ = 0;
    for (let j = 0; j < a.length; j++) if (a[j] !== expected.data[j]) differ++;
    assert.equal(differ, 0, `${what}: ${differ} of ${a.length} values differ from OpenCV`);
  });
}

const cvSize = (w, h) => `(${w}, ${h})`;

describe('GPU kernels, host-compiled, against OpenCV', () => {
  test('Resize INTER_LINEAR equals cv2.resize bit for bit: down, up, halving, one pixel, thin', async () => {
    const cases = [];
    for (const [frame, w, h] of [['decoded', 100, 70], ['decoded', 501, 333], ['noise3', 48, 30], ['noise3', 40, 25], ['noise3', 200, 150], ['noise1', 32, 22], ['noise1', 13, 90], ['tiny3', 7, 5], ['pixel', 4, 3], ['thin', 9, 6], ['noise3', 97, 61]]) {
      cases.push({ op: 'Resize', args: { width: w, height: h }, frame, cv: `cv2.resize(img, ${cvSize(w, h)}, interpolation=cv2.INTER_LINEAR)` });
    }
    await compareAll(cases);
  });

  test('Resize INTER_AREA equals cv2.resize bit for bit: whole blocks, fractional, enlarging, mixed', async () => {
    const cases = [];
    for (const [frame, w, h] of [['decoded', 64, 48], ['noise3', 32, 20], ['noise3', 33, 23], ['noise1', 16, 15], ['noise3', 130, 70], ['noise3', 150, 40], ['tiny3', 1, 1], ['thin', 7, 3], ['decoded', 123, 77]]) {
      cases.push({ op: 'Resize', args: { width: w, height: h, interpolation: 'INTER_AREA' }, frame, cv: `cv2.resize(img, ${cvSize(w, h)}, interpolation=cv2.INTER_AREA)` });
    }
    await compareAll(cases);
  });

  test('ConvertColor equals cv2.cvtColor bit for bit for every conversion with a GPU kernel', async () => {
    const cases = [
      ['COLOR_RGB2GRAY', 'decoded'], ['COLOR_BGR2GRAY', 'noise3'], ['COLOR_RGB2BGR', 'noise3'], ['COLOR_BGR2RGB', 'tiny3'],
      ['COLOR_GRAY2RGB', 'noise1'], ['COLOR_GRAY2BGR', 'noise1'], ['COLOR_RGB2GRAY', 'pixel'],
    ].map(([conversion, frame]) => ({ op: 'ConvertColor', args: { conversion }, frame, cv: `cv2.cvtColor(img, cv2.${conversion})` }));
    await compareAll(cases);
  });

  test('Blur equals cv2.GaussianBlur bit for bit: table kernels, sigma kernels, kernels wider than the frame', async () => {
    const cases = [];
    for (const [frame, k, s] of [['decoded', 3, 0], ['decoded', 5, 0], ['noise3', 7, 0], ['noise3', 9, 0], ['noise1', 5, 1.5], ['noise3', 15, 3], ['noise1', 1, 0], ['tiny3', 5, 0], ['thin', 7, 2], ['noise3', 31, 0]]) {
      cases.push({ op: 'Blur', args: { kernelSize: k, sigma: s }, frame, cv: `cv2.GaussianBlur(img, (${k}, ${k}), ${s}, sigmaY=${s})` });
    }
    await compareAll(cases);
  });

  test('Histogram equals cv2.calcHist with 16 bins per channel over [0, 256)', async () => {
    const cases = ['decoded', 'noise3', 'pixel'].map((frame) => ({
      op: 'Histogram', args: {}, frame,
      cv: 'np.concatenate([cv2.calcHist([img], [c], None, [16], [0, 256]).ravel() for c in range(3)]).astype(np.int32)',
      compare: (out, expected, what) => assert.ok(bytes(out).equals(expected.data), `${what}: bins differ from OpenCV`),
    }));
    await compareAll(cases);
  });

  test('CloneChannels equals cv2.merge of the planes repeated', async () => {
    const cases = [['decoded', 2], ['noise1', 3], ['noise3', 1], ['tiny3', 5]].map(([frame, n]) => ({
      op: 'CloneChannels', args: { replications: n }, frame, cv: `cv2.merge(list(cv2.split(img)) * ${n})`,
    }));
    await compareAll(cases);
  });

  test('each host twin equals the engine CPU op it stands in for', async () => {
    for (const [op, args] of [['Resize', { width: 111, height: 77 }], ['Resize', { width: 160, height: 120, interpolation: 'INTER_AREA' }], ['Blur', { kernelSize: 9, sigma: 2 }], ['ConvertColor', { conversion: 'COLOR_RGB2GRAY' }], ['Resize', { width: 100, height: 100, preserveAspect: true }]]) {
      const cpu = new native.NativeKernel(op, args);
      const [[viaCpu]] = await cpu.execute([[decoded]], 1);
      await cpu.close();
      const viaTwin = await twin(op, args, decoded);
      assert.deepEqual([viaTwin.width, viaTwin.height, viaTwin.channels], [viaCpu.width, viaCpu.height, viaCpu.channels], op);
      assert.ok(bytes(viaTwin).equals(bytes(viaCpu)), `${op} ${JSON.stringify(args)}: twin and CPU op differ`);
    }
  });
});

// NVDEC's pictures are NV12 (4:2:0, U and V interleaved); the decoder converts them on the device
// by the CUDA twin of the conversion the CPU decode goes through. The decoded planes come from the
// ffmpeg CLI (yuv420p, or yuvj420p for full range: no conversion), interleaved here into NV12.
function nv12Frames(file, pixFmt, width, height, count) {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-threads', '1', '-i', file, '-frames:v', String(count), '-pix_fmt', pixFmt, '-f', 'rawvideo', '-'],
    { maxBuffer: 1 << 30 });
  const cw = Math.ceil(width / 2), ch = height / 2, luma = width * height, planar = luma + 2 * cw * ch;
  const frames = [];
  for (let f = 0; f < count; f++) {
    const src = raw.subarray(f * planar, (f + 1) * planar);
    const nv12 = new Uint8Array(luma + 2 * cw * ch);
    nv12.set(src.subarray(0, luma));
    for (let i = 0; i < cw * ch; i++) {
      nv12[luma + 2 * i] = src[luma + i];
      nv12[luma + 2 * i + 1] = src[luma + cw * ch + i];
    }
    frames.push(nv12);
  }
  return frames;
}

describe('NVDEC colour conversion, host-compiled, against the CPU decode', () => {
  test('the NV12 → RGB twin equals the ffmpeg CLI\'s rgb24 and the CPU reader byte for byte: BT.601, BT.709, full range, widths not a multiple of 8', async (t) => {
    if (process.arch !== 'x64') return t.skip(`the twin reproduces swscale's x86 converter; this is ${process.arch}`);
    const clips = [
      { name: 'nv12_601.mp4', width: 640, height: 360, extraArgs: [], pixFmt: 'yuv420p', colorspace: 2, full: false },
      { name: 'nv12_709.mp4', width: 1280, height: 720, extraArgs: ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709'], pixFmt: 'yuv420p', colorspace: 1, full: false },
      { name: 'nv12_full.mp4', width: 320, height: 240, extraArgs: [], pixFmt: 'yuvj420p', colorspace: 2, full: true },
      { name: 'nv12_narrow.mp4', width: 322, height: 182, extraArgs: [], pixFmt: 'yuv420p', colorspace: 2, full: false },
    ];
    for (const c of clips) {
      const file = await makeClip(c.name, { width: c.width, height: c.height, seconds: 0.5, extraArgs: c.extraArgs, pixFmt: c.pixFmt });
      const cli = await oracle(file);
      const r = await vg.VideoReader.open(file);
      try {
        const nv12 = nv12Frames(file, c.pixFmt, c.width, c.height, 3);
        for (let i = 0; i < nv12.length; i++) {
          const ours = Buffer.from(native.nv12ToRgb(nv12[i], c.width, c.height, c.colorspace, c.full, 'host-twin'));
          const expected = cli.frame(i);
          let differ = 0;
          for (let j = 0; j < ours.length; j++) if (ours[j] !== expected[j]) differ++;
          assert.equal(differ, 0, `${c.name} frame ${i}: ${differ} of ${ours.length} values differ from the CLI's rgb24`);
          assert.ok(ours.equals(bytes((await r.frame(i)).image)), `${c.name} frame ${i}: differs from the CPU reader`);
        }
      } finally {
        await r.close();
      }
    }
  });

  test('a picture that arrives as RGB24 (as the device conversion hands it over) is passed through unchanged', async () => {
    const file = await makeClip('rgb24_png.mov', { width: 322, height: 182, seconds: 0.25, codec: 'png', pixFmt: 'rgb24' });
    const cli = await oracle(file);
    const r = await vg.VideoReader.open(file);
    try {
      for (let i = 0; i < 3; i++) assert.ok(bytes((await r.frame(i)).image).equals(cli.frame(i)), `frame ${i} differs from the CLI's`);
    } finally {
      await r.close();
    }
  });

  test('the conversion refuses pictures it does not reproduce (odd heights) and wrong sizes with ERR_BAD_ARGUMENT', () => {
    assert.throws(() => native.nv12ToRgb(new Uint8Array(6 * 3 + 6 * 2), 6, 3, 2, false, 'host-twin'), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => native.nv12ToRgb(new Uint8Array(10), 6, 4, 2, false, 'host-twin'), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => native.nv12ToRgb('x', 6, 4, 2, false, 'host-twin'), { code: 'ERR_BAD_ARGUMENT' });
  });
});

describe('GPU kernels: the build', () => {
  test('where nvcc is installed, the engine is built with its CUDA kernels (CI compiles every CUDA source)', async (t) => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const onPath = (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, 'nvcc')));
    if (!onPath && !fs.existsSync('/usr/local/cuda/bin/nvcc') && !process.env.CUDACXX) return t.skip('no nvcc on this machine: the engine is built without CUDA');
    assert.equal(vg.gpuStatus().built, true, 'nvcc is here, but the engine was built without its CUDA kernels');
    assert.ok(vg.gpuStatus().runtimeVersion >= 12000, `CUDA runtime ${vg.gpuStatus().runtimeVersion}`);
  });
});

describe('GPU kernels: arguments and errors', () => {
  test('an op without a GPU kernel, or an argument the GPU kernel lacks, is ERR_BAD_ARGUMENT naming it', () => {
    assert.throws(() => new native.NativeKernel('OpticalFlow', {}, { device: 'host-twin' }), { code: 'ERR_BAD_ARGUMENT', message: /OpticalFlow has no GPU kernel \(GPU kernels: Resize, ConvertColor, Blur, Histogram, CloneChannels\)/ });
    assert.throws(() => new native.NativeKernel('Resize', { width: 10, height: 10, interpolation: 'INTER_CUBIC' }, { device: 'host-twin' }), { code: 'ERR_BAD_ARGUMENT', message: /INTER_CUBIC has no GPU kernel/ });
    assert.throws(() => new native.NativeKernel('ConvertColor', { conversion: 'COLOR_RGB2HSV' }, { device: 'host-twin' }), { code: 'ERR_BAD_ARGUMENT', message: /COLOR_RGB2HSV has no GPU kernel/ });
    assert.throws(() => new native.NativeKernel('Resize', { width: 0, height: 10 }, { device: 'host-twin' }), { code: 'ERR_BAD_ARGUMENT', message: /expected integer width between 1 and 16384, got 0/ });
    assert.throws(() => new native.NativeKernel('Resize', { width: 5, height: 5 }, { device: 'tpu' }), { code: 'ERR_BAD_ARGUMENT', message: /unknown device 'tpu'/ });
    assert.throws(() => new native.NativeKernel('Resize', { width: 5, height: 5 }, { device: 'gpu', gpu: -1 }), { code: 'ERR_BAD_ARGUMENT', message: /GPU id/ });
  });

  test('a GPU kernel given a frame it cannot take rejects with ERR_BAD_ARGUMENT, and the kernel still works', async () => {
    const k = new native.NativeKernel('ConvertColor', { conversion: 'COLOR_RGB2GRAY' }, { device: 'host-twin' });
    await assert.rejects(k.execute([[frames.noise1]], 1), { code: 'ERR_BAD_ARGUMENT', message: /cannot convert a 1-channel frame/ });
    await assert.rejects(k.execute([[vg.Frame.from(new Float32Array(12), 2, 2, 3)]], 1), { code: 'ERR_BAD_ARGUMENT', message: /uint8 frames/ });
    const [[gray]] = await k.execute([[frames.noise3]], 1);
    assert.equal(gray.channels, 1);
    await k.close();
    const h = new native.NativeKernel('Histogram', {}, { device: 'host-twin' });
    await assert.rejects(h.execute([[frames.noise1]], 1), { message: /Histogram: expected a uint8 frame with 3 channels/ });
    const [[none]] = await h.execute([[null]], 1);
    assert.equal(none, null);
    await h.close();
  });
});

const status = vg.gpuStatus();

describe('GPU selection without a GPU', { skip: status.available ? `a GPU is present (${status.names.join(', ')}): npm run test:gpu covers it` : false }, () => {
  test('gpuStatus() says why no GPU can be used, naming what is missing', () => {
    assert.equal(status.available, false);
    assert.match(status.reason, /no NVIDIA driver|driver|no CUDA device|built without CUDA|CUDA runtime/);
    assert.equal(typeof status.built, 'boolean');
    assert.equal(status.devices, status.names.length);
  });

  test('a GPU kernel asked for directly is ERR_NO_GPU with the reason', () => {
    assert.throws(() => new native.NativeKernel('Resize', { width: 5, height: 5 }, { device: 'gpu', gpu: 0 }), (err) => {
      assert.equal(err.code, 'ERR_NO_GPU');
      assert.ok(err.message.includes(status.reason), err.message);
      return true;
    });
  });

  test('the NV12 conversion kernel asked for directly is ERR_NO_GPU with the reason', () => {
    assert.throws(() => native.nv12ToRgb(new Uint8Array(6 * 4 + 6 * 2), 6, 4, 2, false, 'gpu', 0), (e) => e.code === 'ERR_NO_GPU' && e.message.includes(status.reason));
  });

  test('NVDEC decode asked for directly is ERR_NO_GPU with the reason, before any decoding', async () => {
    const path = await fixture('h264_bframes_opengop.mp4');
    const video = await vg.VideoReader.open(path);
    await video.close();
    const { mkdtempSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const p = await import('node:path');
    const dir = mkdtempSync(p.join(os.tmpdir(), 'vg-nvdec-'));
    const sc = new vg.Client({ db: dir });
    try {
      const stream = new vg.NamedVideoStream(sc, 'v', { path });
      await assert.rejects(stream.openSource({ gpu: 0 }), (err) => {
        assert.equal(err.code, 'ERR_NO_GPU');
        assert.match(err.message, /NVDEC decode: no CUDA GPU can be used: /);
        assert.ok(err.message.includes(status.reason), err.message);
        return true;
      });
    } finally {
      await sc.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Client gpus naming a GPU that cannot be used decodes on the CPU, with one VIDGRAPH_NO_GPU warning', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const p = await import('node:path');
    const dir = mkdtempSync(p.join(os.tmpdir(), 'vg-nvdec-'));
    const sc = new vg.Client({ db: dir, gpus: [0] });
    const warnings = [];
    const onWarning = (w) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      assert.equal(sc.hasGpu(), false);
      const frame = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: await fixture('h264_bframes_opengop.mp4') })]);
      const out = sc.io.Output(sc.ops.Histogram({ frame: sc.streams.Gather(frame, [[0, 5, 40]]) }), [new vg.NamedStream(sc, 'h')]);
      const result = await sc.run(out, vg.PerfParams.estimate(), { showProgress: false });
      await new Promise((r) => setImmediate(r));
      assert.equal(result.stats.framesOnGpu, 0);
      assert.ok(result.stats.framesDecoded > 0);
      assert.equal(await new vg.NamedStream(sc, 'h').len(), 3);
      const ours = warnings.filter((w) => w.code === 'VIDGRAPH_NO_GPU');
      assert.equal(ours.length, 1, warnings.map((w) => w.message).join('\n'));
      assert.match(ours[0].message, /gpus names GPUs, but no CUDA GPU can be used \(.+\): videos are decoded on the CPU/);
    } finally {
      process.off('warning', onWarning);
      await sc.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('npm run test:gpu and vidgraph bench --gpu skip, printing the reason, and succeed', async () => {
    const { execFileSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('..', import.meta.url));
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // a test run of its own, reporting as a terminal run does
    const suite = execFileSync(process.execPath, ['--test', '--test-reporter=tap', 'test/gpu/gpu.test.mjs'], { cwd: root, encoding: 'utf8', env });
    assert.ok(suite.includes(`vidgraph GPU suite skipped: no GPU can be used: ${status.reason}`), suite);
    assert.match(suite, /# SKIP no GPU can be used/);
    const bench = execFileSync(process.execPath, ['bin/vidgraph.js', 'bench', '--gpu'], { cwd: root, encoding: 'utf8' });
    assert.ok(bench.includes(`skipped: no GPU can be used: ${status.reason}`), bench);
    assert.match(bench, /not run on a GPU/);
  });

  test('sc.hasGpu() is false, and a graph op on device GPU fails the run with ERR_NO_GPU naming the op and the reason', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-gpu-'));
    const sc = new vg.Client({ db: dir });
    const forced = new vg.Client({ db: dir, gpus: [] });
    try {
      assert.equal(sc.hasGpu(), false);
      assert.equal(forced.hasGpu(), false);
      const video = new vg.NamedVideoStream(sc, 'v', { path: await fixture('h264_bframes_opengop.mp4') });
      const frame = sc.io.Input([video]);
      const small = sc.ops.Resize({ frame, width: 64, height: 48, device: vg.DeviceType.GPU });
      const out = sc.io.Output(small, [new vg.NamedStream(sc, 'small')]);
      await assert.rejects(sc.run(out, vg.PerfParams.estimate(), { showProgress: false }), (err) => {
        assert.equal(err.code, 'ERR_NO_GPU');
        assert.match(err.message, /^Resize: device GPU was asked for, but no CUDA GPU can be used: /);
        assert.ok(err.message.includes(status.reason), err.message);
        return true;
      });
      const frame2 = forced.io.Input([new vg.NamedVideoStream(forced, 'v')]);
      const out2 = forced.io.Output(forced.ops.Blur({ frame: frame2, device: vg.DeviceType.GPU }), [new vg.NamedStream(forced, 'blurred')]);
      await assert.rejects(forced.run(out2, vg.PerfParams.estimate(), { showProgress: false }), { code: 'ERR_NO_GPU', message: /gpus: \[\] forces the CPU/ });
      // The same graph on the CPU runs.
      const cpu = sc.io.Output(sc.ops.Resize({ frame, width: 64, height: 48 }), [new vg.NamedStream(sc, 'small-cpu')]);
      await sc.run(cpu, vg.PerfParams.estimate(), { showProgress: false });
      assert.ok((await new vg.NamedStream(sc, 'small-cpu').len()) > 0);
    } finally {
      await sc.close();
      await forced.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
