// The engine-made sample (writeSampleVideo) and the choice of H.264 encoder. With
// VIDGRAPH_H264_ENCODER=libopenh264 on a build that has it (the LGPL prebuilt), the same
// tests exercise the OpenH264 path.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as vg from 'vidgraph';
import { ffprobeFrameCount } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Runs `body` (an async function's source, given `vg` and `native`) in a child with `env`; returns what it prints as JSON. */
async function inChild(body, env) {
  const script = `const vg = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))}); const native = require(${JSON.stringify(path.join(ROOT, 'dist', 'native.js'))}).native();
    (async () => { ${body} })().then((r) => console.log(JSON.stringify(r)), (e) => console.log(JSON.stringify({ error: { code: e.code, name: e.name, message: e.message } })));`;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, ...env } });
  return JSON.parse(stdout);
}

/** The 16-bit frame number the pattern writes as black/white blocks along the top edge. */
function frameNumber(frame) {
  const block = Math.floor(frame.width / 40);
  let n = 0;
  for (let bit = 0; bit < 16; bit++) {
    const x = bit * block + (block >> 1);
    const y = block >> 1;
    n = n * 2 + (frame.data[(y * frame.width + x) * 3] > 127 ? 1 : 0);
  }
  return n;
}

describe('writeSampleVideo', () => {
  test('writes an H.264 MP4 whose frames ffprobe counts, named by the encoder that wrote it, and leaves no temporary file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'nested', 'sample.mp4');
    const made = await vg.writeSampleVideo(file, { seconds: 2, width: 320, height: 240, fps: 25, keyframeDistance: 10 });
    assert.deepEqual({ ...made, bytes: undefined }, { path: file, frames: 50, width: 320, height: 240, fps: 25, encoder: vg.versions().h264Encoder, bytes: undefined });
    assert.match(made.encoder, /^(libx264|libopenh264)$/);
    assert.equal(made.bytes, fs.statSync(file).size);
    assert.equal(await ffprobeFrameCount(file), 50);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['sample.mp4']);
    const reader = await vg.VideoReader.open(file);
    assert.equal(reader.frameCount, 50);
    assert.equal(reader.fps, 25);
    await reader.close();
  });

  test('frame t of the sample shows t, in order, with a keyframe every keyframeDistance frames', async () => {
    const file = path.join(tempDir(), 'order.mp4');
    await vg.writeSampleVideo(file, { seconds: 1, width: 640, height: 360, fps: 30, keyframeDistance: 10 });
    const sc = new vg.Client({ db: tempDir() });
    const video = new vg.NamedVideoStream(sc, 'order', { path: file });
    await video.ingest();
    const meta = await video.metadata();
    // OpenH264 may add a keyframe at a scene change; libx264 runs with scenecut off.
    assert.ok(meta.keyframes >= 3, `keyframes: ${meta.keyframes}`);
    const seen = [];
    for await (const f of video.load({ rows: [29, 0, 17, 5] })) seen.push(frameNumber(f));
    assert.deepEqual(seen, [29, 0, 17, 5]);
    await sc.close();
  });

  test('bad options are refused with ERR_BAD_ARGUMENT before anything is written', async () => {
    const dir = tempDir();
    await assert.rejects(vg.writeSampleVideo(path.join(dir, 'odd.mp4'), { width: 321 }), { code: 'ERR_BAD_ARGUMENT', message: /width must be an even integer/ });
    await assert.rejects(vg.writeSampleVideo(path.join(dir, 'long.mp4'), { seconds: 0 }), { code: 'ERR_BAD_ARGUMENT', message: /seconds/ });
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('H.264 encoder choice', () => {
  test('an encoder this FFmpeg build lacks gives ERR_UNSUPPORTED_CODEC naming it, and no output file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'none.mp4');
    const r = await inChild(`return { encoder: vg.versions().h264Encoder, result: await vg.writeSampleVideo(${JSON.stringify(file)}, { seconds: 0.2, width: 64, height: 64 }) };`,
      { VIDGRAPH_H264_ENCODER: 'no-such-h264-encoder' });
    assert.equal(r.error?.code, 'ERR_UNSUPPORTED_CODEC', JSON.stringify(r));
    assert.equal(r.error.name, 'UnsupportedCodecError');
    assert.match(r.error.message, /cannot encode H\.264: VIDGRAPH_H264_ENCODER asks for 'no-such-h264-encoder', which this FFmpeg build \(.+\) does not have/);
    assert.deepEqual(fs.readdirSync(dir), []);
    const v = await inChild('return vg.versions();', { VIDGRAPH_H264_ENCODER: 'no-such-h264-encoder' });
    assert.equal(v.h264Encoder, 'none');
  });

  test('a decoder or another codec\'s encoder is not taken for an H.264 encoder', async () => {
    for (const name of ['h264', 'mpeg4']) {
      const r = await inChild('return vg.versions();', { VIDGRAPH_H264_ENCODER: name });
      assert.equal(r.h264Encoder, 'none', name);
    }
  });

  test('without VIDGRAPH_H264_ENCODER, libx264 is chosen when the build has it, else libopenh264', async () => {
    const def = await inChild('return vg.versions();', { VIDGRAPH_H264_ENCODER: '' });
    const x264 = await inChild('return vg.versions();', { VIDGRAPH_H264_ENCODER: 'libx264' });
    const openh264 = await inChild('return vg.versions();', { VIDGRAPH_H264_ENCODER: 'libopenh264' });
    const expected = x264.h264Encoder === 'libx264' ? 'libx264' : openh264.h264Encoder === 'libopenh264' ? 'libopenh264' : 'none';
    assert.equal(def.h264Encoder, expected);
  });

  test('the encoder in use keeps every frame, honours quality, bitrate and keyframe distance, and defaults to a keyframe every 250 frames', async () => {
    const native = createRequire(import.meta.url)(path.join(ROOT, 'dist', 'native.js')).native();
    const dir = tempDir();
    const encode = async (name, opts, frames = 300) => {
      const enc = new native.NativeEncoder(path.join(dir, `${name}.bin`), { width: 96, height: 64, fpsNum: 30, fpsDen: 1, ...opts });
      for (let t = 0; t < frames; t += 30) {
        const batch = Array.from({ length: 30 }, (_, i) => {
          const data = new Uint8Array(96 * 64 * 3);
          for (let p = 0; p < data.length; p++) data[p] = (p * 7 + (t + i) * 13 + ((p * 2654435761) >>> 27)) & 255;
          return { height: 64, width: 96, channels: 3, dtype: 'uint8', data };
        });
        await enc.encode(batch);
      }
      const { info } = await enc.finish();
      return { ...info, bytes: fs.statSync(path.join(dir, `${name}.bin`)).size };
    };
    const def = await encode('default', {});
    assert.equal(def.frames, 300);
    assert.equal(def.packets, 300);
    assert.ok(def.keyframes >= 2, `default keyframe distance: ${def.keyframes} keyframes in 300 frames`);
    const gop = await encode('gop', { gop: 30 });
    assert.ok(gop.keyframes >= 10, `gop 30: ${gop.keyframes} keyframes`);
    const q18 = await encode('q18', { crf: 18 }, 60);
    const q40 = await encode('q40', { crf: 40 }, 60);
    assert.ok(q18.bytes > q40.bytes, `quality 18: ${q18.bytes} bytes, quality 40: ${q40.bytes} bytes`);
    const b100k = await encode('b100k', { bitrate: 100_000 }, 60);
    const b2m = await encode('b2m', { bitrate: 2_000_000 }, 60);
    assert.equal(b100k.frames, 60);
    assert.ok(b100k.bytes < b2m.bytes, `100 kb/s: ${b100k.bytes} bytes, 2 Mb/s: ${b2m.bytes} bytes`);
  });
});
