// Issue 10's rule for the videos people really have: streams cut mid-GOP, intra-refresh H.264,
// and damaged data, where a row is exactly the CLI's frame or ERR_DECODE, whichever way it is
// read. (The corpus-wide exactness suites in decode-exact.test.mjs also run over the two new
// corpus files; the fuzz suite applies the rule to 200 damaged files.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { ffprobeFrameCount, fixture, makeClip, oracle, probe } from './helpers/corpus.mjs';
import { assertSameFrame, bytesOf, seededRandom, tempDir } from './helpers/util.mjs';

const native = createRequire(import.meta.url)('../dist/native.js').native();

/** One row alone on `reader`: a hash of its pixels, or the error code it failed with. */
async function outcome(reader, row) {
  try {
    return createHash('sha1').update(bytesOf((await reader.frame(row)).image)).digest('hex');
  } catch (e) {
    assert.ok(e instanceof vg.VidgraphError, `row ${row}: ${e}`);
    return e.code;
  }
}


describe('streams that start mid-GOP', () => {
  test('a TS cut mid-GOP has exactly the CLI\'s rows: leading packets that yield no frame are not rows, and ingest says so', async () => {
    const file = await fixture('midgop_cut.ts');
    const o = await oracle(file);
    const packets = (await probe(file)).packets.length;
    const reader = await vg.VideoReader.open(file);
    try {
      assert.equal(reader.frameCount, await ffprobeFrameCount(file));
      assert.equal(reader.frameCount, o.count);
      assert.ok(packets > reader.frameCount, `${packets} packets, ${reader.frameCount} rows`);
      for (const row of [0, 1, 2, o.count - 1]) assertSameFrame((await reader.frame(row)).image, o.frame(row), `row ${row}`);
    } finally {
      await reader.close();
    }
    const warnings = [];
    const onWarning = (w) => warnings.push(w);
    process.on('warning', onWarning);
    const sc = new vg.Client({ db: tempDir(), logLevel: 'silent' });
    try {
      const s = new vg.NamedVideoStream(sc, 'cut', { path: file });
      await s.ingest();
      assert.equal(await s.len(), o.count);
    } finally {
      process.off('warning', onWarning);
      await sc.close();
    }
    assert.ok(warnings.some((w) => w.code === 'VIDGRAPH_INGEST' && new RegExp(`starts mid-GOP: its first ${packets - o.count} packet`).test(w.message)), warnings.map(String).join('\n'));
    // The count-only scan (the sliding generator's) agrees without decoding.
    assert.equal((await native.scanInfo(file)).frames, o.count);
  });
});

describe('intra refresh', () => {
  test('intra-refresh H.264: every row read alone, backward, is the CLI\'s frame (decodes start a keyframe earlier)', async () => {
    const file = await fixture('intra_refresh.mp4');
    const o = await oracle(file);
    const reader = await vg.VideoReader.open(file, { cacheBytes: 0 });
    try {
      assert.equal(reader.frameCount, o.count);
      for (let row = o.count - 1; row >= 0; row--) assertSameFrame((await reader.frame(row)).image, o.frame(row), `row ${row}`);
    } finally {
      await reader.close();
    }
  });
});

describe('damaged input: the same answer on every path', () => {
  test('a damaged P-frame: rows from it to the next keyframe are ERR_DECODE in order, shuffled and alone; every other row is the CLI\'s frame', async () => {
    const clean = await makeClip('damaged_src.mp4', { width: 176, height: 144, seconds: 3, fps: 12, gop: 12, extraArgs: ['-bf', '0', '-x264-params', 'scenecut=0'] });
    const info = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pos,size,flags', '-of', 'json', clean]).toString()).packets;
    // Damage the middle of decode-order packet 16 (a P-frame of the second GOP: no B-frames here).
    const target = 16;
    assert.ok(!info[target].flags.includes('K'));
    const bytes = fs.readFileSync(clean);
    const pos = Number(info[target].pos);
    const size = Number(info[target].size);
    bytes.fill(0xff, pos + Math.floor(size / 3), pos + size); // the slice's last two thirds: the decoder reports errors and conceals
    const file = path.join(tempDir(), 'damaged.mp4');
    fs.writeFileSync(file, bytes);
    const o = await oracle(file);
    const n = o.count;
    const read = async (order, fresh) => {
      const got = new Map();
      let reader = fresh ? null : await vg.VideoReader.open(file, { cacheBytes: 0, threads: 1 });
      for (const row of order) {
        if (fresh) reader = await vg.VideoReader.open(file, { cacheBytes: 0, threads: 1 });
        got.set(row, await outcome(reader, row));
        if (fresh) await reader.close();
      }
      if (!fresh) await reader.close();
      return got;
    };
    const rows = Array.from({ length: n }, (_, i) => i);
    const rand = seededRandom(7);
    const shuffledOrder = [...rows].sort(() => rand() - 0.5);
    const inOrder = await read(rows, false);
    const shuffled = await read(shuffledOrder, false);
    const alone = await read(rows, true);
    for (const row of rows) assert.ok(inOrder.get(row) === shuffled.get(row) && shuffled.get(row) === alone.get(row), `row ${row}: in order ${inOrder.get(row)}, shuffled ${shuffled.get(row)}, alone ${alone.get(row)}`);
    const failed = rows.filter((r) => inOrder.get(r) === 'ERR_DECODE');
    assert.deepEqual(failed, rows.filter((r) => r >= target && r < 24), 'the damaged frame and the frames after it in its GOP fail');
    const reader = await vg.VideoReader.open(file, { cacheBytes: 0 });
    try {
      for (const row of rows.filter((r) => !failed.includes(r))) assertSameFrame((await reader.frame(row)).image, o.frame(row), `row ${row}`);
      await assert.rejects(reader.frame(target), (e) => e.code === 'ERR_DECODE' && e.rows[0] === target && /damaged|errors/.test(e.message));
    } finally {
      await reader.close();
    }
  });
});
