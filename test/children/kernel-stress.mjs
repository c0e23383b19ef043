// Child of test/safety.test.mjs: N native kernel calls, every other one failing on the engine
// thread (Histogram of a 1-channel frame), inputs detached while queued, under GC pressure.
// Prints one JSON line: { calls, failed, failedCodes, rssStart, rssAfter }.
import { createRequire } from 'node:module';
import * as vg from 'vidgraph';

const native = createRequire(import.meta.url)('../../dist/native.js').native();
const total = Number(process.argv[2] ?? 10000);
const gc = globalThis.gc ?? (() => {});

function frame(channels, seed) {
  const f = vg.Frame.alloc(32, 32, channels);
  f.data.fill(seed & 255);
  return { height: 32, width: 32, channels, dtype: 'uint8', data: f.data };
}

const kernels = [new native.NativeKernel('Histogram', {}), new native.NativeKernel('Histogram', {})];
let calls = 0;
let failed = 0;
const failedCodes = [];
let rssStart = 0;

async function round(n) {
  const pending = [];
  for (let i = 0; i < n; i++) {
    const fails = calls % 2 === 1;
    const input = frame(fails ? 1 : 3, calls);
    const p = kernels[calls % kernels.length].execute([[input]], 1);
    calls++;
    // Detach the input while its job waits (the engine works on its own copy).
    if (calls % 3 === 0) structuredClone(input.data.buffer, { transfer: [input.data.buffer] });
    pending.push(p.then(() => 'ok', (e) => { failed++; if (failedCodes.length < 100) failedCodes.push(e.code); return e.code; }));
    // GC while engine threads finish (and fail) jobs: handles released off the JS thread
    // corrupt V8's handle table exactly then.
    if (calls % 10 === 0) {
      const garbage = [];
      for (let g = 0; g < 50; g++) garbage.push({ a: new Uint8Array(1024), b: [g, g + 1] });
      if (calls % 50 === 0) gc();
    }
  }
  await Promise.all(pending);
  const garbage = [];
  for (let i = 0; i < 200; i++) garbage.push(new Uint8Array(4096).fill(i));
  gc();
}

const warmup = 500;
await round(warmup);
gc();
await new Promise((r) => setTimeout(r, 50));
gc();
rssStart = process.memoryUsage().rss;
while (calls < total) await round(Math.min(250, total - calls));
for (const k of kernels) await k.close();
gc();
await new Promise((r) => setTimeout(r, 50));
gc();
const rssAfter = process.memoryUsage().rss;
process.stdout.write(JSON.stringify({ calls, failed, failedCodes, rssStart, rssAfter }) + '\n');
