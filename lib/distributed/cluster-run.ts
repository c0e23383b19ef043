/**
 * sc.run() on a cluster: the client plans as a local run does (cache modes, lazy ingest), sends
 * the graph as data, and splits each job into BullMQ tasks of output rows (taskRanges). Workers
 * stage one part per output and task; when a job had several tasks, one more task (a merge, on a
 * worker) joins each output's parts into the stream one machine would have written. The client
 * commits each job's outputs once they are staged. BullMQ gives each task an id
 * (`<run>-<job>-<task>`), retries a failed task (3 attempts, exponential backoff), and hands a
 * task whose worker died (its lock expired) to another worker; a task that fails 3 times fails
 * its job alone.
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import type { Client } from '../client';
import { AbortedError, toVidgraphError } from '../errors';
import { GraphNode, InputNode, OpNode, OutputOp } from '../graph/graph';
import { CacheMode, PerfParams } from '../run/perf-params';
import { ProgressBar } from '../run/progress';
import { checkRun, newRunStats, prepareJobs, settleRun } from '../run/run';
import type { RunOptions, RunResult } from '../run/run';
import type { JobPlan, RowRange } from '../run/plan';
import { graphToSpec } from './graph-spec';
import { taskOutcome } from './task-outcome';
import { bullmq, clientKey, clientTtlMs, decodeFailure, MergeData, StagedPart, TaskData, TaskResult } from './queue';

/** Attempts per task before its job fails. */
export const TASK_ATTEMPTS = 3;

/** A task's rows: this many of PerfParams' io packets (ioPacketSize rows each). */
export const TASK_IO_PACKETS = 4;

/** The encoder's keyframe distance when an output asks for none (kDefaultGop in cpp/video/encoder.h). */
const DEFAULT_KEYFRAME_DISTANCE = 250;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * A job's tasks: ranges of output rows (of every output) of TASK_IO_PACKETS io packets, rounded
 * up to whole keyframe intervals of the outputs that may be encoded (the encoder starts every
 * interval afresh, so a task encodes the bytes one machine would). A graph with an op of
 * unbounded state is one task per job: its state runs through every row.
 */
export function taskRanges(plan: JobPlan, outputs: OutputOp[], nodes: GraphNode[], ioPacketSize: number): RowRange[] {
  const length = Math.max(0, ...outputs.map((o) => plan.column(o.column).length));
  if (nodes.some((n) => n instanceof OpNode && n.options.unboundedState)) return [{ start: 0, end: length }];
  let interval = 1;
  for (const o of outputs) {
    if (o.column.type !== 'Frame' || o.column.compression?.mode === 'raw') continue;
    const gop = o.column.compression?.keyframeDistance ?? DEFAULT_KEYFRAME_DISTANCE;
    interval = (interval / gcd(interval, gop)) * gop;
  }
  const rows = Math.ceil((ioPacketSize * TASK_IO_PACKETS) / interval) * interval;
  const ranges: RowRange[] = [];
  for (let a = 0; a < length; a += rows) ranges.push({ start: a, end: Math.min(a + rows, length) });
  return ranges.length > 0 ? ranges : [{ start: 0, end: 0 }];
}

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
  const { runJob, plans, total, skippedJobs, inputFailures } = await prepareJobs(outputs, nodes, jobs, cacheMode, jobName);
  stats.skippedJobs = skippedJobs;
  for (const { job, error } of inputFailures) fail(job, error.code, error.message);

  // Tasks of rows, per job.
  const { bull, connect } = await bullmq();
  const connections = [connect(cluster.redis), connect(cluster.redis)];
  const queue = new bull.Queue<TaskData | MergeData, TaskResult>(cluster.queue, { connection: connections[0]! });
  // Every task is waited for at once, and each wait listens for the queue's 'closing': without
  // this, a run of more than 10 tasks printed Node's MaxListenersExceededWarning.
  queue.setMaxListeners(0);
  const events = new bull.QueueEvents(cluster.queue, { connection: connections[1]! });
  const progress = { done: 0, total, jobs, failedJobs: failedJobs.length, jobsDone: stats.skippedJobs + failedJobs.length, workers: 0, tasks: 0, tasksDone: 0 };
  const doneByTask = new Map<string, number>();
  const bar = (opts.showProgress ?? process.stderr.isTTY)
    ? new ProgressBar(total, {
        unit: 'rows', failedLabel: 'failed jobs', initial: { workers: 0, tasks: '0/0' },
        format: 'vidgraph {bar} {value}/{total} rows | {rate} rows/s | ETA {eta_formatted} | tasks {tasks} | workers: {workers} | failed jobs: {failed}',
      })
    : undefined;
  const report = () => {
    progress.done = [...doneByTask.values()].reduce((a, b) => a + b, 0);
    opts.onProgress?.({ ...progress });
    bar?.update(progress.done, progress.failedJobs, undefined, { workers: progress.workers, tasks: `${progress.tasksDone}/${progress.tasks}` });
  };
  const committing: Promise<void>[] = [];
  let stopPolling = () => undefined as void;
  // This client's liveness: workers drop the tasks of a run whose key has expired.
  const alive = clientKey(cluster.queue, runId);
  const ttl = clientTtlMs();
  const beat = () => connections[0]!.set(alive, String(process.pid), 'PX', ttl).catch(() => undefined);
  const heartbeat = setInterval(beat, Math.floor(ttl / 3));
  heartbeat.unref();
  try {
    await beat();
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
    type Task = import('bullmq').Job<TaskData | MergeData, TaskResult>;
    const taskOptions = { attempts: TASK_ATTEMPTS, backoff: { type: 'exponential', delay: 500 } };
    const byJob: { j: number; tasks: Task[] }[] = [];
    const allTasks: Task[] = [];
    for (let j = 0; j < jobs; j++) {
      if (!runJob[j]) continue;
      const ranges = taskRanges(plans[j]!, outputs, nodes, perf.ioPacketSize);
      const list: Task[] = [];
      for (let k = 0; k < ranges.length; k++) {
        const data: TaskData = {
          runId, job: j, name: jobName(j), spec, owner, kernelTimeout,
          perf: { workPacketSize: perf.workPacketSize, ioPacketSize: perf.ioPacketSize, estimated: perf.estimated },
          ...(ranges.length > 1 ? { rows: ranges[k] } : {}),
        };
        list.push(await queue.add('task', data, { jobId: `${runId}-${j}-${k}`, ...taskOptions }));
      }
      allTasks.push(...list);
      byJob.push({ j, tasks: list });
      progress.tasks += list.length + (list.length > 1 ? 1 : 0); // and a merge
    }
    report();
    const sources = { queue, events, fromId: (id: string) => bull.Job.fromId<TaskData | MergeData, TaskResult>(queue, id), signal: opts.signal };
    const counted = async (task: Task) => {
      const got = await taskOutcome<TaskResult>(sources, task, TASK_ATTEMPTS);
      progress.tasksDone++;
      report();
      return got;
    };
    const discardAll = async (parts: StagedPart[]) => {
      for (const s of parts) await db.discardHandedOver(s.handed, s.meta).catch(() => undefined);
    };
    const failJob = (j: number, code: string, message: string, worker?: string) => {
      fail(j, code, message, worker);
      progress.failedJobs++;
      progress.jobsDone++;
      report();
    };
    /** A job: its row tasks, then (several tasks) their merge, then the commit of its outputs. */
    const settle = async ({ j, tasks }: (typeof byJob)[number]) => {
      const got = await Promise.all(tasks.map(counted));
      const results = got.flatMap((g) => ('result' in g ? [g.result] : []));
      const parts = results.flatMap((r) => r.staged);
      const failed = got.find((g): g is { failure: string } => 'failure' in g);
      if (failed) {
        await discardAll(parts);
        const f = decodeFailure(failed.failure);
        failJob(j, f.code, `${f.message} (worker ${f.worker}, after ${TASK_ATTEMPTS} attempts)`, f.worker);
        return;
      }
      if (opts.signal?.aborted) return discardAll(parts);
      let final = results[0]!;
      if (tasks.length > 1) {
        const data: MergeData = { kind: 'merge', runId, job: j, name: jobName(j), owner, parts: results.map((r) => r.staged) };
        const merge: Task = await queue.add('merge', data, { jobId: `${runId}-${j}-merge`, ...taskOptions });
        allTasks.push(merge);
        const merged = await counted(merge);
        if ('failure' in merged) {
          await discardAll(parts);
          const f = decodeFailure(merged.failure);
          failJob(j, f.code, `${f.message} (worker ${f.worker}, merging its ${tasks.length} tasks' outputs, after ${TASK_ATTEMPTS} attempts)`, f.worker);
          return;
        }
        final = merged.result;
        await discardAll(parts); // joined into the merged streams
      }
      if (opts.signal?.aborted) return discardAll(final.staged);
      // Commit exactly the attempts BullMQ completed: their staged outputs, all of them.
      let committed = 0;
      try {
        for (const s of final.staged) {
          await db.commitHandedOver(s.handed, s.meta, { overwrite: cacheMode === CacheMode.Overwrite });
          committed++;
        }
        for (const r of results) {
          stats.rowsWritten += r.stats.rowsWritten;
          stats.framesDecoded += r.stats.framesDecoded;
          stats.gopsOpened += r.stats.gopsOpened;
          stats.opRows += r.stats.opRows;
        }
        progress.jobsDone++;
        report();
      } catch (err) {
        await discardAll(final.staged.slice(committed));
        const e = toVidgraphError(err, `job '${jobName(j)}'`);
        failJob(j, e.code, e.message);
      }
    };
    for (const t of byJob) committing.push(settle(t));
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
        for (const task of allTasks) await task.remove().catch(() => undefined);
        throw err;
      }
    } else {
      await all;
    }
    for (const task of allTasks) await task.remove().catch(() => undefined);
  } finally {
    clearInterval(heartbeat);
    await connections[0]!.del(alive).catch(() => undefined);
    stopPolling();
    bar?.stop();
    await events.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
    for (const c of connections) c.disconnect(); // BullMQ leaves connections it was given open
  }
  stats.seconds = (performance.now() - started) / 1000;
  return settleRun({ jobId: runId, failedJobs, stats }, throwOnFailure);
}
