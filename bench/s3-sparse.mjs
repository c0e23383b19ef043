// S3 requests and bytes per decoded GOP: a Stride-60 read versus a full read of a GOP-60 clip
// stored in the S3 backend (s3rver on loopback, so the figures count requests and bytes, not
// network time). Each read is a Histogram run over a fresh client (a cold cache).
//
//   node bench/s3-sparse.mjs [--seconds 40] [--json]
//
// Needs the ffmpeg CLI on PATH (the clip is generated and cached, see ./clip.mjs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import S3rver from 's3rver';
import * as vg from 'vidgraph';
import { makeClip, requireFfmpeg } from './clip.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '40' }, json: { type: 'boolean', default: false } } });
requireFfmpeg();
const seconds = Number(values.seconds);
const file = await makeClip('s3_gop60.mp4', { width: 1280, height: 720, seconds, fps: 30, gop: 60 });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vidgraph-bench-s3rver-'));
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'vgbench' }] });
const { port } = await server.run();
process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
const storage = { type: 's3', bucket: 'vgbench', prefix: `bench-${process.pid}`, endpoint: `http://127.0.0.1:${port}` };

async function measure(label, build) {
  const sc = new vg.Client({ storage });
  const db = await sc.ready();
  const gets = [];
  db.s3.middlewareStack.add((next, context) => async (args) => {
    const out = await next(args);
    if (context.commandName === 'GetObjectCommand' && args.input.Key.endsWith('/packets.bin')) {
      gets.push(Number(out.response.headers['content-length'] ?? 0));
    }
    return out;
  }, { step: 'deserialize', name: 'benchCount' });
  const video = new vg.NamedVideoStream(sc, 'clip');
  const out = new vg.NamedStream(sc, `hist_${label}`);
  const t0 = performance.now();
  const { stats } = await sc.run(sc.io.Output(sc.ops.Histogram({ frame: build(sc, sc.io.Input([video])) }), [out]), vg.PerfParams.manual(60, 60), { showProgress: false, cacheMode: vg.CacheMode.Overwrite });
  const secs = (performance.now() - t0) / 1000;
  await sc.close();
  const bytes = gets.reduce((a, b) => a + b, 0);
  return { read: label, rows: stats.rowsWritten, gops: stats.gopsOpened, framesDecoded: stats.framesDecoded, requests: gets.length, bytes,
    requestsPerGop: +(gets.length / stats.gopsOpened).toFixed(2), bytesPerGop: Math.round(bytes / stats.gopsOpened), seconds: +secs.toFixed(2) };
}

try {
  const sc = new vg.Client({ storage });
  const video = new vg.NamedVideoStream(sc, 'clip', { path: file });
  await video.ingest();
  const listed = (await sc.listStreams()).find((s) => s.name === 'clip');
  const meta = await video.metadata();
  await sc.close();
  const rows = [
    await measure('stride60', (c, input) => c.streams.Stride(input, [60])),
    await measure('full', (_c, input) => input),
  ];
  const report = { clip: { frames: meta.frames, keyframes: meta.keyframes, width: meta.width, height: meta.height, storedBytes: listed.bytes }, rows };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    console.log(`clip: ${meta.width}x${meta.height}, ${meta.frames} frames, ${meta.keyframes} keyframes (GOP 60), stream objects ${(listed.bytes / 2 ** 20).toFixed(1)} MiB`);
    console.table(rows);
    const [s, f] = rows;
    console.log(`Stride 60 fetched ${(100 * s.bytes / f.bytes).toFixed(1)}% of the bytes of the full read, in ${s.requests} ranged GETs (full: ${f.requests}).`);
  }
} finally {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
