/**
 * `vidgraph worker`: takes tasks of distributed runs from a BullMQ queue, rebuilds each task's
 * graph (lib/distributed/graph-spec.ts), runs its job on this machine's engine against the
 * shared database, and hands the staged outputs to the client, which commits them. A worker
 * that dies mid-task stops renewing its BullMQ lock; after `lockDuration` another worker's
 * stalled-job check puts the task back in the queue and it runs again elsewhere. Nothing a
 * dead worker staged is ever committed (it was not handed over).
 */
import { Client } from '../client';
import { toVidgraphError } from '../errors';
import { JobsFailedError } from '../errors';
import { CacheMode, PerfParams } from '../run/perf-params';
import { run } from '../run/run';
import type { StreamMeta } from '../storage/local-database';
import { graphFromSpec } from './graph-spec';
import { mergeParts } from './merge';
import { bullmq, clientKey, clientTtlMs, encodeFailure, MergeData, queueName, redisUrl, TaskData, TaskResult, workerName } from './queue';

export interface WorkerOptions {
  /** The Redis server of the queue, e.g. 'redis://127.0.0.1:6379'. */
  redis: string;
  /** The shared database (the directory every worker and the client see). */
  db?: string;
  /** The queue's name (default 'vidgraph'). */
  queue?: string;
  /** Tasks run at once (default 1). */
  concurrency?: number;
  /** Milliseconds a task's lock lasts without renewal: how long a dead worker's task waits (default 30000). */
  lockDuration?: number;
  /** Engine threads for decoding and kernels (default: all cores). */
  threads?: number;
  /** Called when a task starts, ends or fails (for the CLI's log lines). */
  onEvent?: (line: string) => void;
}

export interface RunningWorker {
  /** This worker's name (host:pid). */
  readonly id: string;
  /** Stops taking tasks, waits for the running ones, closes the connections. */
  close(): Promise<void>;
}

/** Starts a worker; it runs until close(). */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const redis = redisUrl('worker', opts.redis);
  const queue = queueName('worker', opts.queue);
  const concurrency = opts.concurrency ?? 1;
  const lockDuration = opts.lockDuration ?? 30_000;
  const id = workerName();
  const sc = new Client({ db: opts.db, threads: opts.threads });
  await sc.ready();
  const { bull, connect } = await bullmq();
  const log = opts.onEvent ?? (() => undefined);
  const checks = connect(redis);

  /**
   * Whether the run's client still lives: its key exists now or reappears within its TTL (a
   * Redis restarted without persistence loses the key until the client's next renewal).
   */
  const clientAlive = async (runId: string): Promise<boolean> => {
    const deadline = Date.now() + clientTtlMs();
    for (;;) {
      if ((await checks.exists(clientKey(queue, runId)).catch(() => 1)) === 1) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  /** A task of a client that died: dropped, not retried (BullMQ's UnrecoverableError). */
  const gone = (taskId: string | undefined, name: string) => {
    log(`task ${taskId} (job '${name}') dropped: its client is gone`);
    return new bull.UnrecoverableError(`the client of this run is gone (worker ${id})`);
  };

  /** A job's merge: each output's parts joined into one staged stream, handed over. */
  const merge = async (task: { id?: string; data: MergeData }): Promise<TaskResult> => {
    const data = task.data;
    if (!(await clientAlive(data.runId))) throw gone(task.id, data.name);
    log(`task ${task.id} (job '${data.name}', merge of ${data.parts.length} parts) started`);
    const db = await sc.ready();
    const staged: string[] = [];
    try {
      const outputs = data.parts[0]?.length ?? 0;
      const merged = [];
      for (let o = 0; o < outputs; o++) {
        const dir = await db.stage();
        staged.push(dir);
        merged.push({ dir, meta: await mergeParts(db, data.parts.map((t) => t[o]!), dir) });
      }
      if (!(await clientAlive(data.runId))) throw gone(task.id, data.name);
      const handed = [];
      for (const m of merged) handed.push({ handed: await db.handOver(m.dir, m.meta, data.owner), meta: m.meta });
      log(`task ${task.id} (job '${data.name}') done: ${outputs} streams merged`);
      return { staged: handed, worker: id, stats: { rowsWritten: 0, framesDecoded: 0, gopsOpened: 0, opRows: 0 } };
    } catch (err) {
      for (const dir of staged) await db.discard(dir).catch(() => undefined);
      if (err instanceof bull.UnrecoverableError) throw err;
      const cause = toVidgraphError(err);
      log(`task ${task.id} (job '${data.name}') failed: ${cause.message.split('\n')[0]}`);
      throw encodeFailure(cause, id);
    }
  };

  const processor = async (task: { id?: string; name: string; data: TaskData | MergeData; updateProgress(p: object): Promise<void> }): Promise<TaskResult> => {
    if ('kind' in task.data) return merge({ id: task.id, data: task.data });
    const data = task.data;
    const rows = data.rows ? `, rows ${data.rows.start}-${data.rows.end - 1}` : '';
    if (!(await clientAlive(data.runId))) throw gone(task.id, data.name);
    log(`task ${task.id} (job '${data.name}'${rows}) started`);
    const staged: { dir: string; meta: StreamMeta }[] = [];
    try {
      const outputs = await graphFromSpec(sc, data.spec, `worker ${id}`);
      const perf = data.perf.estimated ? PerfParams.estimate() : PerfParams.manual(data.perf.workPacketSize, data.perf.ioPacketSize);
      let last = 0;
      const result = await run(sc, outputs, perf, {
        cacheMode: CacheMode.Overwrite, // the client decided which jobs run; it commits with its own cache mode
        showProgress: false,
        throwOnFailure: true,
        kernelTimeout: data.kernelTimeout,
        onProgress: (p) => {
          const now = Date.now();
          if (p.done === p.total || now - last > 200) {
            last = now;
            task.updateProgress({ done: p.done, total: p.total }).catch(() => undefined);
          }
        },
      }, { onlyJobs: [data.job], rows: data.rows, handOver: async (_job, entries) => { staged.push(...entries); } });
      // The client commits: what was staged becomes its own (posix: the directories; S3: uploaded attempts).
      if (!(await clientAlive(data.runId))) throw gone(task.id, data.name);
      const db = await sc.ready();
      const handed = [];
      for (const s of staged) handed.push({ handed: await db.handOver(s.dir, s.meta, data.owner), meta: s.meta });
      log(`task ${task.id} (job '${data.name}') done: ${result.stats.rowsWritten} rows`);
      return {
        staged: handed, worker: id,
        stats: { rowsWritten: result.stats.rowsWritten, framesDecoded: result.stats.framesDecoded, gopsOpened: result.stats.gopsOpened, opRows: result.stats.opRows },
      };
    } catch (err) {
      const db = await sc.ready().catch(() => undefined);
      for (const s of staged) await db?.discard(s.dir).catch(() => undefined);
      if (err instanceof bull.UnrecoverableError) throw err;
      const cause = err instanceof JobsFailedError && err.failures[0] ? Object.assign(new Error(err.failures[0].message), { code: err.failures[0].code }) : toVidgraphError(err);
      log(`task ${task.id} (job '${data.name}') failed: ${cause.message.split('\n')[0]}`);
      throw encodeFailure(cause, id);
    }
  };

  const connection = connect(redis);
  const worker = new bull.Worker<TaskData | MergeData, TaskResult>(queue, processor, {
    connection,
    concurrency,
    lockDuration,
    stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
    maxStalledCount: 2,
    name: id,
  });
  worker.on('error', (err) => log(`queue error: ${err.message}`));
  await worker.waitUntilReady();
  return {
    id,
    close: async () => {
      await worker.close();
      connection.disconnect(); // BullMQ leaves a connection it was given open
      checks.disconnect();
      await sc.close();
    },
  };
}
