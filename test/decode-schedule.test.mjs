// The decode schedule: a job's input rows are planned as one schedule, so each keyframe
// interval holding a needed row is decoded once per job, however the rows are ordered, repeated
// or split into packets; and the frames it hands out are the ffmpeg CLI's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { makeClip, oracle } from './helpers/corpus.mjs';
import { assertSameFrame, seededRandom, tempDir } from './helpers/util.mjs';

// 240 frames, a keyframe every 24, 3 B-frames: 10 keyframe intervals.
const GOP = 24;
const file = await makeClip('schedule.mp4', { width: 160, height: 96, seconds: 10, fps: 24, gop: GOP, extraArgs: ['-bf', '3', '-sc_threshold', '0'] });
const o = await oracle(file);

/** Frames a single sorted pass must decode: each interval from its keyframe to its last needed row. */
function lowerBound(rows) {
  const last = new Map();
  for (const r of rows) last.set(Math.floor(r / GOP), Math.max(last.get(Math.floor(r / GOP)) ?? -1, r % GOP));
  return [...last.values()].reduce((a, b) => a + b + 1, 0);
}

function shuffledRows(count, seed) {
  const rnd = seededRandom(seed);
  const rows = Array.from({ length: count }, () => Math.floor(rnd() * o.count));
  return [...rows, ...rows.slice(0, 5)].sort(() => rnd() - 0.5); // repeats, in random order
}

describe('decode schedule', () => {
  test('shuffled Gather rows in many small packets open each needed keyframe interval once, and every row is the CLI frame', async () => {
    const rows = shuffledRows(40, 11);
    const intervals = new Set(rows.map((r) => Math.floor(r / GOP))).size;
    const sc = new vg.Client({ db: tempDir() });
    const input = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
    const out = new vg.NamedVideoStream(sc, 'picked');
    // 4 rows per packet: the 45 requested rows come in 12 packets, each touching several intervals.
    const result = await sc.run(sc.io.Output(sc.ops.Pass({ input: sc.streams.Gather(input, [rows]) }).lossless(), [out]), vg.PerfParams.manual(2, 4), { showProgress: false });
    assert.deepEqual(result.failedJobs, []);
    const { gopsOpened, framesDecoded } = result.stats;
    assert.ok(gopsOpened <= intervals, `opened ${gopsOpened} keyframe intervals; ${intervals} hold needed rows`);
    // Settling a B-frame row needs its forward reference: a few frames past the last needed row.
    const bound = lowerBound(rows);
    assert.ok(framesDecoded <= bound + 4 * intervals, `decoded ${framesDecoded} frames; one sorted pass needs ${bound}`);
    let k = 0;
    for await (const f of out.load()) {
      assertSameFrame(f, o.frame(rows[k]), `output row ${k} (source row ${rows[k]})`);
      k++;
    }
    assert.equal(k, rows.length);
  });

  test('a stencil op over shuffled rows and slice groups reads each interval once', async () => {
    const rows = shuffledRows(30, 5);
    const sc = new vg.Client({ db: tempDir() });
    const input = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
    const sliced = sc.streams.Slice(sc.streams.Gather(input, [rows]), { partitions: [sc.partitioner.all(7)] });
    const flow = sc.streams.Unslice(sc.ops.Pass({ input: sliced, boundedState: 1 }));
    const result = await sc.run(sc.io.Output(flow.lossless(), [new vg.NamedVideoStream(sc, 'o')]), vg.PerfParams.manual(3, 5), { showProgress: false });
    assert.deepEqual(result.failedJobs, []);
    const intervals = new Set(rows.map((r) => Math.floor(r / GOP))).size;
    assert.ok(result.stats.gopsOpened <= intervals, `opened ${result.stats.gopsOpened}; ${intervals} hold needed rows`);
  });

  test('a plan keeps frames only within its budget: with none, intervals are decoded again and rows stay exact', async () => {
    const rows = shuffledRows(30, 3);
    const packets = [];
    for (let a = 0; a < rows.length; a += 4) packets.push(rows.slice(a, a + 4));
    const sc = new vg.Client({ db: tempDir() });
    const video = new vg.NamedVideoStream(sc, 'v', { path: file });
    const opened = {};
    for (const budget of [0, 64 << 20]) {
      const source = await video.openSource();
      try {
        await source.plan(packets.flatMap((p) => [...new Set(p)].sort((a, b) => a - b)), budget);
        for (const p of packets) {
          const frames = await source.decodeRows(p);
          for (const r of p) assertSameFrame(frames.get(r), o.frame(r), `row ${r} with budget ${budget}`);
        }
        opened[budget] = source.stats.seeks;
      } finally {
        await source.close();
      }
    }
    const intervals = new Set(rows.map((r) => Math.floor(r / GOP))).size;
    assert.ok(opened[64 << 20] <= intervals, `with room: opened ${opened[64 << 20]}, ${intervals} needed`);
    assert.ok(opened[0] > opened[64 << 20], `without room the intervals are opened again (${opened[0]} versus ${opened[64 << 20]})`);
  });

  test('non-reference frames not asked for are left out, and every frame asked for is still the CLI frame', async () => {
    const rows = Array.from({ length: Math.ceil(o.count / 3) }, (_, k) => k * 3); // Stride(3)
    const counts = {};
    for (const skipNonReference of [true, false]) {
      const reader = await vg.VideoReader.open(file, { cacheBytes: 0, skipNonReference });
      try {
        const frames = await reader.frames(rows);
        frames.forEach((f, k) => assertSameFrame(f.image, o.frame(rows[k]), `row ${rows[k]} (skipNonReference ${skipNonReference})`));
        for (const r of [5, 1, 0, 239, 100]) assertSameFrame((await reader.frame(r)).image, o.frame(r), `row ${r} alone`);
        counts[skipNonReference] = { ...reader.stats };
      } finally {
        await reader.close();
      }
    }
    assert.ok(counts.true.framesSkipped > 0, 'some frames were left out');
    assert.equal(counts.false.framesSkipped, 0);
    assert.ok(counts.true.framesDecoded < counts.false.framesDecoded, `decoded ${counts.true.framesDecoded} with skipping, ${counts.false.framesDecoded} without`);
  });

  test('a graph with a Client that does not skip decodes every frame on the way', async () => {
    const decoded = {};
    for (const skipNonReference of [true, false]) {
      const sc = new vg.Client({ db: tempDir(), skipNonReference });
      const input = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
      const result = await sc.run(sc.io.Output(sc.ops.Pass({ input: sc.streams.Stride(input, [3]) }).lossless(), [new vg.NamedVideoStream(sc, 'o')]), vg.PerfParams.manual(8, 16), { showProgress: false });
      assert.deepEqual(result.failedJobs, []);
      decoded[skipNonReference] = result.stats.framesDecoded;
    }
    assert.ok(decoded.true < decoded.false, `decoded ${decoded.true} with skipping, ${decoded.false} without`);
  });

  test('a plan naming a row past the end is refused, and the source still decodes', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const source = await new vg.NamedVideoStream(sc, 'v', { path: file }).openSource();
    try {
      await assert.rejects(source.plan([0, o.count]), { code: 'ERR_BAD_ARGUMENT', message: /row 240 is out of range/ });
      await assert.rejects(source.plan([-1]), { code: 'ERR_BAD_ARGUMENT' });
      assertSameFrame((await source.decodeRows([7])).get(7), o.frame(7), 'row 7 after a refused plan');
    } finally {
      await source.close();
    }
    await assert.rejects(source.plan([1]), { code: 'ERR_CLOSED' });
  });
});
