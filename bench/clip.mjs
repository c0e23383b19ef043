// Clips for `vidgraph bench` (bench/decode.mjs), made with the ffmpeg CLI: the benchmark
// compares the engine with that CLI, so the CLI is its stated prerequisite.
//
// Clips are cached in $XDG_CACHE_HOME/vidgraph/bench, else <os temp dir>/vidgraph-bench: never
// inside the package (which may be a read-only node_modules). Each is written under a temporary
// name and renamed into place, so a concurrent or interrupted run never sees half a file.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as vg from 'vidgraph';

const execFileP = promisify(execFile);

export function benchCacheDir() {
  return process.env.XDG_CACHE_HOME ? path.join(process.env.XDG_CACHE_HOME, 'vidgraph', 'bench') : path.join(os.tmpdir(), 'vidgraph-bench');
}

/** Throws a VidgraphError unless the ffmpeg CLI runs. */
export function requireFfmpeg() {
  const r = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) {
    throw new vg.VidgraphError('ERR_NOT_FOUND', 'vidgraph bench measures against the ffmpeg CLI, and no ffmpeg runs on this PATH: ' +
      'install FFmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) and run it again');
  }
}

/**
 * A moving test pattern with temporal noise, H.264 (libx264, veryfast) in MP4, cached by its
 * options: { width, height, seconds, fps, gop, extraArgs }.
 */
export async function makeClip(name, { width = 1920, height = 1080, seconds = 4, fps = 30, gop, extraArgs = [] } = {}) {
  requireFfmpeg();
  const opts = { width, height, seconds, fps, gop, extraArgs };
  const hash = createHash('sha1').update(JSON.stringify(opts)).digest('hex').slice(0, 10);
  const dir = benchCacheDir();
  const dest = path.join(dir, `${path.basename(name, '.mp4')}.${hash}.mp4`);
  if (fs.existsSync(dest)) return dest;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${process.pid}-${path.basename(dest)}`);
  try {
    await execFileP('ffmpeg', ['-y', '-v', 'error', '-nostdin', '-f', 'lavfi', '-i',
      `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds},noise=alls=20:allf=t`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', ...(gop ? ['-g', String(gop)] : []), ...extraArgs,
      '-fflags', '+bitexact', tmp], { maxBuffer: 16 * 1024 * 1024 });
    fs.renameSync(tmp, dest);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return dest;
}

/** mulberry32: a small seeded PRNG, so that "random rows" are the same on every run. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
