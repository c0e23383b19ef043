// Decode lanes: a request whose rows lie in several keyframe intervals is spread over two
// decoders that decode at the same time. The frames are the ffmpeg CLI's whichever lane decodes
// them, damage is reported for every row of every lane, and a sequential read keeps to one lane.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { makeClip, oracle } from './helpers/corpus.mjs';
import { assertSameFrame, seededRandom, tempDir } from './helpers/util.mjs';

// 240 frames, a keyframe every 24, 3 B-frames: 10 keyframe intervals.
const GOP = 24;
const file = await makeClip('lanes.mp4', { width: 160, height: 96, seconds: 10, fps: 24, gop: GOP, extraArgs: ['-bf', '3', '-sc_threshold', '0'] });
const o = await oracle(file);

describe('decode lanes', () => {
  test('rows over many keyframe intervals, shuffled with repeats, are decoded on two lanes and are the CLI frames', async () => {
    const rand = seededRandom(3);
    const rows = Array.from({ length: 30 }, () => Math.floor(rand() * o.count));
    rows.push(...rows.slice(0, 4));
    const reader = await vg.VideoReader.open(file, { threads: 2, cacheBytes: 0 });
    try {
      const frames = await reader.frames(rows);
      assert.equal(reader.stats.lanes, 2);
      frames.forEach((f, k) => assertSameFrame(f.image, o.frame(rows[k]), `row ${rows[k]} (position ${k})`));
      const intervals = new Set(rows.map((r) => Math.floor(r / GOP))).size;
      // A lane that passed the next keyframe on its way continues into that interval.
      assert.ok(reader.stats.seeks <= intervals, `${reader.stats.seeks} seeks for ${intervals} intervals`);
      // Both lanes keep their place: a second sparse request is exact too.
      const again = [239, 0, 120, 121, 47];
      (await reader.frames(again)).forEach((f, k) => assertSameFrame(f.image, o.frame(again[k]), `row ${again[k]}`));
    } finally {
      await reader.close();
    }
  });

  test('threads: 1 keeps one lane', async () => {
    const reader = await vg.VideoReader.open(file, { threads: 1, cacheBytes: 0 });
    const rows = [5, 50, 100, 150, 200];
    (await reader.frames(rows)).forEach((f, k) => assertSameFrame(f.image, o.frame(rows[k]), `row ${rows[k]}`));
    assert.equal(reader.stats.lanes, 1);
    await reader.close();
  });

  test('a sequential read continues on one lane across keyframe intervals', async () => {
    const reader = await vg.VideoReader.open(file, { threads: 2 });
    let n = 0;
    for await (const f of reader.iterFrames()) {
      if (n % 37 === 0) assertSameFrame(f.image, o.frame(n), `row ${n}`);
      n++;
    }
    assert.equal(n, o.count);
    assert.equal(reader.stats.lanes, 1);
    assert.equal(reader.stats.seeks, 1);
    await reader.close();
  });

  test('damage in one lane\'s intervals rejects the request naming every damaged row, and the other rows still decode', async () => {
    const clean = await makeClip('lanes_damaged_src.mp4', { width: 176, height: 144, seconds: 4, fps: 12, gop: 12, extraArgs: ['-bf', '0', '-x264-params', 'scenecut=0'] });
    const info = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pos,size,flags', '-of', 'json', clean]).toString()).packets;
    const target = 16; // a P-frame of the second interval (no B-frames: decode order is row order)
    assert.ok(!info[target].flags.includes('K'));
    const bytes = fs.readFileSync(clean);
    const pos = Number(info[target].pos);
    const size = Number(info[target].size);
    bytes.fill(0xff, pos + Math.floor(size / 3), pos + size);
    const damaged = path.join(tempDir(), 'damaged.mp4');
    fs.writeFileSync(damaged, bytes);
    const od = await oracle(damaged);
    const reader = await vg.VideoReader.open(damaged, { threads: 2, cacheBytes: 0 });
    try {
      await assert.rejects(reader.frames([2, 17, 20, 30, 40]), (e) => e.code === 'ERR_DECODE' && e.rows.join() === '17,20');
      assert.equal(reader.stats.lanes, 2);
      const good = [40, 2, 30, 13];
      (await reader.frames(good)).forEach((f, k) => assertSameFrame(f.image, od.frame(good[k]), `row ${good[k]}`));
    } finally {
      await reader.close();
    }
  });

  test('close() during a two-lane decode rejects it with ERR_CLOSED and frees both lanes', async () => {
    const reader = await vg.VideoReader.open(file, { threads: 2, cacheBytes: 0 });
    const pending = assert.rejects(reader.frames([23, 71, 119, 167, 215]), (e) => e.code === 'ERR_CLOSED');
    await reader.close();
    await pending;
    await assert.rejects(reader.frames([1, 200]), (e) => e.code === 'ERR_CLOSED');
  });

  test('a graph reading shuffled rows on two lanes opens each interval once and outputs the CLI frames', async () => {
    const rand = seededRandom(9);
    const rows = Array.from({ length: 24 }, () => Math.floor(rand() * o.count));
    const sc = new vg.Client({ db: tempDir(), threads: 2 });
    const input = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
    const out = new vg.NamedVideoStream(sc, 'picked');
    const result = await sc.run(sc.io.Output(sc.ops.Pass({ input: sc.streams.Gather(input, [rows]) }).lossless(), [out]), vg.PerfParams.manual(3, 6), { showProgress: false });
    assert.deepEqual(result.failedJobs, []);
    const intervals = new Set(rows.map((r) => Math.floor(r / GOP))).size;
    assert.ok(result.stats.gopsOpened <= intervals, `opened ${result.stats.gopsOpened}; ${intervals} hold needed rows`);
    let k = 0;
    for await (const f of out.load()) assertSameFrame(f, o.frame(rows[k]), `output row ${k} (source row ${rows[k++]})`);
    assert.equal(k, rows.length);
  });
});
