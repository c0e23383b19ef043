// Output video streams: H.264 by default (read back exactly like ingested video), raw with
// lossless(), compressVideo() options honoured, and saveMp4 (remux or re-encode).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { ffprobeFrameCount, fixture, makeClip, oracle, probe } from './helpers/corpus.mjs';
import { bytesOf, tempDir } from './helpers/util.mjs';

const fileA = await fixture('h264_bframes_opengop.mp4');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const native = () => createRequire(import.meta.url)(path.join(ROOT, 'dist', 'native.js')).native();

/** Encodes frames [from, to) of a moving test pattern into dir/name.bin; returns its index bytes and facts. */
async function encodeRows(dir, name, from, to, opts = {}) {
  const [w, h] = [opts.width ?? 64, opts.height ?? 48];
  const enc = new (native().NativeEncoder)(path.join(dir, `${name}.bin`), { width: w, height: h, fpsNum: 24, fpsDen: 1, threads: 1, gop: 10, ...opts });
  const frames = [];
  for (let t = from; t < to; t++) {
    const data = new Uint8Array(w * h * 3);
    for (let p = 0; p < data.length; p++) data[p] = (p * 5 + t * 11 + ((p * 2654435761) >>> 26)) & 255;
    frames.push({ height: h, width: w, channels: 3, dtype: 'uint8', data });
  }
  for (let i = 0; i < frames.length; i += 16) await enc.encode(frames.slice(i, i + 16));
  const { index, info } = await enc.finish();
  return { index: Buffer.from(index), info, data: path.join(dir, `${name}.bin`) };
}

function psnr(a, b) {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

async function resizedOutput(sc, name, configure = (c) => c) {
  const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
  const small = configure(sc.ops.Resize({ frame: frames, width: 160, height: 120 }));
  const out = new vg.NamedVideoStream(sc, name);
  const result = await sc.run(sc.io.Output(small, [out]), vg.PerfParams.manual(8, 16), { showProgress: false, cacheMode: vg.CacheMode.Overwrite });
  return { out, result };
}

async function all(stream) {
  const rows = [];
  for await (const f of stream.load()) rows.push(f);
  return rows;
}

describe('output video streams', () => {
  test('an encoded output is the same bytes on every run and whatever the Client threads (x264 kept off its nondeterministic AVX-512 code)', async () => {
    const hashes = new Set();
    for (const threads of [1, 1, 2, 2, 1]) {
      const db = tempDir();
      const sc = new vg.Client({ db, threads });
      const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
      const small = sc.ops.Resize({ frame: frames, width: 96, height: 64 }).compressVideo({ quality: 28, keyframeDistance: 6 });
      await sc.run(sc.io.Output(small, [new vg.NamedVideoStream(sc, 'small')]), vg.PerfParams.manual(4, 8), { showProgress: false, throwOnFailure: true });
      await sc.close();
      hashes.add(createHash('sha256').update(fs.readFileSync(path.join(db, 'streams', 'small', 'packets.bin'))).digest('hex'));
    }
    assert.equal(hashes.size, 1, `${hashes.size} different encodings of the same frames`);
  });

  test('the same graph run five times stores byte-identical H.264, also for frames whose size is a whole number of pages', async () => {
    // 640x512 RGB is exactly 240 pages: swscale's RGB24 -> YUV420P reads past a frame's last byte,
    // which crashed the encoder (SIGSEGV) when the next page was unmapped, or read another frame's bytes.
    const clip = await makeClip('pages-640x512.mp4', { width: 640, height: 512, seconds: 10, fps: 24, gop: 48 });
    const digests = [];
    for (let run = 0; run < 5; run++) {
      const sc = new vg.Client({ db: tempDir() });
      const out = new vg.NamedVideoStream(sc, 'copy');
      const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'src', { path: clip })]);
      const { failedJobs } = await sc.run(sc.io.Output(frames, [out]), vg.PerfParams.estimate(), { showProgress: false });
      assert.deepEqual(failedJobs, []);
      assert.equal((await out.metadata()).frames, 240);
      digests.push(createHash('sha256').update(fs.readFileSync(path.join(sc.dbPath, 'streams', 'copy', 'packets.bin'))).digest('hex'));
      await sc.close();
    }
    assert.deepEqual(new Set(digests).size, 1, digests.join('\n'));
  });

  test('frame outputs are H.264 by default and decode exactly like the ffmpeg CLI decodes their MP4', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const { out } = await resizedOutput(sc, 'small');
    const meta = await out.metadata();
    assert.equal(meta.codec, 'h264');
    assert.equal(meta.frames, 48);
    assert.deepEqual([meta.width, meta.height], [160, 120]);
    assert.ok(fs.existsSync(path.join(sc.dbPath, 'streams', 'small', 'packets.bin')));
    const mp4 = await out.saveMp4(path.join(tempDir(), 'small'));
    assert.ok(mp4.endsWith('small.mp4'));
    const o = await oracle(mp4);
    assert.equal(o.count, 48);
    const frames = await all(out);
    frames.forEach((f, i) => assert.ok(bytesOf(f).equals(o.frame(i)), `row ${i}`));
    // As faithful as the ffmpeg CLI's own libx264 encode of the same raw frames (crf 23, veryfast).
    const { out: raw } = await resizedOutput(sc, 'small-raw', (c) => c.lossless());
    assert.equal((await raw.metadata()).codec, 'rawvideo');
    const rawFrames = await all(raw);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'raw.rgb'), Buffer.concat(rawFrames.map((f) => bytesOf(f))));
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '160x120', '-r', '24', '-i', path.join(dir, 'raw.rgb'),
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', path.join(dir, 'cli.mp4')]);
    const cli = await oracle(path.join(dir, 'cli.mp4'));
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ours = mean(frames.map((f, i) => psnr(f.data, rawFrames[i].data)));
    const theirs = mean(rawFrames.map((f, i) => psnr(cli.frame(i), f.data)));
    assert.ok(ours >= theirs - 0.5, `PSNR ours ${ours.toFixed(2)} dB vs ffmpeg CLI ${theirs.toFixed(2)} dB`);
  });

  test('compressVideo honours keyframeDistance, quality and bitrate', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const { out: gop } = await resizedOutput(sc, 'gop', (c) => c.compressVideo({ keyframeDistance: 10 }));
    assert.equal((await gop.metadata()).keyframes, 5);
    const size = (name) => fs.statSync(path.join(sc.dbPath, 'streams', name, 'packets.bin')).size;
    await resizedOutput(sc, 'q18', (c) => c.compressVideo({ quality: 18 }));
    await resizedOutput(sc, 'q40', (c) => c.compressVideo({ quality: 40 }));
    assert.ok(size('q40') < size('q18') / 2, `${size('q40')} vs ${size('q18')}`);
    await resizedOutput(sc, 'b50k', (c) => c.compressVideo({ bitrate: 50_000 }));
    await resizedOutput(sc, 'b2m', (c) => c.compressVideo({ bitrate: 2_000_000 }));
    assert.ok(size('b50k') < size('b2m'), `${size('b50k')} vs ${size('b2m')}`);
  });

  test('an encoded stream is closed keyframe intervals: parts encoded alone and joined equal the whole stream byte for byte, and decode as the ffmpeg CLI decodes them', async () => {
    const dir = tempDir();
    const whole = await encodeRows(dir, 'whole', 0, 55);
    const parts = [await encodeRows(dir, 'p0', 0, 20), await encodeRows(dir, 'p1', 20, 40), await encodeRows(dir, 'p2', 40, 55)];
    const joined = await native().concatEncoded(parts.map(({ index, data }) => ({ index, data })), path.join(dir, 'joined.bin'));
    assert.ok(fs.readFileSync(path.join(dir, 'joined.bin')).equals(fs.readFileSync(whole.data)), 'the joined packets are the whole stream\'s');
    assert.ok(Buffer.from(joined.index).equals(whole.index), 'the joined index is the whole stream\'s');
    assert.deepEqual(joined.info, whole.info);
    assert.equal(whole.info.frames, 55);
    assert.equal(whole.info.keyframes, 6);
    // The oracle: ffprobe and the ffmpeg CLI on the joined stream remuxed to MP4, against our reader.
    const mp4 = path.join(dir, 'joined.mp4');
    await native().remux(joined.index, path.join(dir, 'joined.bin'), mp4);
    assert.equal(await ffprobeFrameCount(mp4), 55);
    const keys = (await probe(mp4)).frames.flatMap((f, i) => (f.key_frame === 1 ? [i] : []));
    assert.deepEqual(keys, [0, 10, 20, 30, 40, 50]);
    const want = await oracle(mp4);
    const reader = await vg.VideoReader.open(mp4);
    try {
      for (const { image, index } of await reader.frames([0, 9, 10, 19, 20, 21, 39, 40, 54])) {
        assert.ok(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength).equals(want.frame(index)), `row ${index}`);
      }
    } finally {
      await reader.close();
    }
  });

  test('joining encoded parts refuses parts of other settings, short packet files and no parts, naming the part', async () => {
    const dir = tempDir();
    const a = await encodeRows(dir, 'a', 0, 10);
    const wide = await encodeRows(dir, 'wide', 10, 20, { width: 80 });
    await assert.rejects(native().concatEncoded([a, wide].map(({ index, data }) => ({ index, data })), path.join(dir, 'x.bin')),
      (e) => e.code === 'ERR_CORRUPT' && /part 1 .*same settings/.test(e.message));
    const b = await encodeRows(dir, 'b', 10, 20);
    fs.truncateSync(b.data, fs.statSync(b.data).size - 100);
    await assert.rejects(native().concatEncoded([a, b].map(({ index, data }) => ({ index, data })), path.join(dir, 'y.bin')),
      (e) => e.code === 'ERR_CORRUPT' && /part 1 .*shorter than its index/.test(e.message));
    await assert.rejects(async () => native().concatEncoded([], path.join(dir, 'z.bin')), (e) => e.code === 'ERR_BAD_ARGUMENT');
    await assert.rejects(async () => native().concatEncoded([{ index: a.index }], path.join(dir, 'z.bin')), (e) => e.code === 'ERR_BAD_ARGUMENT');
  });

  test('frames H.264 cannot hold are stored raw by default, and refused by compressVideo()', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const odd = await fixture('odd_dims.mkv');
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'odd', { path: odd })]);
    const out = new vg.NamedVideoStream(sc, 'odd-out');
    await sc.run(sc.io.Output(sc.ops.Pass({ input: frames }), [out]), vg.PerfParams.manual(8, 16), { showProgress: false });
    assert.equal((await out.metadata()).codec, 'rawvideo');
    const o = await oracle(odd);
    for await (const f of out.load({ rows: [7] })) assert.ok(bytesOf(f).equals(o.frame(7)));
    const forced = await sc.run(sc.io.Output(sc.ops.Pass({ input: frames }).compressVideo(), [new vg.NamedVideoStream(sc, 'forced')]), vg.PerfParams.manual(8, 16), { showProgress: false });
    assert.deepEqual(forced.failedJobs, ['odd']);
    assert.match(forced.stats.errors[0].message, /H\.264 needs uint8 RGB of even size/);
  });

  test('saveMp4 remuxes an ingested H.264 stream without re-encoding', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const video = new vg.NamedVideoStream(sc, 'a', { path: fileA });
    const mp4 = await video.saveMp4(path.join(tempDir(), 'copy.mp4'));
    const src = await probe(fileA);
    const dst = await probe(mp4);
    assert.equal(dst.packets.length, src.packets.length);
    assert.equal(dst.stream.codec_name, 'h264');
    // Same packets, same decode: the CLI decodes the copy to the original's frames.
    const a = await oracle(fileA);
    const b = await oracle(mp4);
    assert.equal(b.count, a.count);
    for (const i of [0, 13, 47]) assert.ok(a.frame(i).equals(b.frame(i)), `frame ${i}`);
    const sameBytes = execFileSync('ffmpeg', ['-v', 'error', '-i', mp4, '-map', '0:v:0', '-c', 'copy', '-f', 'md5', '-']).toString()
      === execFileSync('ffmpeg', ['-v', 'error', '-i', fileA, '-map', '0:v:0', '-c', 'copy', '-f', 'md5', '-']).toString();
    assert.ok(sameBytes, 'the remuxed packets are the original packets');
  });

  test('saveMp4 with scale or fps re-encodes', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const video = new vg.NamedVideoStream(sc, 'a', { path: fileA });
    const mp4 = await video.saveMp4(path.join(tempDir(), 'scaled'), { scale: [160, 120], fps: 12 });
    const p = await probe(mp4);
    assert.deepEqual([p.stream.width, p.stream.height], [160, 120]);
    assert.equal(await ffprobeFrameCount(mp4), 48);
    assert.equal(p.stream.avg_frame_rate, '12/1');
    await assert.rejects(video.saveMp4('x', { scale: [161, 120] }), { code: 'ERR_BAD_ARGUMENT' });
  });

  test('a saveMp4 that fails leaves no file behind, and an existing file at its path untouched', async () => {
    const sc = new vg.Client({ db: tempDir() });
    // A raw H.264 stream (no container timestamps: it cannot be remuxed) of odd size (4:4:4):
    // the fallback re-encode refuses it. The remux attempt had already written an MP4 header.
    const odd = await makeClip('odd444.h264', { width: 64, height: 48, seconds: 0.5, pixFmt: 'yuv444p', extraArgs: ['-vf', 'scale=33:25'] });
    const video = new vg.NamedVideoStream(sc, 'odd', { path: odd });
    const dir = tempDir();
    await assert.rejects(video.saveMp4(path.join(dir, 'out')),
      (e) => e instanceof vg.VidgraphError && e.code === 'ERR_BAD_ARGUMENT' && /saveMp4\('.*out\.mp4'\): H\.264 needs even frame sizes, stream 'odd' has 33x25 frames \(pass scale/.test(e.message));
    assert.deepEqual(fs.readdirSync(dir), []);
    fs.writeFileSync(path.join(dir, 'keep.mp4'), 'an earlier file');
    await assert.rejects(video.saveMp4(path.join(dir, 'keep.mp4')), { code: 'ERR_BAD_ARGUMENT' });
    assert.deepEqual(fs.readdirSync(dir), ['keep.mp4']);
    assert.equal(fs.readFileSync(path.join(dir, 'keep.mp4'), 'utf8'), 'an earlier file');
    // A save that succeeds replaces it, and leaves nothing else.
    const ok = new vg.NamedVideoStream(sc, 'a', { path: fileA });
    assert.equal(await ok.saveMp4(path.join(dir, 'keep')), path.join(dir, 'keep.mp4'));
    assert.deepEqual(fs.readdirSync(dir), ['keep.mp4']);
    assert.equal(await ffprobeFrameCount(path.join(dir, 'keep.mp4')), await ok.len());
  });
});
