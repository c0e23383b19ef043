// Distributed runs against the local engine, on this machine: the same graph (Resize ->
// Histogram over every frame) over two inputs,
//   8 videos     8 short clips, one job each, each job one task (PerfParams.manual(30, 120))
//   1 long video one 32 s clip, one job split in row-range tasks of 240 rows and a merge
//                (PerfParams.manual(30, 60))
// each run
//   local      sc.run on a plain Client
//   1 worker   sc.run on a Client with cluster, one `vidgraph worker` process
//   2 workers  the same with two worker processes
// Reported: wall seconds (median of --reps), rows/s, the tasks (from onProgress), and the
// per-task overhead of going through the queue: (1-worker time - local time) / tasks. Workers are started (and Redis with them)
// before the timed runs, as on a cluster; each run uses a fresh database output (Overwrite).
// The one worker gets as many engine threads as the local client (all cores), so that its extra
// time is the queue's; the two workers get half each (on one machine they share its cores, so
// the figure shows the queue's cost more than a speed-up: on separate machines tasks spread).
//
//   node bench/cluster.mjs [--reps N] [--videos N] [--json]   (needs redis-server and ffmpeg)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as vg from 'vidgraph';
import { haveRedis, startProcess, startRedis } from '../test/helpers/processes.mjs';
import { makeClip, requireFfmpeg } from './clip.mjs';

const { values: opt } = parseArgs({ options: { reps: { type: 'string', default: '3' }, videos: { type: 'string', default: '8' }, json: { type: 'boolean', default: false } } });
const reps = Number(opt.reps);
const nVideos = Number(opt.videos);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
requireFfmpeg();
if (!haveRedis) {
  console.error('bench/cluster.mjs: needs redis-server (Debian: apt-get install redis-server; scripts/bootstrap installs it)');
  process.exit(1);
}

const children = [];
const startChild = async (cmd, args, ready) => {
  const started = await startProcess(cmd, args, ready, { cwd: ROOT });
  children.push(started.child);
  return started.child;
};
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
const redis = await startRedis();
children.push(redis.child);
const url = redis.url;

const clip = await makeClip('cluster', { width: 640, height: 360, seconds: 4, fps: 30, gop: 60 });
const longClip = await makeClip('cluster-long', { width: 640, height: 360, seconds: 32, fps: 30, gop: 60 });
const db = fs.mkdtempSync(path.join(os.tmpdir(), 'vidgraph-bench-cluster-'));
const setup = new vg.Client({ db });
for (let i = 0; i < nVideos; i++) await new vg.NamedVideoStream(setup, `v${i}`, { path: clip }).ingest();
await new vg.NamedVideoStream(setup, 'long', { path: longClip }).ingest();
await setup.close();

const SCENARIOS = {
  [`${nVideos} videos`]: { inputs: Array.from({ length: nVideos }, (_, i) => `v${i}`), perf: () => vg.PerfParams.manual(30, 120) },
  '1 long video': { inputs: ['long'], perf: () => vg.PerfParams.manual(30, 60) },
};
const graph = (sc, inputs) => {
  const frames = sc.io.Input(inputs.map((name) => new vg.NamedVideoStream(sc, name)));
  const hist = sc.ops.Histogram({ frame: sc.ops.Resize({ frame: frames, width: 320, height: 180 }) });
  return sc.io.Output(hist, inputs.map((name) => new vg.NamedStream(sc, `h-${name}`)));
};
const timeRun = async (sc, scenario) => {
  const t = performance.now();
  let tasks = 0;
  const r = await sc.run(graph(sc, scenario.inputs), scenario.perf(), {
    showProgress: false, cacheMode: vg.CacheMode.Overwrite, throwOnFailure: true, onProgress: (p) => { tasks = p.tasks ?? 0; },
  });
  return { seconds: (performance.now() - t) / 1000, rows: r.stats.rowsWritten, tasks };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const workers = [];
const startWorkers = async (n) => {
  while (workers.length < n) {
    const threads = Math.max(1, Math.floor(os.availableParallelism() / n));
    workers.push(await startChild(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'worker', '--redis', url, '--db', db, '--queue', `bench${n}`, '--threads', String(threads)], /ready on queue/));
  }
};
const results = {};
for (const name of Object.keys(SCENARIOS)) results[name] = {};
const local = new vg.Client({ db });
for (const mode of ['local', '1 worker', '2 workers']) {
  let sc = local;
  if (mode !== 'local') {
    for (const w of workers.splice(0)) w.kill('SIGTERM');
    await startWorkers(mode === '1 worker' ? 1 : 2);
    sc = new vg.Client({ db, cluster: { redis: url, queue: `bench${mode === '1 worker' ? 1 : 2}` } });
  }
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    await timeRun(sc, scenario); // warm-up
    const runs = [];
    for (let r = 0; r < reps; r++) runs.push(await timeRun(sc, scenario));
    const seconds = median(runs.map((x) => x.seconds));
    results[name][mode] = { seconds, rows: runs[0].rows, rowsPerSec: runs[0].rows / seconds, tasks: runs[0].tasks };
  }
  if (sc !== local) await sc.close();
}
await local.close();
const report = { reps, scenarios: {} };
for (const [name, r] of Object.entries(results)) {
  const tasks = r['1 worker'].tasks;
  report.scenarios[name] = { ...r, tasks, perTaskOverheadMs: ((r['1 worker'].seconds - r.local.seconds) / tasks) * 1000 };
}
if (opt.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`cluster bench: 640x360 -> Resize -> Histogram, median of ${reps}`);
  for (const [name, r] of Object.entries(report.scenarios)) {
    console.log(`  ${name}: ${r.local.rows} rows in ${r.tasks} tasks (merges included)`);
    for (const mode of ['local', '1 worker', '2 workers']) console.log(`    ${mode.padEnd(10)} ${r[mode].seconds.toFixed(2)} s  ${r[mode].rowsPerSec.toFixed(0)} rows/s`);
    console.log(`    per-task overhead through the queue (1 worker vs local): ${r.perTaskOverheadMs.toFixed(0)} ms`);
  }
}
for (const w of workers) w.kill('SIGTERM');
fs.rmSync(db, { recursive: true, force: true });
process.exit(0);
