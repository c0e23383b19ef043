// How a cluster client reads a task's end (lib/distributed/task-outcome.ts), against a model of
// BullMQ's Redis records in which the task completes at a chosen moment between the client's reads.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { taskOutcome } from '../dist/distributed/task-outcome.js';

/**
 * A task whose record lives in `store`; `finishOn(n)` completes it (state and result together,
 * as BullMQ's moveToFinished script does) just after the client's n-th read of Redis.
 */
function model({ finishOn, result = { staged: [], worker: 'w1' }, fail }) {
  const store = { state: 'active', returnvalue: null, attemptsMade: 0, failedReason: undefined, exists: true };
  let reads = 0;
  const log = [];
  const read = (what) => {
    reads++;
    log.push(what);
    const snapshot = { ...store };
    if (reads === finishOn) {
      if (fail) Object.assign(store, { state: 'failed', attemptsMade: fail.attempts, failedReason: fail.reason });
      else Object.assign(store, { state: 'completed', returnvalue: result });
    }
    return snapshot;
  };
  const added = [];
  const sources = {
    queue: {
      getJobState: async () => { const s = read('state'); return s.exists ? s.state : 'unknown'; },
      add: async (name, data) => { added.push(name); store.exists = true; return { name, data }; },
    },
    events: {},
    fromId: async () => {
      const s = read('record');
      return s.exists ? { returnvalue: s.returnvalue, attemptsMade: s.attemptsMade, failedReason: s.failedReason } : undefined;
    },
  };
  const task = {
    id: 'run-0-0', name: 'task', data: { job: 0 }, opts: {},
    // Events are lost (a Redis restart): every wait times out, unless the task had already ended.
    waitUntilFinished: async () => {
      const s = read('wait');
      if (s.state === 'completed') return s.returnvalue;
      if (s.state === 'failed') throw new Error(s.failedReason);
      throw new Error('Job wait task timed out before finishing');
    },
  };
  return { store, sources, task, log, added };
}

describe('a cluster client reading how its tasks ended', () => {
  test('a task that completes between the client reading its record and its state yields its result, not an empty record', async () => {
    // The record is read second (after the state): completing just after the state read leaves a
    // stale "active" record and a stale "active" state, so the client waits again and sees the result.
    for (const finishOn of [1, 2, 3, 4, 5]) {
      const m = model({ finishOn });
      const got = await taskOutcome(m.sources, m.task, 3);
      assert.deepEqual(got, { result: { staged: [], worker: 'w1' } }, `completing after read ${finishOn} (${m.log.join(', ')})`);
    }
  });

  test('a task that failed its last attempt yields its failure reason', async () => {
    const m = model({ finishOn: 1, fail: { attempts: 3, reason: '{"code":"ERR_DECODE","message":"bad file","worker":"w2"}' } });
    const got = await taskOutcome(m.sources, m.task, 3);
    assert.deepEqual(got, { failure: '{"code":"ERR_DECODE","message":"bad file","worker":"w2"}' });
  });

  test('a task that Redis lost is added again under its id, then waited for', async () => {
    const m = model({ finishOn: 6 });
    m.store.exists = false;
    const got = await taskOutcome(m.sources, m.task, 3);
    assert.deepEqual(m.added, ['task']);
    assert.deepEqual(got, { result: { staged: [], worker: 'w1' } });
  });

  test('a completed task whose record holds no result is a failure that says so, not a crash later', async () => {
    const m = model({ finishOn: 1, result: null });
    const got = await taskOutcome(m.sources, m.task, 3);
    assert.ok('failure' in got && /completed, but Redis holds no result/.test(got.failure), JSON.stringify(got));
  });

  test('an aborted run stops waiting with ERR_ABORTED', async () => {
    const m = model({ finishOn: 100 });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(taskOutcome({ ...m.sources, signal: ac.signal }, m.task, 3), { code: 'ERR_ABORTED' });
  });
});
