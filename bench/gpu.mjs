// GPU benchmark (`npx vidgraph bench --gpu`, `npm run bench:gpu`): every built-in op with a GPU
// kernel on the GPU versus the same op on the CPU, on 1080p frames decoded from one clip:
//   frames/s of each (GPU figures include the copies in and out through pinned memory), their
//   ratio, and the pixel differences of the GPU result to the kernel's host twin and to the
//   CPU op (OpenCV): both must be 0.
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

if (json) console.log(JSON.stringify({ status, rows }));
else {
  for (const r of rows) {
    say(`${r.op} ${JSON.stringify(r.args)} on GPU ${r.gpu}: ${r.gpuFps.toFixed(0)} frames/s vs CPU ${r.cpuFps.toFixed(0)} (×${r.ratio.toFixed(2)}); ` +
      `values differing from the host twin ${r.diffTwin}, from the CPU op ${r.diffCpu}`);
  }
  say('GPU decode (NVDEC): not in this engine yet: decoding runs on the CPU.');
}
if (rows.some((r) => r.diffTwin !== 0 || r.diffCpu !== 0)) {
  console.error('GPU results differ from their host twins or from the CPU ops (above)');
  process.exit(1);
}
