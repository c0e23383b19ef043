// VideoReader: indexing semantics, intervals, cache, batches, decode bounds, index cache.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { fixture, makeClip, oracle } from './helpers/corpus.mjs';
import { bytesOf, tempDir } from './helpers/util.mjs';

const file = await fixture('h264_bframes_opengop.mp4'); // 48 frames, 24 fps, keyframes at 0 and 24

describe('VideoReader', () => {
  test('reports frameCount, fps, width, height and duration', async () => {
    const r = await vg.VideoReader.open(file);
    assert.equal(r.frameCount, 48);
    assert.equal(r.fps, 24);
    assert.equal(r.width, 320);
    assert.equal(r.height, 240);
    assert.ok(Math.abs(r.duration - 2) < 1e-9, String(r.duration));
    await r.close();
  });

  test('negative indices count from the end and out-of-range indices clamp to the edge', async () => {
    const o = await oracle(file);
    const r = await vg.VideoReader.open(file);
    const cases = [[-1, 47], [-48, 0], [-1000, 0], [47, 47], [48, 47], [10_000, 47], [0, 0]];
    for (const [asked, expected] of cases) {
      const f = await r.frame(asked);
      assert.equal(f.index, expected, `frame(${asked})`);
      assert.ok(bytesOf(f.image).equals(o.frame(expected)), `frame(${asked}) pixels`);
      assert.equal(f.fps, 24);
      assert.ok(Math.abs(f.seconds - expected / 24) < 1e-9);
    }
    await r.close();
  });

  test('frames() returns the order asked, repeats included, decoding each GOP once', async () => {
    const o = await oracle(file);
    const r = await vg.VideoReader.open(file, { cacheBytes: 0 });
    const asked = [30, 2, 30, 5, -1, 3];
    const got = await r.frames(asked);
    assert.deepEqual(got.map((f) => f.index), [30, 2, 30, 5, 47, 3]);
    got.forEach((f) => assert.ok(bytesOf(f.image).equals(o.frame(f.index))));
    assert.equal(r.stats.seeks, 2, 'one seek per keyframe interval holding a requested row');
    // GOP 0 up to row 5 (plus reorder delay) and GOP 1 up to its end: never more than both GOPs.
    assert.ok(r.stats.framesDecoded <= 48, `decoded ${r.stats.framesDecoded}`);
    await r.close();
  });

  test('iterFrames({ frames }) follows slice() semantics and iterFrames({ time }) takes nearest frames, stop inclusive', async () => {
    const r = await vg.VideoReader.open(file);
    const idx = async (opts) => { const out = []; for await (const f of r.iterFrames(opts)) out.push(f.index); return out; };
    assert.deepEqual(await idx({ frames: [5, 9] }), [5, 6, 7, 8]);
    assert.deepEqual(await idx({ frames: [-3, 48] }), [45, 46, 47]);
    assert.deepEqual(await idx({ frames: [40, 1000] }), [40, 41, 42, 43, 44, 45, 46, 47]);
    assert.deepEqual(await idx({ frames: [10, 5] }), []);
    assert.deepEqual(await idx({ time: [0.5, 0.625] }), [12, 13, 14, 15]);
    assert.deepEqual(await idx({ time: [0.51, 0.6] }), [12, 13, 14]);
    assert.equal((await idx()).length, 48);
    assert.equal(r.timeToIndex(1.0), 24);
    assert.equal(r.timeToIndex(1.03), 25);
    assert.equal(r.timeToIndex(-5), 0);
    assert.equal(r.timeToIndex(99), 47);
    assert.ok(Math.abs(r.indexToTime(24) - 1) < 1e-9);
    assert.ok(Math.abs(r.indexToTime(-1) - 47 / 24) < 1e-9);
    await r.close();
  });

  test('iterFrames({ reuse: true }) empties each frame when the loop asks for the next one; without it frames stay valid', async () => {
    const o = await oracle(file);
    const r = await vg.VideoReader.open(file);
    let previous;
    let n = 0;
    for await (const f of r.iterFrames({ reuse: true })) {
      assert.ok(bytesOf(f.image).equals(o.frame(f.index)), `frame ${f.index} in hand is exact`);
      if (previous) assert.equal(previous.image.data.length, 0, `frame ${previous.index} was handed back`);
      previous = f;
      n++;
    }
    assert.equal(n, 48);
    // A loop that stops early keeps the frame it stopped on.
    let kept;
    for await (const f of r.iterFrames({ frames: [10, 20], reuse: true })) {
      kept = f;
      if (f.index === 12) break;
    }
    assert.ok(bytesOf(kept.image).equals(o.frame(12)));
    // The default keeps every frame.
    const all = [];
    for await (const f of r.iterFrames({ frames: [0, 5] })) all.push(f);
    all.forEach((f) => assert.ok(bytesOf(f.image).equals(o.frame(f.index))));
    await assert.rejects(async () => { for await (const f of r.iterFrames({ reuse: 1 })) void f; }, { code: 'ERR_BAD_ARGUMENT' });
    await r.close();
  });

  test('time is measured from the first frame when the stream starts late (start_time 5 s, edit list)', async () => {
    const r = await vg.VideoReader.open(await fixture('editlist.mp4'));
    assert.equal(r.indexToTime(0), 0);
    assert.equal(r.timeToIndex(0), 0);
    await r.close();
  });

  test('repeated requests hit the cache; cacheBytes: 0 turns it off', async () => {
    const cached = await vg.VideoReader.open(file);
    await cached.frame(20);
    const before = cached.stats.framesDecoded;
    const again = await cached.frame(20);
    assert.equal(cached.stats.framesDecoded, before, 'a repeat decodes nothing');
    assert.equal(again.index, 20);
    await cached.close();

    const uncached = await vg.VideoReader.open(file, { cacheBytes: 0 });
    await uncached.frame(20);
    const n = uncached.stats.framesDecoded;
    await uncached.frame(20);
    assert.ok(uncached.stats.framesDecoded > n, 'without a cache the frame is decoded again');
    await uncached.close();
  });

  test('a slightly earlier frame than the last one decoded needs no new decoding', async () => {
    const o = await oracle(file);
    const r = await vg.VideoReader.open(file);
    await r.frame(30); // decodes 24..30 (and a little further for B-frame reordering)
    const before = { ...r.stats };
    const back = await r.frame(28);
    assert.ok(bytesOf(back.image).equals(o.frame(28)));
    assert.equal(r.stats.framesDecoded, before.framesDecoded);
    assert.equal(r.stats.seeks, before.seeks);
    await r.close();
  });

  test('sequential frame() calls continue decoding instead of seeking', async () => {
    const r = await vg.VideoReader.open(file);
    for (let i = 0; i < 48; i++) await r.frame(i);
    assert.equal(r.stats.seeks, 1);
    assert.ok(r.stats.framesDecoded <= 48 + 4, `decoded ${r.stats.framesDecoded} for 48 frames`);
    await r.close();
  });

  test('random requests never decode from the start of the file', async () => {
    const clip = await makeClip('gop60.mp4', { seconds: 10, fps: 24, gop: 60, noise: false, extraArgs: ['-bf', '2', '-sc_threshold', '0'] });
    const r = await vg.VideoReader.open(clip, { cacheBytes: 0 });
    assert.equal(r.frameCount, 240);
    await r.frame(200); // GOP 180..239: 21 frames to decode, plus the reorder delay
    assert.ok(r.stats.framesDecoded <= 21 + 8, `decoded ${r.stats.framesDecoded} frames for frame 200`);
    const before = r.stats.framesDecoded;
    await r.frames([61, 130, 235]);
    // 235 continues from 200; with two decode lanes, 61 and 130 go to the second lane meanwhile,
    // and the first continues to 235 without seeking.
    assert.equal(r.stats.seeks, r.stats.lanes > 1 ? 3 : 4);
    assert.ok(r.stats.framesDecoded - before <= 2 + 11 + 56 + 3 * 8, `decoded ${r.stats.framesDecoded - before} for 3 frames`);
    await r.close();
  });

  test('maxSize shrinks frames to fit, keeping the aspect ratio, with the same pixels as ffmpeg scale', async () => {
    const r = await vg.VideoReader.open(file, { maxSize: [160, 160] });
    assert.equal(r.width, 160);
    assert.equal(r.height, 120);
    const f = await r.frame(3);
    assert.equal(f.image.width, 160);
    assert.equal(f.image.height, 120);
    await r.close();
  });

  test('indexCache persists the packet index so that a reopen skips the scan', async () => {
    const dir = tempDir();
    const r1 = await vg.VideoReader.open(file, { indexCache: dir });
    const a = await r1.frame(33);
    await r1.close();
    const entries = fs.readdirSync(dir);
    assert.equal(entries.length, 1);
    const r2 = await vg.VideoReader.open(file, { indexCache: dir });
    assert.equal(r2.indexSource, 'cache');
    assert.equal(r1.indexSource, 'scan');
    assert.ok(bytesOf((await r2.frame(33)).image).equals(bytesOf(a.image)));
    await r2.close();
  });

  test('containers without byte-range packets are read through a temporary copy that close() removes', async () => {
    const r = await vg.VideoReader.open(await fixture('theora.ogv'));
    const o = await oracle(await fixture('theora.ogv'));
    assert.ok(bytesOf((await r.frame(17)).image).equals(o.frame(17)));
    const tmp = r.tempDir;
    assert.ok(tmp && fs.existsSync(tmp));
    await r.close();
    assert.equal(fs.existsSync(tmp), false);
  });
});

describe('decoding happens off the main thread', () => {
  test('the event loop keeps turning while a batch decodes', async () => {
    const r = await vg.VideoReader.open(await fixture('hevc.mp4'), { cacheBytes: 0 });
    let turns = 0;
    let settled = false;
    const spin = () => { if (!settled) { turns++; setImmediate(spin); } };
    setImmediate(spin);
    const frames = await r.frames([...Array(48).keys()]);
    settled = true;
    assert.equal(frames.length, 48);
    // Had the decode run synchronously inside frames(), no immediate could have run before it settled.
    assert.ok(turns > 0, `event loop turns during the decode: ${turns}`);
    await r.close();
  });
});

describe('VideoReader argument errors name the input', () => {
  test('bad arguments are ERR_BAD_ARGUMENT with the expected and received value', async () => {
    const r = await vg.VideoReader.open(file);
    await assert.rejects(r.frame('3'), { code: 'ERR_BAD_ARGUMENT', message: "VideoReader.frame: expected integer frame index, got '3' (string)" });
    await assert.rejects(r.frame(1.5), { code: 'ERR_BAD_ARGUMENT', message: /got 1.5 \(number\)/ });
    await assert.rejects(r.frames(7), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => r.iterFrames({ frames: [0] }), { code: 'ERR_BAD_ARGUMENT', message: /\[start, stop\]/ });
    assert.throws(() => r.iterFrames({ time: [0, 1], frames: [0, 1] }), { code: 'ERR_BAD_ARGUMENT' });
    await assert.rejects(vg.VideoReader.open(file, { cacheBytes: -1 }), { code: 'ERR_BAD_ARGUMENT', message: /cacheBytes >= 0, got -1 \(number\)/ });
    await assert.rejects(vg.VideoReader.open(file, { maxsize: [1, 1] }), { code: 'ERR_BAD_ARGUMENT', message: /unknown option 'maxsize'/ });
    await r.close();
  });
});
