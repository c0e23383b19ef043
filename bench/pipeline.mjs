// Graph pipeline benchmark, as ratios against ceilings measured in the same run:
//   pipeline   Resize(640x480) + Histogram over a 1080p clip: rows/s ÷ decode-only fps on the
//              same clip and threads (decode-only = VideoReader reading every frame)   (target >= 0.85)
//   sampling   Stride 60 over the same clip: output rows/s, and frames decoded per output row
//   memory     peak RSS of the pipeline with PerfParams.estimate() on a clip 4× longer (flat)
//
//   node --expose-gc bench/pipeline.mjs [--quick]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { makeClip } from '../test/helpers/corpus.mjs';

const quick = process.argv.includes('--quick');
const child = process.argv[2] === '--child';
const threads = os.availableParallelism();
const seconds = quick ? 4 : 10;
const clipOpts = (secs) => ({ width: 1920, height: 1080, seconds: secs, fps: 30, gop: 60, noise: true,
  extraArgs: ['-bf', '3', '-sc_threshold', '0', '-b:v', '16M', '-maxrate', '16M', '-bufsize', '32M'] });
const now = () => performance.now() / 1000;

async function pipeline(clip, db, perf) {
  const sc = new vg.Client({ db, threads });
  const video = new vg.NamedVideoStream(sc, path.basename(clip), { path: clip });
  await video.ingest();
  const frames = sc.io.Input([video]);
  const small = sc.ops.Resize({ frame: frames, width: 640, height: 480 });
  const hist = sc.ops.Histogram({ frame: small });
  const t = now();
  const { stats } = await sc.run(sc.io.Output(hist, [new vg.NamedStream(sc, 'hist')]), perf, { cacheMode: vg.CacheMode.Overwrite, showProgress: false });
  return { seconds: now() - t, rows: stats.rowsWritten, framesDecoded: stats.framesDecoded };
}

if (child) {
  // Peak RSS of one pipeline run with default PerfParams (VmHWM: getrusage's maxrss survives exec).
  const r = await pipeline(process.argv[3], process.argv[4], vg.PerfParams.estimate());
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
  console.log(JSON.stringify({ rows: r.rows, peakRssMiB: hwm }));
  process.exit(0);
}

console.error(`generating ${seconds} s 1080p H.264 clip...`);
const clip = await makeClip('bench-1080p.mp4', clipOpts(seconds));
const db = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-bench-'));
try {
  globalThis.gc?.();
  const reader = await vg.VideoReader.open(clip, { threads, cacheBytes: 0 });
  let t = now();
  let n = 0;
  for await (const f of reader.iterFrames()) n += f.image ? 1 : 0;
  const decodeSecs = now() - t;
  await reader.close();

  globalThis.gc?.();
  const p = await pipeline(clip, db, vg.PerfParams.estimate());

  globalThis.gc?.();
  const sc = new vg.Client({ db, threads });
  const frames = sc.io.Input([new vg.NamedVideoStream(sc, path.basename(clip))]);
  t = now();
  const { stats } = await sc.run(sc.io.Output(sc.ops.Histogram({ frame: sc.streams.Stride(frames, [60]) }), [new vg.NamedStream(sc, 'sparse')]), vg.PerfParams.estimate(), { cacheMode: vg.CacheMode.Overwrite, showProgress: false });
  const strideSecs = now() - t;

  const long = await makeClip('bench-1080p-long.mp4', clipOpts(seconds * 4));
  const me = fileURLToPath(import.meta.url);
  const rss = (file) => JSON.parse(spawnSync(process.execPath, [me, '--child', file, fs.mkdtempSync(path.join(os.tmpdir(), 'vg-bench-'))], { encoding: 'utf8' }).stdout);
  const short = rss(clip);
  const longer = rss(long);

  const decodeFps = n / decodeSecs;
  const pipeFps = p.rows / p.seconds;
  const f2 = (x) => x.toFixed(2);
  console.log(`\nvidgraph pipeline benchmark — 1920x1080 h264 ${n} frames, ${threads} threads\n`);
  console.log(`pipeline  Resize(640x480)+Histogram ${f2(pipeFps)} rows/s  decode-only ${f2(decodeFps)} fps  ratio ${f2(pipeFps / decodeFps)} (target >= 0.85)`);
  console.log(`sampling  Stride 60: ${stats.rowsWritten} rows in ${f2(strideSecs)} s (${f2(stats.rowsWritten / strideSecs)} rows/s), decoded ${stats.framesDecoded} frames (${f2(stats.framesDecoded / stats.rowsWritten)} per row); full decode ${f2(decodeSecs)} s`);
  console.log(`memory    pipeline peak RSS with PerfParams.estimate(): ${short.rows} rows ${f2(short.peakRssMiB)} MiB, ${longer.rows} rows ${f2(longer.peakRssMiB)} MiB (ratio ${f2(longer.peakRssMiB / short.peakRssMiB)})`);
  console.log(JSON.stringify({ threads, frames: n, decodeFps, pipelineFps: pipeFps, ratio: pipeFps / decodeFps, stride60: { rows: stats.rowsWritten, seconds: strideSecs, framesDecoded: stats.framesDecoded }, memory: { short, long: longer } }));
} finally {
  fs.rmSync(db, { recursive: true, force: true });
}
