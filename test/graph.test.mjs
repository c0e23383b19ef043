// The computation graph: stream operators, partitioners, ops in a run, outputs, cache modes,
// abort, failing jobs, and sampling pushed down to the decoder.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { fixture, makeClip, oracle } from './helpers/corpus.mjs';
import { cv } from './helpers/opencv-oracle.mjs';
import { bytesOf, tempDir } from './helpers/util.mjs';

const fileA = await fixture('h264_bframes_opengop.mp4'); // 48 frames
const fileB = await fixture('hevc.mp4'); // 48 frames
const oA = await oracle(fileA);
const oB = await oracle(fileB);

function client() {
  return new vg.Client({ db: tempDir() });
}

let counter = 0;
/** Runs col → Pass → lossless output for each input and returns the loaded frames per job. */
async function passThrough(sc, inputs, build) {
  const frames = sc.io.Input(inputs);
  const col = build(frames);
  const outs = inputs.map(() => new vg.NamedVideoStream(sc, `out${++counter}`));
  const result = await sc.run(sc.io.Output(sc.ops.Pass({ input: col }).lossless(), outs), vg.PerfParams.manual(4, 8), { showProgress: false });
  assert.deepEqual(result.failedJobs, []);
  const loaded = [];
  for (const o of outs) {
    const rows = [];
    for await (const f of o.load()) rows.push(f);
    loaded.push(rows);
  }
  return { loaded, result };
}

function assertRows(frames, o, expected, what) {
  assert.equal(frames.length, expected.length, `${what}: row count`);
  frames.forEach((f, k) => {
    if (expected[k] === null) assert.equal(f, null, `${what}: row ${k} is null`);
    else assert.ok(f && bytesOf(f).equals(o.frame(expected[k])), `${what}: row ${k} should be source row ${expected[k]}`);
  });
}

describe('stream operators select exactly the documented source rows', () => {
  const cases = [
    ['All', (sc, c) => sc.streams.All(c), Array.from({ length: 48 }, (_, i) => i)],
    ['Stride [5]', (sc, c) => sc.streams.Stride(c, [5]), [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]],
    ['Range [[5, 12]]', (sc, c) => sc.streams.Range(c, [[5, 12]]), [5, 6, 7, 8, 9, 10, 11]],
    ['Range past the end clamps', (sc, c) => sc.streams.Range(c, [[45, 100]]), [45, 46, 47]],
    ['Ranges [[[0, 3], [40, 43]]]', (sc, c) => sc.streams.Ranges(c, [[[0, 3], [40, 43]]]), [0, 1, 2, 40, 41, 42]],
    ['StridedRange [[2, 30, 7]]', (sc, c) => sc.streams.StridedRange(c, [[2, 30, 7]]), [2, 9, 16, 23]],
    ['Gather, unsorted with repeats', (sc, c) => sc.streams.Gather(c, [[30, 2, 2, 47, 0, 29]]), [30, 2, 2, 47, 0, 29]],
    ['Repeat [2]', (sc, c) => sc.streams.Repeat(sc.streams.Range(c, [[10, 13]]), [2]), [10, 10, 11, 11, 12, 12]],
    ['RepeatNull [3]', (sc, c) => sc.streams.RepeatNull(sc.streams.Range(c, [[10, 12]]), [3]), [10, null, null, 11, null, null]],
    ['Stride then Gather', (sc, c) => sc.streams.Gather(sc.streams.Stride(c, [4]), [[3, 0, 11]]), [12, 0, 44]],
  ];
  for (const [name, build, expected] of cases) {
    test(name, async () => {
      const sc = client();
      const { loaded } = await passThrough(sc, [new vg.NamedVideoStream(sc, 'a', { path: fileA })], (c) => build(sc, c));
      assertRows(loaded[0], oA, expected, name);
    });
  }

  test('one argument entry per stream applies per job; a single entry applies to every job', async () => {
    const sc = client();
    const inputs = [new vg.NamedVideoStream(sc, 'a', { path: fileA }), new vg.NamedVideoStream(sc, 'b', { path: fileB })];
    const { loaded } = await passThrough(sc, inputs, (c) => sc.streams.Gather(c, [[1, 2], [40]]));
    assertRows(loaded[0], oA, [1, 2], 'job 0');
    assertRows(loaded[1], oB, [40], 'job 1');
    const both = await passThrough(sc, inputs, (c) => sc.streams.Range(c, [[3, 5]]));
    assertRows(both.loaded[0], oA, [3, 4], 'job 0 shared');
    assertRows(both.loaded[1], oB, [3, 4], 'job 1 shared');
  });

  test('Slice and Unslice with each partitioner keep the rows the partition names', async () => {
    const sc = client();
    const input = () => [new vg.NamedVideoStream(sc, 'a', { path: fileA })];
    const cases = [
      [sc.partitioner.all(10), Array.from({ length: 48 }, (_, i) => i)],
      [sc.partitioner.strided(10, 2), [0, 10, 20, 30, 40]],
      [sc.partitioner.range(5, 9), [5, 6, 7, 8]],
      [sc.partitioner.ranges([[0, 2], [30, 32]]), [0, 1, 30, 31]],
      [sc.partitioner.gather([[7, 3], [40]]), [7, 3, 40]],
    ];
    for (const [partition, expected] of cases) {
      const { loaded } = await passThrough(sc, input(), (c) => sc.streams.Unslice(sc.streams.Slice(c, { partitions: [partition] })));
      assertRows(loaded[0], oA, expected, 'partition');
    }
  });

  test('bad stream operator arguments are ERR_BAD_ARGUMENT naming the operator', () => {
    const sc = client();
    const c = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
    assert.throws(() => sc.streams.Stride(c, [0]), { code: 'ERR_BAD_ARGUMENT', message: /Stride: expected integer stride > 0 for stream 0, got 0 \(number\)/ });
    assert.throws(() => sc.streams.Range(c, [[5, 2]]), { code: 'ERR_BAD_ARGUMENT', message: /Range/ });
    assert.throws(() => sc.streams.Gather(c, [[1, -1]]), { code: 'ERR_BAD_ARGUMENT' });
    assert.throws(() => sc.streams.Stride(c, 2), { code: 'ERR_BAD_ARGUMENT', message: /one entry per input stream/ });
    assert.throws(() => sc.streams.Slice(c, { partitions: [5] }), { code: 'ERR_BAD_ARGUMENT' });
  });

  test('a Gather row past the end fails the job with a message naming the row', async () => {
    const sc = client();
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
    const out = sc.io.Output(sc.ops.Pass({ input: sc.streams.Gather(frames, [[1, 99]]) }).lossless(), [new vg.NamedVideoStream(sc, 'o')]);
    await assert.rejects(sc.run(out, vg.PerfParams.manual(4, 8)), { code: 'ERR_BAD_ARGUMENT', message: /Gather: row 99 is past the end of the stream \(48 rows\)/ });
  });
});

describe('ops in a run', () => {
  test('Histogram over two videos (the Scanner tutorial) equals a direct count of the oracle frames', async () => {
    const sc = client();
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA }), new vg.NamedVideoStream(sc, 'b', { path: fileB })]);
    const hist = sc.ops.Histogram({ frame: frames });
    const outs = [new vg.NamedStream(sc, 'a_hist'), new vg.NamedStream(sc, 'b_hist')];
    await sc.run(sc.io.Output(hist, outs), vg.PerfParams.estimate(), { showProgress: false });
    for (const [k, o] of [[0, oA], [1, oB]]) {
      assert.equal(await outs[k].len(), 48);
      let row = 0;
      for await (const h of outs[k].load({ rows: [0, 17, 47] })) {
        const r = [0, 17, 47][row++];
        const px = o.frame(r);
        const expected = [new Int32Array(16), new Int32Array(16), new Int32Array(16)];
        for (let i = 0; i < px.length; i += 3) { expected[0][px[i] >> 4]++; expected[1][px[i + 1] >> 4]++; expected[2][px[i + 2] >> 4]++; }
        assert.deepEqual(h, expected);
      }
    }
  });

  test('the grayscale walkthrough: Stride, Resize, ConvertColor, CloneChannels with PerfParams.manual(50, 250)', async () => {
    const sc = client();
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
    const sampled = sc.streams.Stride(frames, [3]);
    const resized = sc.ops.Resize({ frame: sampled, width: 160, height: 120 });
    const gray = sc.ops.ConvertColor({ frame: resized, conversion: 'COLOR_RGB2GRAY' });
    const three = sc.ops.CloneChannels({ frame: gray, replications: 3 });
    const out = new vg.NamedVideoStream(sc, 'gray');
    await sc.run(sc.io.Output(three.lossless(), [out]), vg.PerfParams.manual(50, 250), { showProgress: false });
    assert.equal(await out.len(), 16);
    let k = 0;
    for await (const f of out.load({ rows: [0, 5, 15] })) {
      const src = [0, 15, 45][k++];
      const input = vg.Frame.from(new Uint8Array(oA.frame(src)), 240, 320, 3);
      const expected = cv('cv2.merge([cv2.cvtColor(cv2.resize(img, (160, 120), interpolation=cv2.INTER_LINEAR), cv2.COLOR_RGB2GRAY)] * 3)', input);
      assert.ok(bytesOf(f).equals(expected.data), `row from source ${src}`);
    }
  });

  test('OpticalFlow with stencil [0, 1] sees each row and the next (the last row clamps to itself)', async () => {
    const sc = client();
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
    const range = sc.streams.Range(frames, [[20, 24]]);
    const flow = sc.ops.OpticalFlow({ frame: range });
    const out = new vg.NamedStream(sc, 'flow');
    await sc.run(sc.io.Output(flow.lossless(), [out]), vg.PerfParams.manual(2, 4), { showProgress: false });
    const got = [];
    for await (const f of out.load()) got.push(f);
    assert.equal(got.length, 4);
    const fr = (r) => vg.Frame.from(new Uint8Array(oA.frame(r)), 240, 320, 3);
    const farneback = 'cv2.calcOpticalFlowFarneback(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.cvtColor(img2, cv2.COLOR_RGB2GRAY), None, 0.5, 3, 15, 3, 5, 1.2, 0)';
    assert.ok(bytesOf(got[1]).equals(cv(farneback, fr(21), fr(22)).data), 'row 21 → 22');
    assert.ok(bytesOf(got[3]).equals(cv(farneback, fr(23), fr(23)).data), 'last row of the range clamps');
  });

  test('ImageEncoder outputs load as PNG bytes and FrameInfo as JSON', async () => {
    const sc = client();
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
    const few = sc.streams.Range(frames, [[0, 2]]);
    const png = new vg.NamedStream(sc, 'png');
    const info = new vg.NamedStream(sc, 'info');
    await sc.run([sc.io.Output(sc.ops.ImageEncoder({ frame: few, format: 'png' }), [png]), sc.io.Output(sc.ops.FrameInfo({ frame: few }), [info])], vg.PerfParams.manual(2, 2), { showProgress: false });
    for await (const b of png.load()) assert.deepEqual([...b.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    for await (const i of info.load()) assert.deepEqual(i, { width: 320, height: 240, channels: 3 });
  });

  test('an Input of ArrayStreams mixing kinds (bytes in one, JSON in another) is ERR_BAD_ARGUMENT naming both rows', () => {
    const sc = new vg.Client({ db: tempDir() });
    assert.throws(() => sc.io.Input([new vg.ArrayStream([{ a: 1 }, null]), new vg.ArrayStream([null, new Uint8Array([7])])]),
      { code: 'ERR_BAD_ARGUMENT', message: /streams\[0\] row 0 is a JSON value and streams\[1\] row 1 is a Uint8Array/ });
    assert.throws(() => sc.io.Input([new vg.ArrayStream([vg.Frame.alloc(2, 2, 3), 'x'])]), { code: 'ERR_BAD_ARGUMENT', message: /row 0 is a vg\.Frame and streams\[0\] row 1 is a JSON value/ });
    assert.equal(sc.io.Input([new vg.ArrayStream([null, 1]), new vg.ArrayStream([{ b: 2 }])]).type, 'Json');
  });

  test('ArrayStream inputs round-trip (bytes as bytes, other values as JSON); null rows load as null', async () => {
    const sc = client();
    const bytes = [new Uint8Array([1, 2]), new Uint8Array([3])];
    const out = new vg.NamedStream(sc, 'bytes');
    await sc.run(sc.io.Output(sc.ops.Pass({ input: sc.streams.RepeatNull(sc.io.Input([new vg.ArrayStream(bytes)]), [2]) }), [out]), vg.PerfParams.manual(1, 2), { showProgress: false });
    const got = [];
    for await (const v of out.load()) got.push(v === null ? null : [...v]);
    assert.deepEqual(got, [[1, 2], null, [3], null]);
    const objects = new vg.NamedStream(sc, 'objects');
    await sc.run(sc.io.Output(sc.ops.Pass({ input: sc.io.Input([new vg.ArrayStream([{ a: 1 }, [2, 3]])]) }), [objects]), vg.PerfParams.manual(1, 2), { showProgress: false });
    const loaded = [];
    for await (const v of objects.load()) loaded.push(v);
    assert.deepEqual(loaded, [{ a: 1 }, [2, 3]]);
  });

  test('vg.registerType validates its argument and round-trips values', () => {
    const Point = vg.registerType({ name: 'Point', serialize: (p) => new Uint8Array(new Float64Array([p.x, p.y]).buffer), deserialize: (b) => { const f = new Float64Array(b.slice().buffer); return { x: f[0], y: f[1] }; } });
    assert.deepEqual(Point.deserialize(Point.serialize({ x: 1.5, y: -2 })), { x: 1.5, y: -2 });
    assert.throws(() => vg.registerType({ name: 'X' }), { code: 'ERR_BAD_ARGUMENT', message: /serialize/ });
    assert.deepEqual(vg.Histogram.deserialize(vg.Histogram.serialize([new Int32Array(16).fill(1), new Int32Array(16), new Int32Array(16).fill(2)]))[2][15], 2);
  });
});

describe('running', () => {
  function histGraph(sc, name = 'h') {
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
    return sc.io.Output(sc.ops.Histogram({ frame: sc.streams.Range(frames, [[0, 8]]) }), [new vg.NamedStream(sc, name)]);
  }

  test('CacheMode Error refuses existing outputs, Ignore skips their jobs, Overwrite replaces them', async () => {
    const sc = client();
    await sc.run(histGraph(sc), vg.PerfParams.manual(4, 4), { showProgress: false });
    await assert.rejects(sc.run(histGraph(sc), vg.PerfParams.manual(4, 4), { showProgress: false }), { code: 'ERR_EXISTS', message: /'h' already exist/ });
    const ignored = await sc.run(histGraph(sc), vg.PerfParams.manual(4, 4), { cacheMode: vg.CacheMode.Ignore, showProgress: false });
    assert.equal(ignored.stats.skippedJobs, 1);
    assert.equal(ignored.stats.rowsWritten, 0);
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a')]);
    const replaced = await sc.run(sc.io.Output(sc.ops.Histogram({ frame: sc.streams.Range(frames, [[0, 3]]) }), [new vg.NamedStream(sc, 'h')]), vg.PerfParams.manual(4, 4), { cacheMode: vg.CacheMode.Overwrite, showProgress: false });
    assert.equal(replaced.stats.rowsWritten, 3);
    assert.equal(await new vg.NamedStream(sc, 'h').len(), 3);
  });

  test('onProgress reports rows done out of the total, ending at the total', async () => {
    const sc = client();
    const seen = [];
    await sc.run(histGraph(sc), vg.PerfParams.manual(2, 2), { onProgress: (p) => seen.push(p), showProgress: false });
    assert.deepEqual(seen.at(-1), { done: 8, total: 8, jobs: 1, failedJobs: 0, jobsDone: 1 });
    assert.ok(seen.length >= 4);
    assert.ok(seen.every((p, i) => i === 0 || p.done >= seen[i - 1].done));
  });

  test('profiling writes a Chrome trace with a track per stage', async () => {
    const sc = client();
    const { stats } = await sc.run(histGraph(sc), vg.PerfParams.manual(2, 4), { profiling: true, showProgress: false });
    const trace = JSON.parse(fs.readFileSync(stats.profile, 'utf8'));
    const tracks = trace.traceEvents.filter((e) => e.ph === 'M').map((e) => e.args.name);
    assert.ok(tracks.some((t) => t.startsWith('input a')), tracks.join(', '));
    assert.ok(tracks.some((t) => t.startsWith('op Histogram')), tracks.join(', '));
    assert.ok(tracks.some((t) => t === 'write h'), tracks.join(', '));
    const slices = trace.traceEvents.filter((e) => e.ph === 'X');
    assert.ok(slices.length >= 6 && slices.every((e) => e.dur >= 0 && e.ts >= 0));
  });

  test('aborting cancels the run with ERR_ABORTED and leaves nothing visible', async () => {
    const sc = client();
    const ac = new AbortController();
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
    const out = sc.io.Output(sc.ops.Blur({ frame: frames, kernelSize: 5 }).lossless(), [new vg.NamedVideoStream(sc, 'blurred')]);
    await assert.rejects(sc.run(out, vg.PerfParams.manual(1, 2), { signal: ac.signal, showProgress: false, onProgress: (p) => { if (p.done >= 4) ac.abort(); } }), { code: 'ERR_ABORTED' });
    assert.equal(await new vg.NamedVideoStream(sc, 'blurred').exists(), false);
    assert.deepEqual(fs.readdirSync(path.join(sc.dbPath, 'staging')), []);
  });

  test('a corrupt video among good ones fails alone; the others commit', async () => {
    const sc = client();
    const inputs = [new vg.NamedVideoStream(sc, 'good', { path: fileA }), new vg.NamedVideoStream(sc, 'bad', { path: await fixture('truncated.mp4') }), new vg.NamedVideoStream(sc, 'good2', { path: fileB })];
    const frames = sc.io.Input(inputs);
    const outs = ['o1', 'o2', 'o3'].map((n) => new vg.NamedStream(sc, n));
    const result = await sc.run(sc.io.Output(sc.ops.Histogram({ frame: frames }), outs), vg.PerfParams.manual(8, 16), { showProgress: false });
    assert.deepEqual(result.failedJobs, ['bad']);
    assert.equal(result.stats.errors[0].code, 'ERR_DECODE');
    assert.equal(await outs[0].exists(), true);
    assert.equal(await outs[1].exists(), false);
    assert.equal(await outs[2].exists(), true);
  });

  test('sampling is pushed down: Stride 60 over 60-frame GOPs decodes about one frame per output row', async () => {
    const clip = await makeClip('gop60-pushdown.mp4', { seconds: 20, fps: 30, gop: 60, noise: false, extraArgs: ['-bf', '0', '-sc_threshold', '0'] });
    const sc = client();
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'long', { path: clip })]);
    const out = sc.io.Output(sc.ops.Histogram({ frame: sc.streams.Stride(frames, [60]) }), [new vg.NamedStream(sc, 'sparse')]);
    const { stats } = await sc.run(out, vg.PerfParams.manual(5, 10), { showProgress: false });
    assert.equal(stats.rowsWritten, 10);
    assert.ok(stats.framesDecoded <= 10 * 3, `decoded ${stats.framesDecoded} frames for 10 rows of a 600-frame clip`);
  });

  test('graph errors: unknown ops name close matches, bad arguments name op, argument and type', () => {
    const sc = client();
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
    assert.throws(() => sc.ops.Resise({ frame: frames }), (e) => e instanceof vg.VidgraphError && e.code === 'ERR_NOT_FOUND' && /did you mean 'Resize'/.test(e.message));
    // Case does not count in the distance: HISTOGRAMM is one edit from Histogram, not ten.
    assert.throws(() => sc.ops.HISTOGRAMM({ frame: frames }), { code: 'ERR_NOT_FOUND', message: /no op named 'HISTOGRAMM' \(did you mean 'Histogram'\?\)/ });
    assert.throws(() => sc.ops.Resize({ frame: frames, width: '640px', height: 480 }), { code: 'ERR_BAD_ARGUMENT', message: "Resize: expected an integer for argument 'width', got '640px' (string)" });
    assert.throws(() => sc.ops.Resize({ frame: frames, width: 640 }), { code: 'ERR_BAD_ARGUMENT', message: /missing required argument 'height'/ });
    assert.throws(() => sc.ops.Resize({ frame: frames, width: 64, height: 48, colour: 1 }), { code: 'ERR_BAD_ARGUMENT', message: /unknown argument 'colour'/ });
    assert.throws(() => sc.ops.Resize({ width: 64, height: 48 }), { code: 'ERR_BAD_ARGUMENT', message: /input 'frame'/ });
    assert.throws(() => sc.io.Output(frames, [new vg.NamedVideoStream(sc, 'x'), new vg.NamedVideoStream(sc, 'y')]), { code: 'ERR_BAD_ARGUMENT', message: /2 output stream\(s\) for an Input of 1/ });
    assert.throws(() => sc.ops.Histogram({ frame: sc.ops.Histogram({ frame: frames }) }), { code: 'ERR_BAD_ARGUMENT', message: /needs frames/ });
  });

  test('asking for a GPU op without a GPU is ERR_NO_GPU', async () => {
    const sc = new vg.Client({ db: tempDir(), gpus: [] });
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: fileA })]);
    const out = sc.io.Output(sc.ops.Resize({ frame: frames, width: 8, height: 8, device: vg.DeviceType.GPU }).lossless(), [new vg.NamedVideoStream(sc, 'g')]);
    await assert.rejects(sc.run(out, vg.PerfParams.estimate()), { code: 'ERR_NO_GPU' });
  });
});

describe('PerfParams', () => {
  test('estimate() sizes packets from the frame size so that 4K stays within its memory budget', () => {
    const hd = vg.PerfParams.estimate({ frameBytes: 1920 * 1080 * 3, memoryBytes: 16 * 2 ** 30 });
    const uhd = vg.PerfParams.estimate({ frameBytes: 3840 * 2160 * 3, memoryBytes: 16 * 2 ** 30 });
    assert.ok(uhd.ioPacketSize < hd.ioPacketSize);
    // Three packets in flight, about three frames per row: within 512 MiB.
    assert.ok(uhd.ioPacketSize * 3840 * 2160 * 3 * 3 * 3 <= 512 * 2 ** 20 + 8 * 3840 * 2160 * 27, `${uhd.ioPacketSize}`);
    assert.ok(uhd.workPacketSize >= 1 && uhd.workPacketSize <= uhd.ioPacketSize);
  });

  test('manual() validates its sizes', () => {
    assert.equal(vg.PerfParams.manual(50, 250).ioPacketSize, 250);
    assert.throws(() => vg.PerfParams.manual(0, 10), { code: 'ERR_BAD_ARGUMENT', message: /workPacketSize/ });
    assert.throws(() => vg.PerfParams.manual(100, 10), { code: 'ERR_BAD_ARGUMENT', message: /ioPacketSize >= workPacketSize/ });
  });
});
