// tinybench micro-benchmarks of the reader's per-request costs on a small clip (ops/s with
// variance), and of the generators' globPattern listing (tinyglobby) over 3000 files in 10 class
// directories. The side-by-side throughput figures are in bench/decode.mjs.
//
//   node bench/micro.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bench } from 'tinybench';
import * as vg from 'vidgraph';
import { globClasses } from '../dist/generators/base.js';
import { makeClip } from '../test/helpers/corpus.mjs';
import { seededRandom } from '../test/helpers/util.mjs';

const clip = await makeClip('micro-480p.mp4', { width: 854, height: 480, seconds: 10, fps: 30, gop: 60, extraArgs: ['-bf', '3', '-sc_threshold', '0'] });
const cached = await vg.VideoReader.open(clip);
const uncached = await vg.VideoReader.open(clip, { cacheBytes: 0 });
const rand = seededRandom(7);
const n = cached.frameCount;
await cached.frame(100);
let next = 0;
const videos = fs.mkdtempSync(path.join(os.tmpdir(), 'vidgraph-micro-glob-'));
for (let c = 0; c < 10; c++) {
  fs.mkdirSync(path.join(videos, `class${c}`));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(videos, `class${c}`, `v${i}.avi`), '');
}

const bench = new Bench({ time: 2000, warmupTime: 200 });
bench
  .add('frame(i) repeated (cache hit)', async () => { await cached.frame(100); })
  .add('frame(i) next in order (no seek)', async () => { await cached.frame(next++ % n); })
  .add('frame(random) (seek + decode within a GOP)', async () => { await uncached.frame(Math.floor(rand() * n)); })
  .add('frames(8 random) batch', async () => { await uncached.frames(Array.from({ length: 8 }, () => Math.floor(rand() * n))); })
  .add('timeToIndex()', () => { cached.timeToIndex(rand() * 10); })
  .add('VideoReader.open (scan 300 packets)', async () => { await (await vg.VideoReader.open(clip)).close(); })
  .add('globPattern over 3000 files, 10 classes', () => { globClasses(path.join(videos, '{classname}', '*.avi')); });
await bench.run();
console.log(`clip: 854x480 h264, ${n} frames, GOP 60`);
console.table(bench.table());
await cached.close();
await uncached.close();
fs.rmSync(videos, { recursive: true, force: true });
