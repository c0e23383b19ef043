// Calls that used to "succeed" while doing the wrong thing (issue 10, item 8): an async
// TypeScript kernel stored {} for every row, a ConvertColor typo passed graph building and
// failed every job, an encoded frame output could not be read through NamedStream, and one
// video that cannot be ingested rejected a whole run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { fixture, makeClip, oracle } from './helpers/corpus.mjs';
import { bytesOf, tempDir } from './helpers/util.mjs';

const file = await fixture('h264_bframes_opengop.mp4');
const perf = vg.PerfParams.manual(4, 4);
const quiet = { showProgress: false };

async function all(stream, opts) {
  const out = [];
  for await (const v of stream.load(opts)) out.push(v);
  return out;
}

describe('silent successes (issue 10, item 8)', () => {
  test('an async TypeScript kernel is awaited: rows hold the resolved values in row order, and a rejection fails the job with ERR_KERNEL', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const video = new vg.NamedVideoStream(sc, 'v', { path: file });
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    vg.registerOp({
      name: 'AsyncWidth', inputs: { frame: vg.FrameType }, outputs: { info: vg.Json },
      // Later rows resolve sooner: the order must still be the rows'.
      kernel: async (config, { frame }) => { await sleep(frame.data[0] % 5); return { w: frame.width, first: frame.data[0] }; },
    });
    class AsyncCounter extends vg.Kernel {
      async reset() { await sleep(1); this.n = 0; }
      async execute() { await sleep(1); return this.n++; }
    }
    vg.registerOp({ name: 'AsyncCounter', inputs: { frame: vg.FrameType }, outputs: { n: vg.Json }, kernel: AsyncCounter });
    vg.registerOp({ name: 'AsyncBatch', inputs: { frame: vg.FrameType }, outputs: { w: vg.Json }, batch: 3, kernel: async (c, { frame }) => frame.map(async (f) => f.height) });
    vg.registerOp({ name: 'AsyncRejects', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: async () => { await sleep(1); throw new Error('no luck'); } });
    const frames = sc.streams.Range(sc.io.Input([video]), [[0, 6]]);
    const outs = { w: new vg.NamedStream(sc, 'w'), n: new vg.NamedStream(sc, 'n'), b: new vg.NamedStream(sc, 'b') };
    const r = await sc.run([
      sc.io.Output(sc.ops.AsyncWidth({ frame: frames }), [outs.w]),
      sc.io.Output(sc.ops.AsyncCounter({ frame: frames }), [outs.n]),
      sc.io.Output(sc.ops.AsyncBatch({ frame: frames }), [outs.b]),
    ], perf, quiet);
    assert.deepEqual(r.failedJobs, []);
    const o = await oracle(file);
    assert.deepEqual(await all(outs.w), Array.from({ length: 6 }, (_, i) => ({ w: o.width, first: o.frame(i)[0] })));
    assert.deepEqual(await all(outs.n), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(await all(outs.b), Array(6).fill(o.height));
    const failed = await sc.run(sc.io.Output(sc.ops.AsyncRejects({ frame: frames }), [new vg.NamedStream(sc, 'x')]), perf, quiet);
    assert.deepEqual(failed.failedJobs, ['v']);
    assert.equal(failed.stats.errors[0].code, 'ERR_KERNEL');
    assert.match(failed.stats.errors[0].message, /AsyncRejects: no luck/);
    assert.equal(await new vg.NamedStream(sc, 'x').exists(), false);
  });

  test('an unknown ConvertColor conversion is ERR_BAD_ARGUMENT when the graph is built, suggesting the closest name', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
    assert.throws(() => sc.ops.ConvertColor({ frame: frames, conversion: 'COLOR_RGB2GREY' }),
      { code: 'ERR_BAD_ARGUMENT', message: /ConvertColor: expected one of 'COLOR_RGB2GRAY', .* for argument 'conversion', got 'COLOR_RGB2GREY' \(string\) \(did you mean 'COLOR_RGB2GRAY'\?\)/ });
    assert.throws(() => sc.ops.ConvertColor({ frame: frames, conversion: ['COLOR_RGB2GRAY', 'rgb2gray'] }), { code: 'ERR_BAD_ARGUMENT', message: /\(stream 1\)/ });
    assert.throws(() => sc.ops.ConvertColor({ frame: frames }), { code: 'ERR_BAD_ARGUMENT', message: /missing required argument 'conversion'/ });
    // Every name the graph accepts, the engine accepts: one run over all of them.
    const names = ['COLOR_RGB2GRAY', 'COLOR_BGR2GRAY', 'COLOR_RGB2BGR', 'COLOR_BGR2RGB', 'COLOR_RGB2RGBA', 'COLOR_RGB2HSV', 'COLOR_HSV2RGB', 'COLOR_RGB2HLS', 'COLOR_HLS2RGB',
      'COLOR_RGB2Lab', 'COLOR_Lab2RGB', 'COLOR_RGB2Luv', 'COLOR_RGB2YCrCb', 'COLOR_YCrCb2RGB', 'COLOR_RGB2XYZ', 'COLOR_RGB2YUV', 'COLOR_YUV2RGB'];
    const one = sc.streams.Range(frames, [[0, 1]]);
    const r = await sc.run(names.map((c) => sc.io.Output(sc.ops.ConvertColor({ frame: one, conversion: c }).lossless(), [new vg.NamedStream(sc, c)])), perf, quiet);
    assert.deepEqual(r.stats.errors, []);
  });

  test('any stored stream loads through both NamedStream and NamedVideoStream: encoded frames, an ingested video, histograms', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const video = new vg.NamedVideoStream(sc, 'v', { path: file });
    const frames = sc.streams.Range(sc.io.Input([video]), [[0, 5]]);
    // The README's Output sample: a frame column (stored encoded, H.264) read through NamedStream.
    await sc.run([
      sc.io.Output(sc.ops.Resize({ frame: frames, width: 64, height: 48 }), [new vg.NamedStream(sc, 'small')]),
      sc.io.Output(sc.ops.Histogram({ frame: frames }), [new vg.NamedVideoStream(sc, 'hist')]),
    ], perf, quiet);
    const viaNamed = await all(new vg.NamedStream(sc, 'small'), { rows: [4, 0, 4] });
    const viaVideo = await all(new vg.NamedVideoStream(sc, 'small'), { rows: [4, 0, 4] });
    assert.deepEqual(viaNamed.map((f) => [f.width, f.height]), [[64, 48], [64, 48], [64, 48]]);
    viaNamed.forEach((f, i) => assert.ok(bytesOf(f).equals(bytesOf(viaVideo[i])), `row ${i}`));
    // An ingested video through NamedStream: exact frames.
    const o = await oracle(file);
    const [f7] = await all(new vg.NamedStream(sc, 'v'), { rows: [7] });
    assert.ok(bytesOf(f7).equals(o.frame(7)));
    // Histograms through NamedVideoStream, as through NamedStream.
    const h1 = await all(new vg.NamedVideoStream(sc, 'hist'));
    const h2 = await all(new vg.NamedStream(sc, 'hist'));
    assert.equal(h1.length, 5);
    assert.deepEqual(h1, h2);
    // And as a graph input, an encoded output read through NamedStream.
    const again = await sc.run(sc.io.Output(sc.ops.FrameInfo({ frame: sc.io.Input([new vg.NamedStream(sc, 'small')]) }), [new vg.NamedStream(sc, 'info')]), perf, quiet);
    assert.deepEqual(again.failedJobs, []);
    assert.deepEqual((await all(new vg.NamedStream(sc, 'info')))[0], { width: 64, height: 48, channels: 3 });
  });

  test('a video that cannot be ingested fails its own job (failedJobs, ERR_INVALID_VIDEO); the other jobs of the run commit', async () => {
    const db = tempDir();
    const sc = new vg.Client({ db });
    // An MP4 whose index (moov, written last) was cut off: no container to read.
    const whole = fs.readFileSync(await makeClip('no_moov.mp4', { width: 64, height: 48, seconds: 1 }));
    const cut = path.join(db, 'cut.mp4');
    fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const inputs = [new vg.NamedVideoStream(sc, 'good', { path: file }), new vg.NamedVideoStream(sc, 'cut', { path: cut }), new vg.NamedVideoStream(sc, 'good2', { path: file })];
    const outputs = ['h-good', 'h-cut', 'h-good2'].map((n) => new vg.NamedStream(sc, n));
    const progress = [];
    const r = await sc.run(sc.io.Output(sc.ops.Histogram({ frame: sc.io.Input(inputs) }), outputs), perf, { ...quiet, onProgress: (p) => progress.push(p) });
    assert.deepEqual(r.failedJobs, ['cut']);
    assert.equal(r.stats.errors.length, 1);
    assert.equal(r.stats.errors[0].code, 'ERR_INVALID_VIDEO');
    assert.match(r.stats.errors[0].message, /cut\.mp4/);
    assert.deepEqual(await Promise.all(outputs.map((o) => o.exists())), [true, false, true]);
    assert.equal(await outputs[2].len(), 48);
    assert.equal(progress.at(-1).failedJobs, 1);
    assert.equal(progress.at(-1).done, progress.at(-1).total);
  });
});
