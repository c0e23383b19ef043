// The quick-start job: make a sample clip, ingest it into the embedded database, read
// frames at random and in order, and say what it did and how fast. Needs nothing but the
// package: the sample is drawn here and encoded by the engine's own H.264 encoder.
//
//   node examples/quickstart.mjs [video]     (or: npx vidgraph demo)
//   database: $VIDGRAPH_DB, else ~/.vidgraph/db; sample: $VIDGRAPH_SAMPLES, else ~/.vidgraph/samples
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vg from 'vidgraph';

const sampleDir = process.env.VIDGRAPH_SAMPLES || path.join(os.homedir(), '.vidgraph', 'samples');
const sample = process.argv[2] ?? path.join(sampleDir, 'sample-720p.mp4');
if (!fs.existsSync(sample)) {
  const t0 = performance.now();
  console.log(`making a 10 s 1280x720 sample clip: ${sample}`);
  const made = await vg.writeSampleVideo(sample, { seconds: 10, width: 1280, height: 720, fps: 30, keyframeDistance: 60 });
  console.log(`wrote ${made.frames} frames with ${made.encoder} (${(made.bytes / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

const sc = new vg.Client(); // TypeScript 5.2+: `await using sc = new vg.Client()` closes it for you
const video = new vg.NamedVideoStream(sc, path.parse(sample).name, { path: sample });
let t = performance.now();
const fresh = !(await video.exists());
await video.ingest();
const meta = await video.metadata();
console.log(`${fresh ? 'ingested' : 'found'} '${video.name()}' in ${sc.dbPath}: ${meta.frames} frames ${meta.width}x${meta.height} ${meta.codec}, ` +
  `${meta.keyframes} keyframes${fresh ? ` (indexed in ${((performance.now() - t) / 1000).toFixed(2)} s)` : ''}`);

// 50 random rows from the database, in the order asked.
const rows = Array.from({ length: 50 }, (_, i) => (i * 7919) % meta.frames);
t = performance.now();
let checksum = 0;
for await (const frame of video.load({ rows })) checksum = (checksum + frame.data[(frame.data.length >> 1)]) % 65536;
const randomSecs = (performance.now() - t) / 1000;
console.log(`loaded 50 random frames in ${randomSecs.toFixed(2)} s (${(50 / randomSecs).toFixed(1)} frames/s, checksum ${checksum})`);

// The random-access reader on the file itself: a batch, then a sequential interval.
const reader = await vg.VideoReader.open(sample);
t = performance.now();
await reader.frames([10, meta.frames - 1, meta.frames >> 1, 5]);
console.log(`VideoReader: 4 frames in ${((performance.now() - t) / 1000).toFixed(2)} s, decoded ${reader.stats.framesDecoded} (${reader.stats.seeks} keyframe intervals)`);
t = performance.now();
let n = 0;
for await (const f of reader.iterFrames({ time: [2, 6] })) n += f.image.width > 0 ? 1 : 0;
const seqSecs = (performance.now() - t) / 1000;
console.log(`VideoReader: ${n} frames in order from 2 s to 6 s in ${seqSecs.toFixed(2)} s (${(n / seqSecs).toFixed(1)} fps)`);
await reader.close();
console.log(await sc.summarize());
await sc.close();
