// Side-by-side decode benchmark. Every figure is a ratio against a ceiling measured in the
// same run on the same file and thread count:
//   sequential    whole process, a full iterFrames() (bench/children/sequential-rss.mjs: node
//                 startup, index scan, read) versus `ffmpeg -threads N -i f -pix_fmt rgb24
//                 -f null -`, wall-clock frames/s of each process                (target >= 0.95)
//                 also with iterFrames({ reuse: true }) (frames handed back as the loop moves on),
//                 and the in-process read loop's frames/s against the CLI's on the short clip
//   memory        peak RSS of those same processes, ours / the CLI's              (target <= 1.5)
//                 (a bare `node -e ''` is shown as the floor a Node process starts from), and
//                 ours on a clip 4× shorter: a read's memory must not grow with the video
//   random/uniform our time / lower bound, where lower bound = frames that must be decoded
//                 × per-frame decode time + frames returned × per-frame RGB conversion time,
//                 both per-frame times from the ffmpeg CLI runs above            (target <= 1.3)
//                 and the decode amplification: frames decoded / frames returned
//   index         our scan time / `ffmpeg -i f -c copy -f null -` time (demux only)
//
// The whole-process runs are interleaved (ours, CLI, ours with reuse, then the reverse, ...) on the 4× longer clip and
// each figure is the median of the repetitions; peak RSS is each process's VmHWM, sampled
// from /proc (Linux; elsewhere the memory line says so).
//
//   node --expose-gc bench/decode.mjs [--quick] [--json]   (npm run bench, vidgraph bench)
//   --json: the report alone, as JSON on stdout
//
// Needs the ffmpeg CLI on PATH; clips are cached outside the package (see ./clip.mjs).
//
// With --expose-gc the previous repetition's frames are collected before each timed run, so
// every repetition starts from the same state instead of paying for the last one's garbage.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { makeClip, requireFfmpeg, seededRandom } from './clip.mjs';

const quick = process.argv.includes('--quick');
const threads = os.availableParallelism();
const seconds = quick ? 4 : 10;
const fps = 30;
const gop = 60;
const clipOpts = (secs) => ({ width: 1920, height: 1080, seconds: secs, fps, gop, noise: true,
  extraArgs: ['-bf', '3', '-sc_threshold', '0', '-b:v', '16M', '-maxrate', '16M', '-bufsize', '32M'] });

const now = () => performance.now() / 1000;
const collect = () => globalThis.gc?.();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/**
 * Runs a whole process; resolves to its wall seconds, its peak RSS in MiB (VmHWM, polled from
 * /proc every 10 ms while it runs: undefined where there is no /proc) and its stdout.
 */
function measureProcess(cmd, args) {
  return new Promise((resolve, reject) => {
    const t = now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let hwmKiB;
    child.stdout.on('data', (d) => { out += d; });
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKiB = Math.max(hwmKiB ?? 0, Number(m[1]));
      } catch {
        // gone already, or no /proc
      }
    }, 10);
    child.on('error', (err) => { clearInterval(poll); reject(err); });
    child.on('close', (code) => {
      clearInterval(poll);
      const seconds = now() - t;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`));
      else resolve({ seconds, peakRssMiB: hwmKiB === undefined ? undefined : hwmKiB / 1024, stdout: out });
    });
  });
}
function timeCmd(args) {
  const t = now();
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return now() - t;
}

requireFfmpeg();
console.error(`generating ${seconds} s 1080p H.264 clip (16 Mb/s, GOP ${gop}, B-frames)...`);
const clip = await makeClip('bench-1080p.mp4', clipOpts(seconds));
const probe = await vg.VideoReader.open(clip);
const N = probe.frameCount;
await probe.close();
const reps = quick ? 1 : 3;

// --- ceilings from the ffmpeg CLI ---------------------------------------------------
const cliRgb = median(Array.from({ length: reps }, () => timeCmd(['-threads', String(threads), '-i', clip, '-pix_fmt', 'rgb24', '-f', 'null', '-'])));
const cliDecode = median(Array.from({ length: reps }, () => timeCmd(['-threads', String(threads), '-i', clip, '-f', 'null', '-'])));
const cliDemux = median(Array.from({ length: reps }, () => timeCmd(['-i', clip, '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-'])));
const tDecode = cliDecode / N;
const tConvert = Math.max(cliRgb - cliDecode, 0) / N;

// --- ours: sequential ---------------------------------------------------------------
async function sequential() {
  collect();
  const r = await vg.VideoReader.open(clip, { threads, cacheBytes: 0 });
  const t = now();
  let n = 0;
  for await (const f of r.iterFrames()) n += f.image.height > 0 ? 1 : 0;
  const dt = now() - t;
  await r.close();
  if (n !== N) throw new Error(`sequential read returned ${n} of ${N} frames`);
  return dt;
}
const seqTimes = [];
for (let i = 0; i < reps; i++) seqTimes.push(await sequential());
const ourSeq = median(seqTimes);

// --- ours: random and uniform access -----------------------------------------------
// Keyframes every `gop` frames (the clip is encoded with scenecut off).
const keyRows = Array.from({ length: Math.ceil(N / gop) }, (_, k) => k * gop);
function mustDecode(rows) {
  // For each keyframe interval holding a row: from the keyframe through the last needed row.
  const last = new Map();
  for (const r of rows) {
    const k = keyRows.filter((x) => x <= r).at(-1);
    last.set(k, Math.max(last.get(k) ?? -1, r));
  }
  let total = 0;
  for (const [k, r] of last) total += r - k + 1;
  return total;
}
async function access(label, rows) {
  const results = [];
  for (let i = 0; i < reps; i++) {
    collect();
    // 300 frames of 1080p are 1.9 GB of RGB in one call: above the default maxBatchBytes (1 GiB).
    const r = await vg.VideoReader.open(clip, { threads, cacheBytes: 0, maxBatchBytes: Math.max(2 ** 30, rows.length * 1920 * 1080 * 3) });
    const t = now();
    const frames = await r.frames(rows);
    const dt = now() - t;
    if (frames.length !== rows.length) throw new Error(label);
    results.push({ dt, decoded: r.stats.framesDecoded, returned: new Set(rows).size });
    await r.close();
  }
  const best = results.sort((a, b) => a.dt - b.dt)[Math.floor(results.length / 2)];
  const need = mustDecode(rows);
  const bound = need * tDecode + best.returned * tConvert;
  return { label, frames: rows.length, seconds: best.dt, decoded: best.decoded, mustDecode: need,
    amplification: best.decoded / best.returned, boundSeconds: bound, ratioToBound: best.dt / bound };
}
const rand = seededRandom(42);
const pick = (k) => Array.from({ length: k }, () => Math.floor(rand() * N));
const accessResults = [
  await access('10 random', pick(10)),
  await access('300 random', pick(300)),
  await access('10 uniform', Array.from({ length: 10 }, (_, i) => Math.round((i * (N - 1)) / 9))),
];

// --- ours: index build ----------------------------------------------------------------
const scans = [];
for (let i = 0; i < reps; i++) {
  const t = now();
  const r = await vg.VideoReader.open(clip, { threads });
  scans.push(now() - t);
  await r.close();
}
const ourScan = median(scans);

// --- whole process: a full sequential read versus the CLI, interleaved, on the longer clip ---
const long = await makeClip('bench-1080p-long.mp4', clipOpts(seconds * 4));
const probeLong = await vg.VideoReader.open(long);
const longN = probeLong.frameCount;
await probeLong.close();
const child = fileURLToPath(new URL('./children/sequential-rss.mjs', import.meta.url));
async function oursProcess(file, mode = 'keep') {
  const m = await measureProcess(process.execPath, [child, file, String(threads), mode]);
  const r = JSON.parse(m.stdout);
  // The child's own VmHWM is exact; the poll can miss the last few milliseconds.
  return { seconds: m.seconds, peakRssMiB: Math.max(r.peakRssMiB, m.peakRssMiB ?? 0), frames: r.frames, readSeconds: r.seconds };
}
const cliProcess = () => measureProcess('ffmpeg', ['-v', 'error', '-nostdin', '-threads', String(threads), '-i', long, '-pix_fmt', 'rgb24', '-f', 'null', '-']);
const oursRuns = [];
const reuseRuns = [];
const cliRuns = [];
for (let i = 0; i < reps; i++) {
  const order = [async () => oursRuns.push(await oursProcess(long)), async () => cliRuns.push(await cliProcess()),
    async () => reuseRuns.push(await oursProcess(long, 'reuse'))];
  for (const run of i % 2 === 0 ? order : order.reverse()) await run();
}
if ([...oursRuns, ...reuseRuns].some((r) => r.frames !== longN)) throw new Error(`sequential read returned ${oursRuns.map((r) => r.frames)} of ${longN} frames`);
const bare = await measureProcess(process.execPath, ['-e', '']);
const short = await oursProcess(clip);
const medianOf = (runs, key) => (runs.some((r) => r[key] === undefined) ? undefined : median(runs.map((r) => r[key])));
const whole = {
  frames: longN,
  oursSeconds: medianOf(oursRuns, 'seconds'),
  cliSeconds: medianOf(cliRuns, 'seconds'),
  oursReadSeconds: medianOf(oursRuns, 'readSeconds'),
  oursPeakRssMiB: medianOf(oursRuns, 'peakRssMiB'),
  reuseSeconds: medianOf(reuseRuns, 'seconds'),
  reusePeakRssMiB: medianOf(reuseRuns, 'peakRssMiB'),
  cliPeakRssMiB: medianOf(cliRuns, 'peakRssMiB'),
  bareNodeRssMiB: bare.peakRssMiB,
};

const seqFps = N / ourSeq;
const cliFps = N / cliRgb;
const report = {
  machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}`, engine: vg.versions().engine, threads, clip: `1920x1080 h264 ${N} frames, GOP ${gop}`,
  sequential: {
    wholeProcess: { frames: longN, oursFps: longN / whole.oursSeconds, ffmpegRgbFps: longN / whole.cliSeconds, ratio: whole.cliSeconds / whole.oursSeconds,
      reuseFps: longN / whole.reuseSeconds, reuseRatio: whole.cliSeconds / whole.reuseSeconds },
    inProcess: { oursFps: seqFps, ffmpegRgbFps: cliFps, ratio: seqFps / cliFps, ffmpegDecodeOnlyFps: N / cliDecode },
    reps,
  },
  access: accessResults,
  index: { oursSeconds: ourScan, ffmpegDemuxSeconds: cliDemux, ratio: ourScan / cliDemux },
  memory: {
    oursPeakRssMiB: whole.oursPeakRssMiB, ffmpegPeakRssMiB: whole.cliPeakRssMiB,
    ratio: whole.oursPeakRssMiB !== undefined && whole.cliPeakRssMiB !== undefined ? whole.oursPeakRssMiB / whole.cliPeakRssMiB : undefined,
    reusePeakRssMiB: whole.reusePeakRssMiB,
    reuseRatio: whole.reusePeakRssMiB !== undefined && whole.cliPeakRssMiB !== undefined ? whole.reusePeakRssMiB / whole.cliPeakRssMiB : undefined,
    bareNodeRssMiB: whole.bareNodeRssMiB,
    shortFrames: short.frames, shortPeakRssMiB: short.peakRssMiB, longVsShortRatio: whole.oursPeakRssMiB !== undefined ? whole.oursPeakRssMiB / short.peakRssMiB : undefined,
  },
};

if (process.argv.includes('--json')) {
  // Only the report on stdout (vidgraph bench --json): the progress lines above went to stderr.
  console.log(JSON.stringify(report, null, 2));
  process.exit(0);
}
const f2 = (x) => x.toFixed(2);
console.log(`\nvidgraph decode benchmark — ${report.clip}, ${threads} threads, ${report.machine}\n`);
const w = report.sequential.wholeProcess;
console.log(`sequential   whole process, ${w.frames} frames: ours ${f2(w.oursFps)} fps  ffmpeg rgb24 ${f2(w.ffmpegRgbFps)} fps  ratio ${f2(w.ratio)} (target >= 0.95; median of ${reps})`);
console.log(`             iterFrames({ reuse: true }): ${f2(w.reuseFps)} fps  ratio ${f2(w.reuseRatio)}`);
console.log(`             in-process read loop, ${N} frames: ours ${f2(seqFps)} fps vs the CLI's whole process ${f2(cliFps)} fps  ratio ${f2(report.sequential.inProcess.ratio)}`);
for (const a of accessResults) {
  console.log(`${a.label.padEnd(12)} ${f2(a.seconds)} s  decoded ${a.decoded} for ${a.frames} (amplification ${f2(a.amplification)}, must decode ${a.mustDecode})  bound ${f2(a.boundSeconds)} s  ratio ${f2(a.ratioToBound)} (target <= 1.3)`);
}
console.log(`index        ours ${f2(ourScan * 1000)} ms  ffmpeg -c copy ${f2(cliDemux * 1000)} ms  ratio ${f2(report.index.ratio)}`);
const mem = report.memory;
const mib = (x) => (x === undefined ? 'n/a (no /proc)' : `${f2(x)} MiB`);
console.log(`memory       peak RSS, full sequential read of ${w.frames} frames: ours ${mib(mem.oursPeakRssMiB)}  ffmpeg rgb24 ${mib(mem.ffmpegPeakRssMiB)}  ratio ${mem.ratio === undefined ? 'n/a' : f2(mem.ratio)} (target <= 1.5; a bare node process: ${mib(mem.bareNodeRssMiB)})`);
console.log(`             iterFrames({ reuse: true }): ${mib(mem.reusePeakRssMiB)}  ratio ${mem.reuseRatio === undefined ? 'n/a' : f2(mem.reuseRatio)}`);
console.log(`             ${mem.shortFrames} frames ${mib(mem.shortPeakRssMiB)}: ${w.frames} frames take ${mem.longVsShortRatio === undefined ? 'n/a' : f2(mem.longVsShortRatio)}× that (bounded: about 1)`);
console.log(`\n${JSON.stringify(report)}`);
