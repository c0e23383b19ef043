// The GPU suite (`npm run test:gpu`): on a machine with a CUDA GPU, every GPU kernel against its
// host twin (which test/gpu-kernels.test.mjs holds against OpenCV) and against the CPU op, on
// every device, and a graph on device GPU against the same graph on the CPU. Without a GPU every
// test is skipped with the reason gpuStatus() gives.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { fixture } from '../helpers/corpus.mjs';

const native = createRequire(import.meta.url)('../../dist/native.js').native();
const status = vg.gpuStatus();
const skip = status.available ? false : `no GPU can be used: ${status.reason}`;
if (skip) console.log(`vidgraph GPU suite skipped: ${skip}`);

const all = async (iterable) => {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
};
const bytes = (x) => (x instanceof Uint8Array ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : Buffer.from(x.data));

describe('GPU kernels on the device', { skip }, () => {
  const OPS = [
    ['Resize', { width: 640, height: 360 }], ['Resize', { width: 333, height: 211 }], ['Resize', { width: 960, height: 540, interpolation: 'INTER_AREA' }],
    ['Resize', { width: 700, height: 500, interpolation: 'INTER_AREA' }], ['Resize', { width: 2000, height: 1200, interpolation: 'INTER_AREA' }],
    ['ConvertColor', { conversion: 'COLOR_RGB2GRAY' }], ['ConvertColor', { conversion: 'COLOR_RGB2BGR' }],
    ['Blur', { kernelSize: 5 }], ['Blur', { kernelSize: 15, sigma: 3 }], ['Histogram', {}], ['CloneChannels', { replications: 2 }],
  ];

  test('every GPU kernel equals its host twin and the CPU op bit for bit, on every device', async () => {
    const reader = await vg.VideoReader.open(await fixture('h264_bframes_opengop.mp4'));
    const frames = (await reader.frames([0, 5, 10])).map((f) => f.image);
    await reader.close();
    for (const [op, args] of OPS) {
      const twin = new native.NativeKernel(op, args, { device: 'host-twin' });
      const cpu = new native.NativeKernel(op, args);
      const [viaTwin] = await twin.execute([frames], frames.length);
      const [viaCpu] = await cpu.execute([frames], frames.length);
      for (let g = 0; g < status.devices; g++) {
        const gpu = new native.NativeKernel(op, args, { device: 'gpu', gpu: g });
        const [viaGpu] = await gpu.execute([frames], frames.length);
        await gpu.close();
        viaGpu.forEach((f, i) => {
          assert.ok(bytes(f).equals(bytes(viaTwin[i])), `${op} ${JSON.stringify(args)} on GPU ${g}, frame ${i}: differs from the host twin`);
          assert.ok(bytes(f).equals(bytes(viaCpu[i])), `${op} ${JSON.stringify(args)} on GPU ${g}, frame ${i}: differs from the CPU op`);
        });
      }
      await twin.close();
      await cpu.close();
    }
  });

  test('a graph with ops on device GPU writes what the same graph on the CPU writes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-gpu-'));
    const sc = new vg.Client({ db: dir });
    try {
      const video = new vg.NamedVideoStream(sc, 'v', { path: await fixture('h264_bframes_opengop.mp4') });
      const graph = (device, name) => {
        const frame = sc.io.Input([video]);
        const small = sc.ops.Resize({ frame, width: 320, height: 180, device });
        const blurred = sc.ops.Blur({ frame: small, kernelSize: 5, device });
        return sc.io.Output(sc.ops.Histogram({ frame: blurred, device }), [new vg.NamedStream(sc, name)]);
      };
      await sc.run(graph(vg.DeviceType.GPU, 'gpu'), vg.PerfParams.estimate(), { showProgress: false });
      await sc.run(graph(vg.DeviceType.CPU, 'cpu'), vg.PerfParams.estimate(), { showProgress: false });
      const a = await all(new vg.NamedStream(sc, 'gpu').load());
      const b = await all(new vg.NamedStream(sc, 'cpu').load());
      assert.equal(a.length, b.length);
      a.forEach((x, i) => assert.deepEqual(x, b[i], `row ${i}`));
    } finally {
      await sc.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // NVDEC's pictures of a conforming H.264/HEVC stream are the standard's (decoding is bit-exact);
  // they come out as NV12 rather than planar 4:2:0, and swscale converts that layout on another
  // path: RGB may differ from the CPU decode's by at most 1 level.
  test('the NV12 → RGB kernel equals its host twin bit for bit, on every device', () => {
    let seed = 7;
    for (const [w, h] of [[1920, 1080], [321, 180], [2, 2], [1, 64], [999, 2]]) {
      const nv12 = new Uint8Array(w * h + Math.ceil(w / 2) * 2 * (h / 2));
      for (let i = 0; i < nv12.length; i++) nv12[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      for (const [colorspace, full] of [[2, false], [1, false], [2, true], [9, false]]) {
        const twin = Buffer.from(native.nv12ToRgb(nv12, w, h, colorspace, full, 'host-twin'));
        for (let gpu = 0; gpu < status.devices; gpu++) {
          const dev = Buffer.from(native.nv12ToRgb(nv12, w, h, colorspace, full, 'gpu', gpu));
          assert.ok(dev.equals(twin), `${w}x${h} colorspace ${colorspace}${full ? ' full range' : ''}, GPU ${gpu}: differs from the host twin`);
        }
      }
    }
  });

  test('NVDEC decode (Client gpus) gives the CPU decode\'s frames byte for byte, and stats count the GPU frames', async () => {
    for (const name of ['h264_bframes_opengop.mp4', 'hevc.mp4']) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-nvdec-'));
      const onGpu = new vg.Client({ db: dir, gpus: [0] });
      const onCpu = new vg.Client({ db: dir, gpus: [] });
      try {
        const file = await fixture(name);
        const run = async (sc, out) => {
          const frame = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
          const col = sc.io.Output(sc.streams.Gather(frame, [[0, 7, 3, 30, 31, 60]]).lossless(), [new vg.NamedStream(sc, out)]);
          return sc.run(col, vg.PerfParams.estimate(), { showProgress: false, cacheMode: vg.CacheMode.Overwrite });
        };
        const g = await run(onGpu, 'gpu');
        await run(onCpu, 'cpu');
        assert.ok(g.stats.framesOnGpu > 0, `${name}: no frame was decoded by NVDEC`);
        const a = await all(new vg.NamedStream(onGpu, 'gpu').load());
        const b = await all(new vg.NamedStream(onCpu, 'cpu').load());
        assert.equal(a.length, b.length);
        let worst = 0;
        a.forEach((f, i) => {
          const x = bytes(f), y = bytes(b[i]);
          assert.equal(x.length, y.length);
          for (let k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs(x[k] - y[k]));
        });
        console.log(`${name}: NVDEC vs CPU decode, largest difference ${worst}`);
        // 8-bit 4:2:0 of even height: converted on the device by the twin of the CPU's swscale path.
        assert.equal(worst, 0, `${name}: NVDEC frames differ from the CPU decode by up to ${worst} levels`);
      } finally {
        await onGpu.close();
        await onCpu.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('a GPU id the driver does not have is ERR_NO_GPU naming the ids there are', () => {
    assert.throws(() => new native.NativeKernel('Resize', { width: 5, height: 5 }, { device: 'gpu', gpu: status.devices }), { code: 'ERR_NO_GPU', message: /driver sees/ });
  });
});
