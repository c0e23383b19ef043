// Bad inputs give the documented VidgraphError codes, with messages that name the input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { fixture } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

describe('errors', () => {
  test('a file that is not a video is ERR_INVALID_VIDEO naming the file (ingest and VideoReader)', async () => {
    const file = await fixture('not_a_video.mp4');
    const sc = new vg.Client({ db: tempDir() });
    const err = await new vg.NamedVideoStream(sc, 'x', { path: file }).ingest().catch((e) => e);
    assert.ok(err instanceof vg.VidgraphError);
    assert.ok(err instanceof vg.InvalidVideoError);
    assert.equal(err.code, 'ERR_INVALID_VIDEO');
    assert.ok(err.message.includes(file), err.message);
    await assert.rejects(vg.VideoReader.open(file), { code: 'ERR_INVALID_VIDEO' });
    assert.deepEqual(await sc.listStreams(), [], 'a failed ingest leaves nothing visible');
    assert.deepEqual(fs.readdirSync(path.join(sc.dbPath, 'staging')), [], 'and nothing staged');
  });

  test('a file without a video stream is ERR_INVALID_VIDEO saying so', async () => {
    const file = await fixture('audio_only.m4a');
    await assert.rejects(vg.VideoReader.open(file), { code: 'ERR_INVALID_VIDEO', message: /has no video stream/ });
  });

  test('a missing file is ERR_NOT_FOUND naming the path', async () => {
    const missing = path.join(tempDir(), 'nope.mp4');
    await assert.rejects(vg.VideoReader.open(missing), (e) => e instanceof vg.NotFoundError && e.code === 'ERR_NOT_FOUND' && e.message.includes(missing));
    const sc = new vg.Client({ db: tempDir() });
    await assert.rejects(new vg.NamedVideoStream(sc, 'm', { path: missing }).ingest(), { code: 'ERR_NOT_FOUND' });
  });

  test('an empty file and a directory are ERR_INVALID_VIDEO', async () => {
    const dir = tempDir();
    const empty = path.join(dir, 'empty.mp4');
    fs.writeFileSync(empty, '');
    await assert.rejects(vg.VideoReader.open(empty), { code: 'ERR_INVALID_VIDEO' });
    await assert.rejects(vg.VideoReader.open(dir), { code: 'ERR_INVALID_VIDEO' });
  });

  test('load() with a row out of range is ERR_BAD_ARGUMENT naming the row and the stream size', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const s = new vg.NamedVideoStream(sc, 'v', { path: await fixture('vp8.webm') });
    await assert.rejects(async () => { for await (const _ of s.load({ rows: [0, 48] })); },
      { code: 'ERR_BAD_ARGUMENT', message: "load: expected rows[1] to be an integer between 0 and 47 (stream 'v' has 48 rows), got 48 (number)" });
    assert.throws(() => s.load({ rows: 3 }), { code: 'ERR_BAD_ARGUMENT' });
  });

  test('constructor arguments are validated with the expected type and what was received', () => {
    assert.throws(() => new vg.Client({ threads: '4' }), { code: 'ERR_BAD_ARGUMENT', message: "Client: expected integer threads between 1 and 1024, got '4' (string)" });
    assert.throws(() => new vg.Client({ dbPath: 'x' }), { code: 'ERR_BAD_ARGUMENT', message: /unknown option 'dbPath'/ });
    assert.throws(() => new vg.Client({ logLevel: 'loud' }), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => new vg.Client({ db: 's3://bucket/prefix' }), { code: 'ERR_BAD_ARGUMENT', message: /S3/ });
    const sc = new vg.Client({ db: tempDir() });
    assert.throws(() => new vg.NamedVideoStream(sc, ''), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => new vg.NamedVideoStream(sc, 'x', { path: 3 }), { code: 'ERR_BAD_ARGUMENT', message: /got 3 \(number\)/ });
    assert.throws(() => vg.Frame.alloc(0, 10, 3), { code: 'ERR_BAD_ARGUMENT', message: 'Frame.alloc: expected integer height > 0, got 0 (number)' });
    assert.throws(() => vg.Frame.from(new Uint8Array(5), 2, 2, 1), { code: 'ERR_BAD_ARGUMENT', message: /2x2x1 = 4 elements, got 5/ });
  });

  test('Frame.alloc and Frame.from build packed HWC frames of each dtype', () => {
    const f = vg.Frame.alloc(2, 3, 2, 'float32');
    assert.equal(f.data.length, 12);
    assert.ok(f.data instanceof Float32Array);
    const g = vg.Frame.from(new Uint16Array(24), 2, 4, 3);
    assert.equal(g.dtype, 'uint16');
    assert.equal(g.byteLength, 48);
  });

  test('hasGpu() is false without a CUDA device, and gpus: [] forces the CPU', () => {
    assert.equal(new vg.Client({ db: tempDir(), gpus: [] }).hasGpu(), false);
    assert.equal(typeof new vg.Client({ db: tempDir() }).hasGpu(), 'boolean');
  });
});
