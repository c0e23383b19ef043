/**
 * sc.run() on a cluster: the client plans as a local run does (cache modes, lazy ingest), sends
 * the graph as data with one BullMQ task per job, and commits each job's outputs once a worker
 * has staged them. BullMQ gives each task an id (`<run>-<job>`), retries a failed task (3
 * attempts, exponential backoff), and hands a task whose worker died (its lock expired) to
 * another worker; a task that fails 3 times fails its job alone.
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import type { Client } from '../client';
import { AbortedError, toVidgraphError } from '../errors';
import { InputNode, OutputOp } from '../graph/graph';
import { CacheMode, PerfParams } from '../run/perf-params';
import { ProgressBar } from '../run/progress';
import { checkRun, newRunStats, prepareJobs, settleRun } from '../run/run';
import type { RunOptions, RunResult } from '../run/run';
import { graphToSpec } from './graph-spec';
import { bullmq, decodeFailure, TaskData, TaskResult } from './queue';

/** Attempts per task before its job fails. */
export const TASK_ATTEMPTS = 3;

export async function clusterRun(sc: Client, outputsArg: OutputOp | OutputOp[], perfArg: PerfParams, opts: RunOptions, cluster: { redis: string; queue: string }): Promise<RunResult> {
  // Validate, as a local run does.
  const { outputs, perf, kernelTimeout, throwOnFailure, cacheMode, jobs, nodes } = checkRun(outputsArg, perfArg, opts);
  const spec = graphToSpec(outputs); // what cannot leave this process is refused before anything runs
  const db = await sc.ready();
  const started = performance.now();
  const runId = randomBytes(8).toString('hex');
  const stats = newRunStats(jobs);
  const failedJobs: string[] = [];
  const jobName = (j: number) => nodes.find((n): n is InputNode => n instanceof InputNode)?.streams[j]?.name() ?? `job ${j}`;
  const fail = (j: number, code: string, message: string, worker?: string) => {
    failedJobs.push(jobName(j));
    stats.errors.push({ job: jobName(j), code, message, ...(worker ? { worker } : {}) });
  };

  // Cache modes, then the inputs (ingested here, lazily, so that workers find them stored).
  const { runJob, total, skippedJobs, inputFailures } = await prepareJobs(outputs, nodes, jobs, cacheMode, jobName);
  stats.skippedJobs = skippedJobs;
  for (const { job, error } of inputFailures) fail(job, error.code, error.message);

  // One task per job.
  const { bull, connect } = await bullmq();
  const connections = [connect(cluster.redis), connect(cluster.redis)];
  const queue = new bull.Queue<TaskData, TaskResult>(cluster.queue, { connection: connections[0]! });
  const events = new bull.QueueEvents(cluster.queue, { connection: connections[1]! });
  const progress = { done: 0, total, jobs, failedJobs: failedJobs.length, jobsDone: stats.skippedJobs + failedJobs.length, workers: 0 };
  const doneByTask = new Map<string, number>();
  const bar = (opts.showProgress ?? process.stderr.isTTY)
    ? new ProgressBar(total, {
        unit: 'rows', failedLabel: 'failed jobs', initial: { workers: 0, tasks: `0/${jobs}` },
        format: 'vidgraph {bar} {value}/{total} rows | {rate} rows/s | ETA {eta_formatted} | tasks {tasks} | workers: {workers} | failed jobs: {failed}',
      })
    : undefined;
  const report = () => {
    progress.done = [...doneByTask.values()].reduce((a, b) => a + b, 0);
    opts.onProgress?.({ ...progress });
    bar?.update(progress.done, progress.failedJobs, undefined, { workers: progress.workers, tasks: `${progress.jobsDone}/${jobs}` });
  };
  const committing: Promise<void>[] = [];
  let stopPolling = () => undefined as void;
  try {
    await events.waitUntilReady();
    events.on('progress', ({ jobId, data }) => {
      const p = data as { done?: number };
      if (!jobId.startsWith(`${runId}-`) || typeof p?.done !== 'number') return;
      doneByTask.set(jobId, p.done);
      report();
    });
    // Live workers, about once a second (BullMQ names each worker's connection).
    const poll = setInterval(() => {
      queue.getWorkersCount().then((n) => {
        if (n !== progress.workers) {
          progress.workers = n;
          report();
        }
      }, () => undefined);
    }, 1000);
    poll.unref();
    stopPolling = () => clearInterval(poll);
    progress.workers = await queue.getWorkersCount().catch(() => 0);
    const owner = { pid: process.pid, host: os.hostname() };
    const tasks: { j: number; task: import('bullmq').Job<TaskData, TaskResult> }[] = [];
    for (let j = 0; j < jobs; j++) {
      if (!runJob[j]) continue;
      const data: TaskData = {
        runId, job: j, name: jobName(j), spec, owner, kernelTimeout,
        perf: { workPacketSize: perf.workPacketSize, ioPacketSize: perf.ioPacketSize, estimated: perf.estimated },
      };
      tasks.push({ j, task: await queue.add('task', data, { jobId: `${runId}-${j}`, attempts: TASK_ATTEMPTS, backoff: { type: 'exponential', delay: 500 } }) });
    }
    report();
    /**
     * A task's outcome: from BullMQ's events, and every few seconds from the task itself, so that
     * events lost with a Redis restart are not waited for; a task Redis lost (restarted without
     * persistence) is added again under the same id.
     */
    const outcome = async (task: (typeof tasks)[number]['task']): Promise<{ result: TaskResult } | { failure: string }> => {
      for (;;) {
        if (opts.signal?.aborted) throw new AbortedError('the run was aborted');
        try {
          return { result: await task.waitUntilFinished(events, 3000) };
        } catch (err) {
          const now = await bull.Job.fromId<TaskData, TaskResult>(queue, task.id!).catch(() => 'unreachable' as const);
          if (now === 'unreachable') continue; // Redis is away: BullMQ's connections retry
          if (!now) {
            await queue.add('task', task.data, task.opts).catch(() => undefined);
            continue;
          }
          const state = await now.getState().catch(() => 'unknown');
          if (state === 'completed') return { result: now.returnvalue };
          if (state === 'failed' && now.attemptsMade >= TASK_ATTEMPTS) return { failure: now.failedReason ?? (err as Error)?.message };
        }
      }
    };
    const settle = async ({ j, task }: (typeof tasks)[number]) => {
      const got = await outcome(task);
      if ('failure' in got) {
        const f = decodeFailure(got.failure);
        fail(j, f.code, `${f.message} (worker ${f.worker}, after ${TASK_ATTEMPTS} attempts)`, f.worker);
        progress.failedJobs++;
        progress.jobsDone++;
        report();
        return;
      }
      const result = got.result;
      if (opts.signal?.aborted) {
        for (const s of result.staged) await db.discardHandedOver(s.handed, s.meta).catch(() => undefined);
        return;
      }
      // Commit exactly the attempt BullMQ completed: its staged outputs, all of them.
      let committed = 0;
      try {
        for (const s of result.staged) {
          await db.commitHandedOver(s.handed, s.meta, { overwrite: cacheMode === CacheMode.Overwrite });
          committed++;
        }
        stats.rowsWritten += result.stats.rowsWritten;
        stats.framesDecoded += result.stats.framesDecoded;
        stats.gopsOpened += result.stats.gopsOpened;
        stats.opRows += result.stats.opRows;
        progress.jobsDone++;
        report();
      } catch (err) {
        for (const s of result.staged.slice(committed)) await db.discardHandedOver(s.handed, s.meta).catch(() => undefined);
        const e = toVidgraphError(err, `job '${jobName(j)}'`);
        fail(j, e.code, e.message);
        progress.failedJobs++;
        progress.jobsDone++;
        report();
      }
    };
    for (const t of tasks) committing.push(settle(t));
    const all = Promise.all(committing);
    all.catch(() => undefined); // an abort ends the wait below; the tasks' own ends are then moot
    if (opts.signal) {
      const abort = new Promise<never>((_, reject) => {
        if (opts.signal!.aborted) reject(new AbortedError('the run was aborted'));
        opts.signal!.addEventListener('abort', () => reject(new AbortedError('the run was aborted')), { once: true });
      });
      abort.catch(() => undefined);
      try {
        await Promise.race([all, abort]);
      } catch (err) {
        // Tasks not yet taken are withdrawn; ones running finish and are discarded.
        for (const { task } of tasks) await task.remove().catch(() => undefined);
        throw err;
      }
    } else {
      await all;
    }
    for (const { task } of tasks) await task.remove().catch(() => undefined);
  } finally {
    stopPolling();
    bar?.stop();
    await events.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
    for (const c of connections) c.disconnect(); // BullMQ leaves connections it was given open
  }
  stats.seconds = (performance.now() - started) / 1000;
  return settleRun({ jobId: runId, failedJobs, stats }, throwOnFailure);
}
