// A graph sent to workers is data (lib/distributed/graph-spec.ts): rebuilt from its JSON in
// another client, it computes exactly what the original graph computes (sampling, slicing,
// per-stream arguments, worker-pool TypeScript ops, array inputs, encoded and raw outputs), and
// what cannot leave the process (an inline kernel) is refused naming the op.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { graphFromSpec, graphToSpec, encodeValue, decodeValue } from '../dist/distributed/graph-spec.js';
import { fixture } from './helpers/corpus.mjs';
import { bytesOf, tempDir } from './helpers/util.mjs';

const video = await fixture('h264_bframes_opengop.mp4');
const KERNELS = new URL('./children/kernels.mjs', import.meta.url);
vg.registerOp({ name: 'SpecInvertPool', inputs: { frame: vg.FrameType }, outputs: { frame: vg.FrameType }, module: { url: KERNELS, export: 'invert' } });
vg.registerOp({ name: 'SpecInline', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: () => 1 });

/** The same graph on `sc`: two videos, sampling, slicing, per-stream arguments, four outputs. */
function build(sc, suffix) {
  const videos = [new vg.NamedVideoStream(sc, 'a', { path: video }), new vg.NamedVideoStream(sc, 'b', { path: video })];
  const frames = sc.io.Input(videos);
  const picked = sc.streams.Gather(sc.streams.Stride(frames, [2]), [[9, 0, 3, 3, 1], [2, 1]]);
  const small = sc.ops.Resize({ frame: picked, width: [64, 32], height: 48, interpolation: 'INTER_AREA' });
  const inverted = sc.ops.call('SpecInvertPool', { frame: small });
  const sliced = sc.streams.Slice(sc.streams.Range(frames, [[0, 12]]), { partitions: [sc.partitioner.strided(2, 3)] });
  const hist = sc.streams.Unslice(sc.ops.Histogram({ frame: sc.ops.Blur({ frame: sliced, kernelSize: 3, sigma: [0, 1.5] }) }));
  const labels = sc.io.Input([new vg.ArrayStream([{ a: 1 }, null, 'x']), new vg.ArrayStream([{ b: [7, 8] }, [1, 2]])]);
  const out = (name) => [`${name}-a${suffix}`, `${name}-b${suffix}`];
  return [
    sc.io.Output(inverted.lossless(), out('inv').map((n) => new vg.NamedVideoStream(sc, n))),
    sc.io.Output(sc.streams.Repeat(small, [2]).compressVideo({ quality: 30 }), out('enc').map((n) => new vg.NamedVideoStream(sc, n))),
    sc.io.Output(hist, out('hist').map((n) => new vg.NamedStream(sc, n))),
    sc.io.Output(sc.ops.Pass({ input: sc.streams.Repeat(labels, [2]) }), out('labels').map((n) => new vg.NamedStream(sc, n))),
  ];
}

async function rows(sc, name) {
  const out = [];
  for await (const v of new vg.NamedStream(sc, name).load()) out.push(v instanceof vg.Frame ? bytesOf(v).toString('base64') : v === null ? null : v instanceof Uint8Array ? [...v] : JSON.parse(JSON.stringify(v, (_k, x) => (ArrayBuffer.isView(x) ? [...x] : x))));
  return out;
}

describe('graphs as data (what workers receive)', () => {
  test('a graph rebuilt from its JSON spec in another client computes the same rows as the original', async () => {
    const local = new vg.Client({ db: tempDir() });
    const remote = new vg.Client({ db: tempDir() });
    try {
      const original = build(local, '');
      const spec = JSON.parse(JSON.stringify(graphToSpec(original)));
      assert.equal(spec.version, 1);
      assert.deepEqual(spec.tsOps.map((t) => t.name), ['SpecInvertPool']);
      const rebuilt = await graphFromSpec(remote, spec, 'test worker');
      const perf = vg.PerfParams.manual(4, 8);
      const a = await local.run(original, perf, { showProgress: false, throwOnFailure: true });
      const b = await remote.run(rebuilt, perf, { showProgress: false, throwOnFailure: true });
      assert.equal(a.stats.rowsWritten, b.stats.rowsWritten);
      for (const name of ['inv-a', 'inv-b', 'enc-a', 'enc-b', 'hist-a', 'hist-b', 'labels-a', 'labels-b']) {
        const [x, y] = [await rows(local, name), await rows(remote, name)];
        assert.ok(x.length > 0, name);
        assert.deepEqual(y, x, `${name}: the rebuilt graph's rows`);
      }
      assert.deepEqual((await rows(remote, 'labels-b')).slice(0, 2), [{ b: [7, 8] }, { b: [7, 8] }]);
    } finally {
      await local.close();
      await remote.close();
    }
  });

  test('an inline TypeScript kernel cannot be sent to workers: ERR_BAD_ARGUMENT names the op and the fix', async () => {
    const sc = new vg.Client({ db: tempDir() });
    try {
      const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: video })]);
      const out = sc.io.Output(sc.ops.call('SpecInline', { frame: frames }), [new vg.NamedStream(sc, 'x')]);
      assert.throws(() => graphToSpec([out]), { code: 'ERR_BAD_ARGUMENT', message: /SpecInline: a TypeScript op with an inline kernel cannot run on workers; register it with module/ });
    } finally {
      await sc.close();
    }
  });

  test('a spec naming an op or type the worker lacks, or of another version, is refused naming it', async () => {
    const sc = new vg.Client({ db: tempDir() });
    try {
      const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a', { path: video })]);
      const spec = graphToSpec([sc.io.Output(sc.ops.FrameInfo({ frame: frames }), [new vg.NamedStream(sc, 'x')])]);
      await assert.rejects(graphFromSpec(sc, { ...spec, version: 99 }, 'w1'), { code: 'ERR_BAD_ARGUMENT', message: /expected version 1, got 99/ });
      const renamed = JSON.parse(JSON.stringify(spec).replace('"FrameInfo"', '"NoSuchOp"'));
      await assert.rejects(graphFromSpec(sc, renamed, 'worker w1'), { code: 'ERR_NOT_FOUND', message: /op 'NoSuchOp' is not available on worker w1/ });
      await assert.rejects(graphFromSpec(sc, { ...spec, types: ['Point3'] }, 'worker w1'), { code: 'ERR_NOT_FOUND', message: /column type 'Point3' is not registered on worker w1/ });
    } finally {
      await sc.close();
    }
  });

  test('values round-trip through JSON: bytes, frames of every dtype, nested records; functions are refused', () => {
    const f = vg.Frame.from(new Float32Array([1.5, -2, 3, 4]), 2, 1, 2);
    const back = decodeValue(JSON.parse(JSON.stringify(encodeValue({ b: new Uint8Array([1, 2]), f, n: [1, null, 'x'] }, 'v'))));
    assert.deepEqual([...back.b], [1, 2]);
    assert.equal(back.f.dtype, 'float32');
    assert.deepEqual([...back.f.data], [1.5, -2, 3, 4]);
    assert.deepEqual(back.n, [1, null, 'x']);
    assert.throws(() => encodeValue({ f: () => 1 }, 'args'), { code: 'ERR_BAD_ARGUMENT', message: /args\.f: .* cannot be sent to workers/ });
    assert.throws(() => encodeValue(NaN, 'args.x'), { code: 'ERR_BAD_ARGUMENT', message: /not finite/ });
  });
});
