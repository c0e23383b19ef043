// Training-data and extraction throughput, as ratios measured in the same run:
//   generator   VideoFrameGenerator batches/s (16 frames of 224x224 per sample) versus reading
//               the same frames the way keras-video-generators does: OpenCV's VideoCapture in
//               Python, every frame read in order, the wanted ones resized (python3-opencv)
//   extraction  extract-frames (JPEG) frames/s versus `ffmpeg -i f out/%010d.jpg` on the same file
//
//   node --expose-gc bench/training.mjs [--quick]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vg from 'vidgraph';
import { makeClip } from '../test/helpers/corpus.mjs';

const quick = process.argv.includes('--quick');
const videos = quick ? 4 : 8;
const seconds = quick ? 4 : 10;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-train-'));
try {
  for (let i = 0; i < videos; i++) {
    const cls = i % 2 ? 'b' : 'a';
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    fs.copyFileSync(await makeClip(`train-${i}.mp4`, { width: 640, height: 360, seconds: seconds + i * 0.1, fps: 30, gop: 60 }), path.join(dir, cls, `v${i}.mp4`));
  }
  const opts = { globPattern: path.join(dir, '{classname}', '*.mp4'), nbFrames: 16, batchSize: 2, targetShape: [224, 224], shuffle: false };
  globalThis.gc?.();
  const gen = new vg.VideoFrameGenerator(opts);
  let t = performance.now();
  for await (const b of gen) if (!b.x.length) throw new Error('empty batch');
  const ours = gen.length / ((performance.now() - t) / 1000);

  // keras-video-generators' way, in Python with OpenCV.
  const script = `
import cv2, glob, sys, time, math
files = sorted(glob.glob(sys.argv[1] + '/*/*.mp4'))
nb, bs = 16, 2
t = time.time()
batches = 0
for k in range(0, len(files) - len(files) % bs, bs):
    for f in files[k:k + bs]:
        cap = cv2.VideoCapture(f)
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        step = total // nb
        frames, i = [], 0
        while len(frames) < nb:
            ok, frame = cap.read()
            if not ok: break
            if i % step == 0:
                frames.append(cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), (224, 224)))
            i += 1
        cap.release()
    batches += 1
print(batches / (time.time() - t))
`;
  const theirs = Number(execFileSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8' }).trim());

  // Extraction versus the ffmpeg CLI on one clip.
  const clip = path.join(dir, 'a', 'v0.mp4');
  const frames = (await vg.VideoReader.open(clip)).frameCount;
  const outA = path.join(dir, 'out-ours');
  const outB = path.join(dir, 'out-ffmpeg');
  fs.mkdirSync(outB);
  globalThis.gc?.();
  t = performance.now();
  await vg.extractFrames({ input: clip, outputDir: outA, format: 'jpg', quality: 95, threaded: true });
  const oursExtract = frames / ((performance.now() - t) / 1000);
  t = performance.now();
  execFileSync('ffmpeg', ['-v', 'error', '-i', clip, '-q:v', '2', path.join(outB, '%010d.jpg')]);
  const ffmpegExtract = frames / ((performance.now() - t) / 1000);

  const f2 = (x) => x.toFixed(2);
  console.log(`\nvidgraph training-data benchmark — ${videos} clips 640x360 ~${seconds} s, ${os.availableParallelism()} cores\n`);
  console.log(`generator   ${f2(ours)} batches/s (2 samples x 16 frames x 224x224)  keras-video way (Python OpenCV) ${f2(theirs)} batches/s  ratio ${f2(ours / theirs)}`);
  console.log(`extraction  extract-frames ${f2(oursExtract)} frames/s  ffmpeg -i f out/%010d.jpg ${f2(ffmpegExtract)} frames/s  ratio ${f2(oursExtract / ffmpegExtract)}`);
  console.log(JSON.stringify({ generatorBatchesPerSec: ours, kerasVideoWayBatchesPerSec: theirs, extractFps: oursExtract, ffmpegExtractFps: ffmpegExtract }));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
