// The fuzz suite in CI: 200 damaged videos (7 codec/container seeds) and 50 damaged database
// files, each read in a child process under a memory and a time cap (scripts/fuzz.mjs).
// `npm run fuzz -- --count N --seed S` runs more; `npm run fuzz -- --replay <case>` reproduces one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { DOCUMENTED_CODES, classify, describeFailure, makeSeeds, runFuzz, runProbes, SEEDS, videoCase } from '../scripts/fuzz.mjs';
import * as m from '../scripts/fuzz-mutate.mjs';

describe('fuzz harness', () => {
  test('a case name always yields the same damaged bytes', async () => {
    const seeds = await makeSeeds();
    for (const i of [0, 5, 13, 77]) {
      const a = videoCase(3, i, seeds);
      const b = videoCase(3, i, seeds);
      assert.ok(a.bytes.equals(b.bytes), `v3-${i}`);
      assert.equal(a.what, b.what);
      assert.ok(!a.bytes.equals(fs.readFileSync(seeds[a.source])), `v3-${i} (${a.what}) damages its seed`);
    }
    assert.ok(new Set(SEEDS.map((s) => s.name.split('.')[0])).size >= 4 && new Set(SEEDS.map((s) => s.name.split('.')[1])).size >= 4);
  });

  test('the SPS rewriter keeps an SPS intact at its own size and writes the absurd one asked for', async () => {
    const seeds = await makeSeeds();
    const h264 = fs.readFileSync(seeds['h264.h264']);
    const at = h264.indexOf(Buffer.from([0, 0, 1, 0x67])) + 3;
    let end = h264.indexOf(Buffer.from([0, 0, 1]), at);
    while (h264[end - 1] === 0) end--;
    const sps = h264.subarray(at, end);
    assert.ok(m.rewriteSpsDims(sps, 128, 96).equals(sps));
    assert.ok(m.rewriteSpsDims(sps, 16000, 16000).length > sps.length);
  });

  test('the classifier fails crashes, hangs, memory-cap hits, undocumented errors and silent element damage', () => {
    const c = { id: 'v1-0', kind: 'video', source: 'h264.mp4', mutation: 'bit flips', what: 'x' };
    const step = (error) => ({ report: { steps: [{ step: 'open', ok: false, error }] } });
    assert.equal(classify(c, { died: { code: null, signal: 'SIGSEGV' }, stderr: '' }).outcome, 'crash');
    assert.equal(classify(c, { died: { code: null, signal: 'SIGKILL' }, killed: 'time' }).outcome, 'hang');
    assert.equal(classify(c, { died: { code: null, signal: 'SIGKILL' }, killed: 'memory' }).outcome, 'memory');
    assert.equal(classify(c, { died: { code: 134, signal: null }, stderr: "terminate called after throwing an instance of 'std::bad_alloc'" }).outcome, 'memory');
    assert.equal(classify(c, step({ vidgraph: false, name: 'RangeError', message: 'offset out of range' })).outcome, 'undocumented');
    assert.equal(classify(c, step({ vidgraph: true, code: 'ERR_INTERNAL', message: 'x' })).outcome, 'undocumented');
    for (const code of DOCUMENTED_CODES) assert.equal(classify(c, step({ vidgraph: true, code, message: 'x' })).outcome, 'ok', code);
    const d = { id: 'd1-4', kind: 'db', source: 'h/rows.bin', mutation: 'truncation', what: 'x' };
    const baseline = { steps: [{ step: 'h load all', ok: true, hashes: ['a', 'b', 'c'] }] };
    assert.equal(classify(d, { report: { steps: [{ step: 'h load all', ok: true, hashes: ['a', 'b', 'z'] }] } }, baseline).outcome, 'silent');
    assert.equal(classify(d, { report: { steps: [{ step: 'h load all', ok: false, error: { vidgraph: true, code: 'ERR_CORRUPT', message: 'x' } }] } }, baseline).outcome, 'ok');
  });

  test('a child that crashes, aborts, hangs or outgrows the memory cap fails only its own case; the next case runs in a fresh child', async () => {
    const probes = ['ok', 'segv', 'ok', 'abort', 'hang', 'ok', 'alloc', 'throw', 'ok'];
    const got = await runProbes(probes, { jobs: 1, timeoutSec: 5, memCapMiB: 512 });
    assert.deepEqual(got.map((r) => r.outcome), ['ok', 'crash', 'ok', 'crash', 'hang', 'ok', 'memory', 'undocumented', 'ok']);
    assert.match(got[1].detail, /SIGSEGV/);
  });
});

describe('fuzz suite', () => {
  test('200 damaged videos and 50 damaged database files: 0 crashes, 0 hangs, 0 memory-cap hits, only documented errors', { timeout: 15 * 60_000 }, async () => {
    const { results, failures, counts } = await runFuzz({ count: 200, dbCount: 50, seed: 1, jobs: 2 });
    const videos = results.filter((r) => /^v\d/.test(r.id));
    assert.equal(videos.length, 200);
    assert.equal(results.filter((r) => /^d\d/.test(r.id)).length, 50);
    assert.ok(new Set(videos.map((r) => r.mutation)).size >= 6, 'every kind of damage is exercised');
    assert.ok(failures.length === 0, `${failures.length} of ${results.length} cases failed (${JSON.stringify(counts)}):\n${failures.map(describeFailure).join('\n')}`);
  });
});
