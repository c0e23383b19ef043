/**
 * What the client and the workers of a distributed run share: the BullMQ queue's name, the
 * Redis connection, and the shape of a task and of its result.
 */
import * as os from 'node:os';
import { BadArgumentError, VidgraphError } from '../errors';
import type { HandedOver } from '../storage/database';
import type { StreamMeta } from '../storage/local-database';
import { describe } from '../validate';
import type { RowRange } from '../run/plan';
import type { GraphSpec } from './graph-spec';

/** The queue distributed runs use unless `cluster.queue` (and `vidgraph worker --queue`) name another. */
export const DEFAULT_QUEUE = 'vidgraph';

/** One task: one job of a run (all of its outputs), evaluated by one worker. */
export interface TaskData {
  runId: string;
  /** The job (input stream index) this task evaluates. */
  job: number;
  /** The job's name (its input stream's), for messages. */
  name: string;
  spec: GraphSpec;
  perf: { workPacketSize: number; ioPacketSize: number; estimated: boolean };
  kernelTimeout?: number;
  /** The client, which commits what the task stages: staged directories are handed to it. */
  owner: { pid: number; host: string };
  /** The output rows this task evaluates (of every output); absent: the whole job. */
  rows?: RowRange;
}

/** One output's part as a task staged it (handed over to the client). */
export interface StagedPart {
  handed: HandedOver;
  meta: StreamMeta;
}

/**
 * A job's last task when it had several: joins each output's parts (lib/distributed/merge.ts)
 * into the stream one machine would have written, staged and handed over as a task's are.
 */
export interface MergeData {
  kind: 'merge';
  runId: string;
  job: number;
  name: string;
  owner: { pid: number; host: string };
  /** Per task in row order, its staged parts in output order. */
  parts: StagedPart[][];
}

/** What a task returns: its staged outputs and counters, and who ran it. */
export interface TaskResult {
  staged: StagedPart[];
  worker: string;
  stats: { rowsWritten: number; framesDecoded: number; gopsOpened: number; opRows: number };
}

/** A task's failure as it travels through BullMQ's failedReason (a string). */
export interface TaskFailure {
  code: string;
  message: string;
  worker: string;
}

/** This process as a worker name: host and pid. */
/**
 * A run's client keeps this key alive (SET with a TTL, renewed every third of it) while the run
 * lasts; a worker takes a task only while it exists, so the tasks of a client that died are
 * dropped instead of run for nobody. The TTL comes from VIDGRAPH_CLUSTER_CLIENT_TTL_MS (tests
 * shorten it), default 10 s.
 */
export function clientKey(queue: string, runId: string): string {
  return `vidgraph:${queue}:client:${runId}`;
}

export function clientTtlMs(): number {
  const v = Number(process.env.VIDGRAPH_CLUSTER_CLIENT_TTL_MS);
  return Number.isInteger(v) && v >= 200 ? v : 10_000;
}

export function workerName(): string {
  return `${os.hostname()}:${process.pid}`;
}

export function encodeFailure(err: unknown, worker: string): Error {
  const e = err as { code?: unknown; message?: unknown } | null;
  const failure: TaskFailure = { code: typeof e?.code === 'string' ? e.code : 'ERR_INTERNAL', message: String(e?.message ?? err), worker };
  return new Error(JSON.stringify(failure));
}

/** Reads a failedReason back: a TaskFailure, or BullMQ's own reason (a stalled task, ...). */
export function decodeFailure(reason: string | undefined): TaskFailure {
  try {
    const f = JSON.parse(reason ?? '') as Partial<TaskFailure>;
    if (typeof f.code === 'string' && typeof f.message === 'string') return { code: f.code, message: f.message, worker: String(f.worker ?? 'unknown') };
  } catch { /* not ours */ }
  const stalled = /stalled/i.test(reason ?? '');
  return { code: stalled ? 'ERR_RESOURCE' : 'ERR_INTERNAL', message: stalled ? `its worker stopped responding too many times (${reason})` : String(reason ?? 'unknown failure'), worker: 'unknown' };
}

/** Checks a Redis URL (redis:// or rediss://). */
export function redisUrl(where: string, url: unknown): string {
  if (typeof url !== 'string' || !/^rediss?:\/\/./.test(url)) throw new BadArgumentError(`${where}: expected a Redis URL such as 'redis://127.0.0.1:6379', got ${describe(url)}`);
  return url;
}

/** Checks a queue name (BullMQ forbids ':' in names). */
export function queueName(where: string, name: unknown): string {
  if (name === undefined) return DEFAULT_QUEUE;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw new BadArgumentError(`${where}: expected a queue name of letters, digits, '_', '.' or '-', got ${describe(name)}`);
  return name;
}

/** BullMQ and ioredis, loaded when a distributed run or a worker starts. */
export async function bullmq(): Promise<{ bull: typeof import('bullmq'); connect: (url: string) => import('ioredis').Redis }> {
  try {
    const bull = await import('bullmq');
    const { Redis } = await import('ioredis');
    return {
      bull,
      connect: (url: string) => {
        const r = new Redis(url, { maxRetriesPerRequest: null });
        r.on('error', () => undefined); // reported through BullMQ's own 'error' events and failed calls
        return r;
      },
    };
  } catch (err) {
    throw new VidgraphError('ERR_NOT_FOUND', `distributed runs need the packages bullmq and ioredis (npm install bullmq ioredis): ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}
