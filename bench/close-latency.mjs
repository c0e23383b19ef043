// How long close() holds the event loop while the engine is busy (issue 8, item 13).
// A reader decoding a long 1080p GOP and a kernel working through a batch are closed mid-work;
// monitorEventLoopDelay records the loop's worst stall from the close() call until it resolves.
// The ceiling is one packet: close() should cost at most about one frame's decode time, so the
// report gives the stall as a ratio to the per-frame decode time the ffmpeg CLI shows here.
//
//   node --expose-gc bench/close-latency.mjs [--quick]      (npm run bench:close)
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vg from 'vidgraph';
import { makeClip } from '../test/helpers/corpus.mjs';

const quick = process.argv.includes('--quick');
const native = createRequire(import.meta.url)('../dist/native.js').native();
const reps = quick ? 3 : 7;
const clip = await makeClip('bench-close-1080p.mp4', { width: 1920, height: 1080, seconds: 10, fps: 30, gop: 300, noise: true,
  extraArgs: ['-bf', '3', '-b:v', '16M'] });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The ceiling: the CLI's per-frame decode time on this clip.
let t = performance.now();
execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-i', clip, '-f', 'null', '-']);
const probe = await vg.VideoReader.open(clip);
const perFrameMs = (performance.now() - t) / probe.frameCount;
await probe.close();

// The loop's worst stall while close() runs: the synchronous part of the call, and the longest
// gap between 1 ms ticks until it resolves (monitorEventLoopDelay cannot see a stall that starts
// before its first sample, as a blocking close() does).
async function measure(start) {
  const close = await start();
  await new Promise((r) => setTimeout(r, 150)); // the engine is mid-work now
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => { const n = performance.now(); maxGap = Math.max(maxGap, n - last); last = n; }, 1);
  await new Promise((r) => setTimeout(r, 20));
  maxGap = 0;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  last = t0;
  const closing = close();
  const syncMs = performance.now() - t0;
  await closing;
  const closeMs = performance.now() - t0;
  clearInterval(ticker);
  h.disable();
  globalThis.gc?.();
  return { stallMs: Math.max(syncMs, maxGap, h.max / 1e6), closeMs };
}

const readerRuns = [];
for (let i = 0; i < reps; i++) {
  readerRuns.push(await measure(async () => {
    const r = await vg.VideoReader.open(clip, { cacheBytes: 0 });
    const far = r.frame(299).catch((e) => e.code);
    return async () => { await r.close(); await far; };
  }));
}
const kernelRuns = [];
// An engine frame (a decoded 1080p picture), so the batch is shared with the kernel, not copied.
const frameReader = await vg.VideoReader.open(clip, { cacheBytes: 0 });
const { image } = await frameReader.frame(0);
await frameReader.close();
const frame = { height: image.height, width: image.width, channels: 3, dtype: 'uint8', data: image.data };
for (let i = 0; i < reps; i++) {
  kernelRuns.push(await measure(async () => {
    const k = new native.NativeKernel('Blur', { kernelSize: 31, sigma: 8 });
    const busy = k.execute([Array(48).fill(frame)], 48); // still blurring when close() is called
    return async () => { const c = k.close(); await c; await busy; };
  }));
}

const row = (name, runs) => {
  const stall = median(runs.map((r) => r.stallMs));
  const close = median(runs.map((r) => r.closeMs));
  return `${name.padEnd(34)} event-loop stall ${stall.toFixed(1).padStart(6)} ms (${(stall / perFrameMs).toFixed(2)}× one frame's decode)   close() resolves in ${close.toFixed(1)} ms`;
};
console.log(`per-frame decode (ffmpeg CLI, 1080p): ${perFrameMs.toFixed(2)} ms; medians of ${reps} runs`);
console.log(row('VideoReader.close() mid-GOP', readerRuns));
console.log(row('NativeKernel.close() mid-batch', kernelRuns));
