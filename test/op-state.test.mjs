// Op state semantics, row by row, with a recording kernel in place of the engine's: stencil
// neighbours, bounded-state warm-up, reset() at discontinuities and at slice group boundaries,
// and state carried across packets.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { tempDir } from './helpers/util.mjs';

const require = createRequire(import.meta.url);
const { JobEvaluator } = require('../dist/run/evaluate.js');
const { JobPlan } = require('../dist/run/plan.js');

/** A kernel that records what it was asked to do; its output for a row is the stencil inputs. */
function recorder() {
  const log = [];
  return {
    log,
    async reset() { log.push('reset'); },
    async execute(cols, rows) {
      const per = cols[0].length / rows;
      const out = [];
      for (let r = 0; r < rows; r++) {
        const window = cols[0].slice(r * per, (r + 1) * per).map((v) => (v instanceof vg.Frame ? v.data[0] : v[0]));
        log.push(window.join(','));
        out.push(new Uint8Array(window));
      }
      return [out];
    },
    async close() {},
  };
}

/** Evaluates `build(column)` over an ArrayStream of `n` one-byte rows (value = row index). */
async function evaluate(n, build, packets, opts = {}) {
  const sc = new vg.Client({ db: tempDir() });
  // Rows are 1x1 one-channel frames whose pixel is the row index.
  const values = Array.from({ length: n }, (_, i) => vg.Frame.from(new Uint8Array([i]), 1, 1, 1));
  const input = sc.io.Input([new vg.ArrayStream(values)]);
  const col = build(sc, input);
  const opNode = col.node;
  const plan = new JobPlan(0, 1, new Map([[input.node.id, n]]));
  const reads = packets.map(() => new Set());
  let packetNo = 0;
  const source = { read: async (rows) => { rows.forEach((r) => reads[packetNo].add(r)); return new Map(rows.map((r) => [r, values[r]])); }, close: async () => {} };
  const kernel = recorder();
  const ops = new Map([[opNode.id, { kernel, lastRow: -2, lastGroup: -1, turn: Promise.resolve() }]]);
  const ev = new JobEvaluator(plan, new Map([[input.node.id, source]]), ops, opts.work ?? 100);
  const results = [];
  for (const [k, rows] of packets.entries()) {
    packetNo = k;
    const m = await ev.packet(col, rows);
    results.push(rows.map((r) => [...m.get(r)]));
  }
  // What the evaluator read, packet by packet (each packet's rows sorted), next to the decode
  // schedule the planner makes for the same packets.
  const read = reads.map((set) => [...set].sort((a, b) => a - b));
  const fresh = new JobPlan(0, 1, new Map([[input.node.id, n]]));
  const size = packets[0].length;
  const consecutive = packets.every((rows, k) => rows.join() === Array.from({ length: rows.length }, (_, i) => k * size + i).join());
  const schedule = consecutive ? fresh.inputSchedule([col], size).get(input.node.id) ?? [] : undefined;
  return { log: kernel.log, results, read, schedule };
}

describe('op state semantics', () => {
  test('stencil [0, 1] gives each row and the next, clamped at the end', async () => {
    const { results } = await evaluate(5, (sc, c) => sc.ops.OpticalFlow({ frame: c }), [[0, 1, 2, 3, 4]]);
    assert.deepEqual(results[0], [[0, 1], [1, 2], [2, 3], [3, 4], [4, 4]]);
  });

  test('stencil [-1, 0, 1] in a slice never crosses a group boundary', async () => {
    const { results } = await evaluate(6, (sc, c) => sc.ops.OpticalFlow({ frame: sc.streams.Slice(c, { partitions: [sc.partitioner.all(3)] }), stencil: [-1, 1] }), [[0, 1, 2, 3, 4, 5]]);
    assert.deepEqual(results[0], [[0, 1], [0, 2], [1, 2], [3, 4], [3, 5], [4, 5]]);
  });

  test('reset() before the first row, and again at every discontinuity', async () => {
    const { log } = await evaluate(20, (sc, c) => sc.ops.Pass({ input: c }), [[2, 3, 4, 10, 11]]);
    assert.deepEqual(log, ['reset', '2', '3', '4', 'reset', '10', '11']);
  });

  test('boundedState: W warm-up rows before the first needed row of each run; small gaps are filled, not reset', async () => {
    const { log, results } = await evaluate(30, (sc, c) => sc.ops.Pass({ input: c, boundedState: 2 }), [[5, 6, 8, 20]]);
    assert.deepEqual(log, ['reset', '3', '4', '5', '6', '7', '8', 'reset', '18', '19', '20']);
    assert.deepEqual(results[0], [[5], [6], [8], [20]], 'warm-up rows are not returned');
  });

  test('state carries across packets: no reset or warm-up when the next packet continues', async () => {
    const { log } = await evaluate(30, (sc, c) => sc.ops.Pass({ input: c, boundedState: 3 }), [[10, 11], [12, 13], [20]]);
    assert.deepEqual(log, ['reset', '7', '8', '9', '10', '11', '12', '13', 'reset', '17', '18', '19', '20']);
  });

  test('slice groups reset state and bound warm-up at the group start', async () => {
    const { log } = await evaluate(8, (sc, c) => sc.ops.Pass({ input: sc.streams.Slice(c, { partitions: [sc.partitioner.all(4)] }), boundedState: 2 }), [[0, 1, 2, 3, 4, 5, 6, 7]]);
    assert.deepEqual(log, ['reset', '0', '1', '2', '3', 'reset', '4', '5', '6', '7']);
  });

  test('the decode schedule lists exactly the input rows the evaluator reads, in the order it reads them', async () => {
    const shuffled = [17, 3, 3, 40, 0, 22, 39, 8, 8, 31, 12, 5];
    const cases = [
      ['Gather shuffled with repeats, stencil [-1, 1]', 45, (sc, c) => sc.ops.OpticalFlow({ frame: sc.streams.Gather(c, [shuffled]), stencil: [-1, 1] }), shuffled.length, 4],
      ['Stride then boundedState 3 across packets', 60, (sc, c) => sc.ops.Pass({ input: sc.streams.Stride(c, [2]), boundedState: 3 }), 30, 7],
      ['Slice groups, boundedState 2', 40, (sc, c) => sc.ops.Pass({ input: sc.streams.Slice(c, { partitions: [sc.partitioner.strided(5, 3)] }), boundedState: 2 }), null, 5],
      ['Ranges with a gap, unbounded state', 50, (sc, c) => sc.ops.Pass({ input: sc.streams.Ranges(c, [[[2, 9], [30, 36]]]), unboundedState: true }), 13, 4],
    ];
    for (const [name, n, build, lengthOrNull, size] of cases) {
      const probe = new vg.Client({ db: tempDir() });
      const probeInput = probe.io.Input([new vg.ArrayStream(Array.from({ length: n }, () => new Uint8Array(1)))]);
      const length = lengthOrNull ?? new JobPlan(0, 1, new Map([[probeInput.node.id, n]])).column(build(probe, probeInput)).length;
      const packets = [];
      for (let a = 0; a < length; a += size) packets.push(Array.from({ length: Math.min(size, length - a) }, (_, i) => a + i));
      const { read, schedule } = await evaluate(n, build, packets);
      assert.deepEqual(schedule, read.flat(), `${name}: schedule ${schedule} versus reads ${read.map((r) => `[${r}]`).join(' ')}`);
    }
  });

  test('batches of `batch` rows per kernel call, split at resets', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const calls = [];
    const input = sc.io.Input([new vg.ArrayStream(Array.from({ length: 10 }, (_, i) => new Uint8Array([i])))]);
    const col = sc.ops.Pass({ input, batch: 3 });
    const plan = new JobPlan(0, 1, new Map([[input.node.id, 10]]));
    const kernel = { async reset() { calls.push('reset'); }, async execute(cols, rows) { calls.push(rows); return [cols[0]]; }, async close() {} };
    const ev = new JobEvaluator(plan, new Map([[input.node.id, { read: async (rows) => new Map(rows.map((r) => [r, new Uint8Array([r])])), close: async () => {} }]]),
      new Map([[col.node.id, { kernel, lastRow: -2, lastGroup: -1, turn: Promise.resolve() }]]), 100);
    await ev.packet(col, [0, 1, 2, 3, 4, 7, 8]);
    assert.deepEqual(calls, ['reset', 3, 2, 'reset', 2]);
  });
});
