// A run with failed jobs cannot pass unnoticed: one VIDGRAPH_JOB_FAILED warning per failed job,
// or with throwOnFailure a JobsFailedError listing each job and its cause; the other jobs commit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { makeClip } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

/** A good clip and a file that is no video, as two jobs of one graph. */
async function twoJobs() {
  const db = tempDir();
  const good = await makeClip('run_failures.mp4', { width: 64, height: 48, seconds: 1, fps: 10 });
  const bad = path.join(db, 'notes.mp4');
  fs.writeFileSync(bad, 'this is not a video\n'.repeat(100));
  const sc = new vg.Client({ db });
  const input = sc.io.Input([new vg.NamedVideoStream(sc, 'good', { path: good }), new vg.NamedVideoStream(sc, 'bad', { path: bad })]);
  const output = sc.io.Output(sc.ops.FrameInfo({ frame: input }), [new vg.NamedStream(sc, 'good-info'), new vg.NamedStream(sc, 'bad-info')]);
  return { sc, output };
}

/** Runs `fn`, collecting the process warnings it emits with `code`. */
async function warningsDuring(code, fn) {
  const seen = [];
  const listener = (w) => { if (w.code === code) seen.push(w.message); };
  process.on('warning', listener);
  try {
    const result = await fn();
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    return { result, seen };
  } finally {
    process.off('warning', listener);
  }
}

describe('run failures', () => {
  test('without throwOnFailure, each failed job emits a VIDGRAPH_JOB_FAILED warning naming it and its code, and the run resolves', async () => {
    const { sc, output } = await twoJobs();
    const { result, seen } = await warningsDuring('VIDGRAPH_JOB_FAILED', () => sc.run(output, vg.PerfParams.manual(4, 4), { showProgress: false }));
    assert.deepEqual(result.failedJobs, ['bad']);
    assert.equal(seen.length, 1);
    assert.match(seen[0], /^job 'bad' failed: .*notes\.mp4.* \(ERR_INVALID_VIDEO\)$/);
    assert.equal(await new vg.NamedStream(sc, 'good-info').len(), 10);
  });

  test('throwOnFailure rejects with JobsFailedError listing each failed job and its cause; the good job is committed', async () => {
    const { sc, output } = await twoJobs();
    const { seen } = await warningsDuring('VIDGRAPH_JOB_FAILED', async () => {
      await assert.rejects(sc.run(output, vg.PerfParams.manual(4, 4), { showProgress: false, throwOnFailure: true }), (e) => {
        assert.ok(e instanceof vg.JobsFailedError && e instanceof vg.VidgraphError);
        assert.equal(e.code, 'ERR_JOBS_FAILED');
        assert.match(e.message, /^run: 1 of 2 job\(s\) failed:\n {2}job 'bad': .*notes\.mp4.* \(ERR_INVALID_VIDEO\)$/);
        assert.deepEqual(e.failures.map((f) => [f.job, f.code]), [['bad', 'ERR_INVALID_VIDEO']]);
        assert.deepEqual(e.result.failedJobs, ['bad']);
        return true;
      });
    });
    assert.deepEqual(seen, [], 'no warning when the error says it');
    assert.equal(await new vg.NamedStream(sc, 'good-info').len(), 10);
  });

  test('a run without failures neither warns nor throws; throwOnFailure must be a boolean', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const input = sc.io.Input([new vg.ArrayStream([new Uint8Array([1])])]);
    const output = sc.io.Output(sc.ops.Pass({ input }), [new vg.NamedStream(sc, 'out')]);
    const { result, seen } = await warningsDuring('VIDGRAPH_JOB_FAILED', () => sc.run(output, vg.PerfParams.manual(1, 1), { showProgress: false, throwOnFailure: true }));
    assert.deepEqual([result.failedJobs, seen], [[], []]);
    await assert.rejects(sc.run(output, vg.PerfParams.manual(1, 1), { throwOnFailure: 'yes' }), (e) => e.code === 'ERR_BAD_ARGUMENT' && /throwOnFailure/.test(e.message));
  });
});
