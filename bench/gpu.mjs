// GPU benchmark (`npx vidgraph bench --gpu`, `npm run bench:gpu`): every built-in op with a GPU
// kernel on the GPU versus the same op on the CPU, on 1080p frames decoded from one clip:
//   frames/s of each (GPU figures include the copies in and out through pinned memory), their
//   ratio, and the pixel differences of the GPU result to the kernel's host twin and to the
//   CPU op (OpenCV): both must be 0.
// Then NVDEC: a 1080p H.264 clip decoded whole by 1, 2 and 4 concurrent streams on GPU 0 versus
// the same on the CPU (frames/s in all), and the largest difference of NVDEC's RGB frames to the
// CPU decode's (none: NVDEC's NV12 is converted on the device by the twin of the CPU's swscale
// arithmetic; see the README's GPU section).
// Without a usable GPU it prints why and exits 0: nothing here is simulated.
//
//   node bench/gpu.mjs [--json]
import { createRequire } from 'node:module';
import * as vg from 'vidgraph';
import { makeClip, requireFfmpeg } from './clip.mjs';

const json = process.argv.includes('--json');
const native = createRequire(import.meta.url)('../dist/native.js').native();
const status = vg.gpuStatus();
const say = (line) => { if (!json) console.log(line); };

say(`vidgraph GPU benchmark: engine built ${status.built ? `with CUDA ${Math.floor(status.runtimeVersion / 1000)}.${(status.runtimeVersion % 1000) / 10}` : 'without CUDA'}; ` +
  `${status.devices} device${status.devices === 1 ? '' : 's'}${status.names.length ? ` (${status.names.join(', ')})` : ''}`);
if (!status.available) {
  if (json) console.log(JSON.stringify({ skipped: true, reason: status.reason, status }));
  else console.log(`skipped: no GPU can be used: ${status.reason}\nThese figures were not measured: not run on a GPU.`);
  process.exit(0);
}

requireFfmpeg();
const clip = await makeClip('gpu-1080p', { width: 1920, height: 1080, seconds: 2, fps: 30, gop: 30 });
const reader = await vg.VideoReader.open(clip);
const frames = (await reader.frames([0, 10, 20, 30, 40, 50, 59])).map((f) => f.image);
await reader.close();

const OPS = [
  ['Resize', { width: 640, height: 360 }],
  ['Resize', { width: 960, height: 540, interpolation: 'INTER_AREA' }],
  ['Resize', { width: 1280, height: 720, interpolation: 'INTER_AREA' }],
  ['ConvertColor', { conversion: 'COLOR_RGB2GRAY' }],
  ['Blur', { kernelSize: 9, sigma: 2 }],
  ['Histogram', {}],
  ['CloneChannels', { replications: 2 }],
];

const bytes = (x) => (x instanceof Uint8Array ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : Buffer.from(x.data));
function differing(a, b) {
  const x = bytes(a), y = bytes(b);
  if (x.length !== y.length) return Infinity;
  let n = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) n++;
  return n;
}

async function timed(kernel, rounds) {
  await kernel.execute([frames], frames.length); // warm-up: buffers, plans, the CUDA context
  const t = performance.now();
  for (let r = 0; r < rounds; r++) await kernel.execute([frames], frames.length);
  return (rounds * frames.length) / ((performance.now() - t) / 1000);
}

const rows = [];
for (const [op, args] of OPS) {
  const cpu = new native.NativeKernel(op, args);
  const twin = new native.NativeKernel(op, args, { device: 'host-twin' });
  const rowsOf = [];
  for (let g = 0; g < status.devices; g++) {
    const gpu = new native.NativeKernel(op, args, { device: 'gpu', gpu: g });
    const [viaGpu] = await gpu.execute([frames], frames.length);
    const [viaTwin] = await twin.execute([frames], frames.length);
    const [viaCpu] = await cpu.execute([frames], frames.length);
    const diffTwin = viaGpu.reduce((s, f, i) => s + differing(f, viaTwin[i]), 0);
    const diffCpu = viaGpu.reduce((s, f, i) => s + differing(f, viaCpu[i]), 0);
    const gpuFps = await timed(gpu, 10);
    const cpuFps = g === 0 ? await timed(cpu, 3) : rows.at(-1).cpuFps;
    await gpu.close();
    rowsOf.push({ op, args, gpu: g, gpuFps, cpuFps, ratio: gpuFps / cpuFps, diffTwin, diffCpu });
  }
  await cpu.close();
  await twin.close();
  rows.push(...rowsOf);
}

for (const r of rows) {
  say(`${r.op} ${JSON.stringify(r.args)} on GPU ${r.gpu}: ${r.gpuFps.toFixed(0)} frames/s vs CPU ${r.cpuFps.toFixed(0)} (×${r.ratio.toFixed(2)}); ` +
    `values differing from the host twin ${r.diffTwin}, from the CPU op ${r.diffCpu}`);
}

// ---- NVDEC ----
const fs = await import('node:fs');
const os = await import('node:os');
const path = await import('node:path');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-bench-gpu-'));
const sc = new vg.Client({ db: dir });
const stream = new vg.NamedVideoStream(sc, 'clip', { path: clip });
const all = Array.from({ length: (await stream.metadata()).frames }, (_, i) => i);
async function decodeAll(gpu, concurrent) {
  const sources = await Promise.all(Array.from({ length: concurrent }, () => stream.openSource({ gpu })));
  const t = performance.now();
  let onGpu = 0;
  await Promise.all(sources.map(async (s) => {
    for (let i = 0; i < all.length; i += 30) await s.decodeRows(all.slice(i, i + 30));
    onGpu += s.stats.framesOnGpu;
  }));
  const fps = (concurrent * all.length) / ((performance.now() - t) / 1000);
  await Promise.all(sources.map((s) => s.close()));
  return { fps, onGpu };
}
const decode = [];
for (const n of [1, 2, 4]) {
  const gpu = await decodeAll(0, n);
  const cpu = await decodeAll(undefined, n);
  decode.push({ streams: n, gpuFps: gpu.fps, cpuFps: cpu.fps, ratio: gpu.fps / cpu.fps, framesOnGpu: gpu.onGpu });
  say(`NVDEC, ${n} concurrent stream${n === 1 ? '' : 's'}: ${gpu.fps.toFixed(0)} frames/s vs CPU ${cpu.fps.toFixed(0)} (×${(gpu.fps / cpu.fps).toFixed(2)}); ${gpu.onGpu} frames decoded on the GPU`);
}
const probeRows = [0, 1, 2, 15, 30, 59];
const viaGpu = await stream.openSource({ gpu: 0 });
const viaCpu = await stream.openSource();
const a = await viaGpu.decodeRows(probeRows);
const b = await viaCpu.decodeRows(probeRows);
let worstDecode = 0;
for (const r of probeRows) {
  const x = Buffer.from(a.get(r).data.buffer, a.get(r).data.byteOffset, a.get(r).data.byteLength);
  const y = Buffer.from(b.get(r).data.buffer, b.get(r).data.byteOffset, b.get(r).data.byteLength);
  for (let k = 0; k < x.length; k++) worstDecode = Math.max(worstDecode, Math.abs(x[k] - y[k]));
}
await viaGpu.close();
await viaCpu.close();
await sc.close();
fs.rmSync(dir, { recursive: true, force: true });
say(`NVDEC frames vs CPU decode: largest difference ${worstDecode} level(s) (allowed: 0)`);
if (json) console.log(JSON.stringify({ status, rows, decode, worstDecode }));
if (worstDecode > 0) {
  console.error('NVDEC frames differ from the CPU decode');
  process.exit(1);
}
if (rows.some((r) => r.diffTwin !== 0 || r.diffCpu !== 0)) {
  console.error('GPU results differ from their host twins or from the CPU ops (above)');
  process.exit(1);
}
