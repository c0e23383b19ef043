// Ops written in TypeScript: function and class kernels, batch, stencil, state and resets
// checked row by row against a sequential reference, worker-pool kernels equal to inline ones,
// and kernel exceptions failing only their job.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { brightness, Counter, invert } from './children/kernels.mjs';
import { fixture, oracle } from './helpers/corpus.mjs';
import { bytesOf, tempDir } from './helpers/util.mjs';

const file = await fixture('h264_bframes_opengop.mp4');
const o = await oracle(file);
const KERNELS = new URL('./children/kernels.mjs', import.meta.url);
let n = 0;
const unique = (base) => `${base}${++n}`;

vg.registerOp({ name: 'TsBrightness', inputs: { frame: vg.FrameType }, outputs: { value: vg.Json }, kernel: brightness });
vg.registerOp({ name: 'TsBrightnessPool', inputs: { frame: vg.FrameType }, outputs: { value: vg.Json }, module: { url: KERNELS, export: 'brightness' } });
vg.registerOp({ name: 'TsInvert', inputs: { frame: vg.FrameType }, outputs: { frame: vg.FrameType }, kernel: invert });
vg.registerOp({ name: 'TsInvertPool', inputs: { frame: vg.FrameType }, outputs: { frame: vg.FrameType }, module: { url: KERNELS, export: 'invert' } });
vg.registerOp({ name: 'TsCounter', inputs: { frame: vg.FrameType }, outputs: { count: vg.Json }, kernel: Counter });
vg.registerOp({ name: 'TsCounterPool', inputs: { frame: vg.FrameType }, outputs: { count: vg.Json }, module: { url: KERNELS, export: 'Counter' } });

async function runToStream(sc, build, opts = {}) {
  const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
  const out = new vg.NamedStream(sc, unique('out'));
  const result = await sc.run(sc.io.Output(build(frames), [out]), opts.perf ?? vg.PerfParams.manual(4, 8), { showProgress: false });
  const rows = [];
  if (await out.exists()) for await (const v of out.load()) rows.push(v);
  return { rows, result };
}

const mean = (buf) => buf.reduce((a, b) => a + b, 0) / buf.length;

describe('ops written in TypeScript', () => {
  test('a function kernel runs per row; its value is stored by the output type', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const { rows } = await runToStream(sc, (f) => sc.ops.TsBrightness({ frame: sc.streams.Range(f, [[0, 5]]) }));
    assert.deepEqual(rows, [0, 1, 2, 3, 4].map((r) => mean(o.frame(r))));
  });

  test('a kernel returning frames writes a frame column', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
    const out = new vg.NamedVideoStream(sc, 'inverted');
    await sc.run(sc.io.Output(sc.ops.TsInvert({ frame: sc.streams.Range(frames, [[10, 12]]) }).lossless(), [out]), vg.PerfParams.manual(2, 2), { showProgress: false });
    let k = 10;
    for await (const f of out.load()) {
      const expected = Buffer.from(o.frame(k++).map((v) => 255 - v));
      assert.ok(bytesOf(f).equals(expected));
    }
  });

  test('config.args carries the op arguments (scalar for every stream, array per stream)', async () => {
    let seen;
    vg.registerOp({ name: 'TsArgs', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: (config) => { seen = config; return config.args.label; } });
    const sc = new vg.Client({ db: tempDir() });
    const { rows } = await runToStream(sc, (f) => sc.ops.TsArgs({ frame: sc.streams.Range(f, [[0, 2]]), label: 'x', opts: { a: 1 } }));
    assert.deepEqual(rows, ['x', 'x']);
    assert.deepEqual(seen.args, { label: 'x', opts: { a: 1 } });
    assert.deepEqual(seen.inputColumns, ['frame']);
    assert.deepEqual(seen.outputColumns, ['v']);
    assert.equal(seen.device, 'cpu');
  });

  test('batch: the kernel receives arrays of up to `batch` rows and returns as many results', async () => {
    const sizes = [];
    vg.registerOp({ name: 'TsBatch', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, batch: 3, kernel: (c, { frame }) => { sizes.push(frame.length); return frame.map((f) => f.data[0]); } });
    const sc = new vg.Client({ db: tempDir() });
    const { rows } = await runToStream(sc, (f) => sc.ops.TsBatch({ frame: sc.streams.Range(f, [[0, 7]]) }), { perf: vg.PerfParams.manual(7, 7) });
    assert.deepEqual(rows, [0, 1, 2, 3, 4, 5, 6].map((r) => o.frame(r)[0]));
    assert.deepEqual(sizes, [3, 3, 1]);
  });

  test('stencil: each input is the array of rows at the offsets, clamped at the edges', async () => {
    vg.registerOp({ name: 'TsStencil', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, stencil: [-1, 0, 1], kernel: (c, { frame }) => frame.map((f) => f.data[0]) });
    const sc = new vg.Client({ db: tempDir() });
    const { rows } = await runToStream(sc, (f) => sc.ops.TsStencil({ frame: sc.streams.Range(f, [[0, 4]]) }));
    const px = (r) => o.frame(r)[0];
    assert.deepEqual(rows, [[px(0), px(0), px(1)], [px(0), px(1), px(2)], [px(1), px(2), px(3)], [px(2), px(3), px(3)]]);
  });

  test('class kernels: reset() at every slice group, state kept across packets, matching a sequential reference', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const { rows } = await runToStream(sc, (f) => sc.streams.Unslice(sc.ops.TsCounter({ frame: sc.streams.Slice(sc.streams.Range(f, [[0, 10]]), { partitions: [sc.partitioner.all(4)] }) })), { perf: vg.PerfParams.manual(3, 3) });
    // Reference: a counter run sequentially over each group.
    const reference = [];
    for (const group of [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]) group.forEach((r, i) => reference.push([i + 1, o.frame(r)[0]]));
    assert.deepEqual(rows, reference);
  });

  test('boundedState: the kernel sees W warm-up rows before the first needed row', async () => {
    const sc = new vg.Client({ db: tempDir() });
    // The op runs on the whole stream; only rows 10, 11 and 30 of its output are needed.
    const { rows } = await runToStream(sc, (f) => sc.streams.Gather(sc.ops.TsCounter({ frame: f, boundedState: 3 }), [[10, 11, 30]]));
    // Row 10: reset, warm-up 7, 8, 9 → 4th row seen. Row 11 continues. Row 30: reset, warm-up 27..29.
    assert.deepEqual(rows.map((r) => r[0]), [4, 5, 4]);
  });

  test('worker-pool kernels give the same output as inline ones', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const inline = await runToStream(sc, (f) => sc.ops.TsBrightness({ frame: sc.streams.Range(f, [[0, 16]]) }));
    const pooled = await runToStream(sc, (f) => sc.ops.TsBrightnessPool({ frame: sc.streams.Range(f, [[0, 16]]) }), { perf: vg.PerfParams.manual(8, 16) });
    assert.deepEqual(pooled.rows, inline.rows);
    const counted = await runToStream(sc, (f) => sc.streams.Unslice(sc.ops.TsCounterPool({ frame: sc.streams.Slice(sc.streams.Range(f, [[0, 10]]), { partitions: [sc.partitioner.all(4)] }), boundedState: 1 })), { perf: vg.PerfParams.manual(3, 3) });
    assert.deepEqual(counted.rows.map((r) => r[0]), [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]);
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
    const out = new vg.NamedVideoStream(sc, 'inv-pool');
    await sc.run(sc.io.Output(sc.ops.TsInvertPool({ frame: sc.streams.Range(frames, [[5, 9]]) }).lossless(), [out]), vg.PerfParams.manual(4, 4), { showProgress: false });
    let k = 5;
    for await (const f of out.load()) assert.ok(bytesOf(f).equals(Buffer.from(o.frame(k++).map((v) => 255 - v))));
  });

  test('an exception in a kernel fails its job with the kernel message and stack; the process goes on', async () => {
    vg.registerOp({ name: 'TsThrows', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: (c, { frame }) => { if (frame.data[0] >= 0) throw new Error('kernel exploded'); } });
    const sc = new vg.Client({ db: tempDir() });
    const { result } = await runToStream(sc, (f) => sc.ops.TsThrows({ frame: f }));
    assert.deepEqual(result.failedJobs, ['v']);
    assert.equal(result.stats.errors[0].code, 'ERR_KERNEL');
    assert.match(result.stats.errors[0].message, /TsThrows: kernel exploded/);
    vg.registerOp({ name: 'TsThrowsPool', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, module: { url: KERNELS, export: 'noSuchExport' } });
    const pooled = await runToStream(sc, (f) => sc.ops.TsThrowsPool({ frame: sc.streams.Range(f, [[0, 2]]) }));
    assert.match(pooled.result.stats.errors[0].message, /no function or class export 'noSuchExport'/);
  });

  test('registerOp validates the declaration', () => {
    assert.throws(() => vg.registerOp({ name: 'Bad Name', inputs: { frame: vg.FrameType }, outputs: {}, kernel: () => 1 }), { code: 'ERR_BAD_ARGUMENT', message: /identifier/ });
    assert.throws(() => vg.registerOp({ name: 'NoKernel', inputs: { frame: vg.FrameType }, outputs: {} }), { message: /either kernel or module/ });
    assert.throws(() => vg.registerOp({ name: 'BadType', inputs: { frame: 'frame' }, outputs: {}, kernel: () => 1 }), { message: /vg.FrameType or a registered column type/ });
    assert.throws(() => vg.registerOp({ name: 'BadBatch', inputs: { frame: vg.FrameType }, outputs: {}, batch: 0, kernel: () => 1 }), { message: /batch >= 1/ });
  });

  test('registerOp with a name already taken (a built-in, or an op registered before) is ERR_EXISTS unless replace: true', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const copy = { inputs: { frame: vg.FrameType }, outputs: { frame: vg.FrameType }, kernel: (c, { frame }) => frame };
    assert.throws(() => vg.registerOp({ name: 'Resize', ...copy }), { code: 'ERR_EXISTS', message: "registerOp('Resize'): the name is already taken by a built-in op; pass replace: true to replace it" });
    // The built-in is still the one sc.ops builds (its required arguments are checked).
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
    assert.throws(() => sc.ops.Resize({ frame: frames }), { code: 'ERR_BAD_ARGUMENT', message: /missing required argument 'width'/ });
    const name = unique('TsTaken');
    vg.registerOp({ name, inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: () => 1 });
    assert.throws(() => vg.registerOp({ name, inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: () => 2 }), { code: 'ERR_EXISTS', message: /already taken by a TypeScript op registered before/ });
    assert.throws(() => vg.registerOp({ name, inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: () => 2, replace: 'yes' }), { code: 'ERR_BAD_ARGUMENT', message: /boolean for replace/ });
    vg.registerOp({ name, inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: () => 2, replace: true });
    const out = new vg.NamedStream(sc, 'taken');
    await sc.run(sc.io.Output(sc.ops[name]({ frame: sc.streams.Range(frames, [[0, 2]]) }), [out]), vg.PerfParams.manual(2, 2), { showProgress: false });
    const values = [];
    for await (const v of out.load()) values.push(v);
    assert.deepEqual(values, [2, 2]);
  });
});
