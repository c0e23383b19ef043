// The prebuilt engine (prebuilds/linux-x64: our own LGPL FFmpeg build) against the local build
// (build/Release: the system's FFmpeg), same clip, same threads, same run. Each measurement is a
// whole child process reading a 1080p H.264 clip in order; the two engines alternate, and the
// figure is the ratio of their median frames/s (target: within 5%). The ffmpeg CLI's own
// `-pix_fmt rgb24 -f null` rate on the same clip is printed as the ceiling.
//
//   npm run prebuild && npm run build:native && node bench/prebuilt.mjs [--quick]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const engines = {
  local: path.join(root, 'build', 'Release', 'vidgraph.node'),
  prebuilt: path.join(root, 'prebuilds', 'linux-x64', 'vidgraph.napi.glibc.node'),
};
for (const [name, file] of Object.entries(engines)) {
  if (!fs.existsSync(file)) {
    console.error(`bench/prebuilt: no ${name} engine at ${file} (${name === 'prebuilt' ? 'npm run prebuild' : 'npm run build:native'})`);
    process.exit(1);
  }
}
const quick = process.argv.includes('--quick');
const reps = quick ? 3 : 7;
const threads = os.availableParallelism();
const seconds = quick ? 4 : 10;

const cache = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'vidgraph', 'bench');
fs.mkdirSync(cache, { recursive: true });
const clip = path.join(cache, `prebuilt-1080p-${seconds}s.mp4`);
if (!fs.existsSync(clip)) {
  console.error(`generating a ${seconds} s 1080p H.264 clip (B-frames, GOP 60): ${clip}`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30,noise=alls=12:allf=t`, '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-bf', '3', '-pix_fmt', 'yuv420p', `${clip}.tmp.mp4`]);
  fs.renameSync(`${clip}.tmp.mp4`, clip);
}

const child = path.join(root, 'bench', 'children', 'sequential-fps.mjs');
const measure = (addon) => JSON.parse(execFileSync(process.execPath, [child, clip, String(threads)],
  { env: { ...process.env, VIDGRAPH_ADDON: addon }, encoding: 'utf8' }));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cliFps = () => {
  const t = performance.now();
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-threads', String(threads), '-i', clip, '-pix_fmt', 'rgb24', '-f', 'null', '-']);
  return frames / ((performance.now() - t) / 1000);
};

const runs = { local: [], prebuilt: [] };
let frames = 0;
let versions = {};
for (let i = 0; i < reps; i++) {
  for (const name of i % 2 ? ['prebuilt', 'local'] : ['local', 'prebuilt']) {
    const r = measure(engines[name]);
    frames = r.frames;
    versions[name] = r.libavcodec;
    runs[name].push(r.fps);
  }
}
const cli = median(Array.from({ length: quick ? 1 : 3 }, cliFps));
const local = median(runs.local);
const prebuilt = median(runs.prebuilt);
console.log(`sequential 1080p read, ${frames} frames, ${threads} threads, median of ${reps} alternating runs`);
console.log(`  local build    (libavcodec ${versions.local}): ${local.toFixed(1)} fps  (${(local / cli).toFixed(3)}x the CLI)`);
console.log(`  prebuilt       (libavcodec ${versions.prebuilt}): ${prebuilt.toFixed(1)} fps  (${(prebuilt / cli).toFixed(3)}x the CLI)`);
console.log(`  ffmpeg CLI     -pix_fmt rgb24 -f null: ${cli.toFixed(1)} fps`);
console.log(`  prebuilt / local: ${(prebuilt / local).toFixed(3)}  (target 0.95 .. 1.05+)`);
