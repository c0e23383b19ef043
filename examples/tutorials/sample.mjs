// Sample clips for the examples: generated once with the ffmpeg CLI into
// $VIDGRAPH_SAMPLES (default ~/.vidgraph/samples).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function sampleVideo(name = 'sample-360p.mp4', { seconds = 10, size = '640x360', source = 'testsrc2' } = {}) {
  const dir = process.env.VIDGRAPH_SAMPLES || path.join(os.homedir(), '.vidgraph', 'samples');
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp.mp4`;
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `${source}=size=${size}:rate=30`, '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', tmp]);
    fs.renameSync(tmp, file);
  }
  return file;
}
