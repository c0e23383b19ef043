/**
 * How a cluster client learns a task's outcome: from BullMQ's events, and every few seconds from
 * the task's own record in Redis, so that events lost with a Redis restart are not waited for.
 */
import { AbortedError } from '../errors';

/** A task's end as the client sees it: its result, or the reason of its last failed attempt. */
export type TaskOutcome<R> = { result: R } | { failure: string };

/** What taskOutcome reads: BullMQ's Queue, QueueEvents and Job, as far as it uses them. */
export interface OutcomeSources<R> {
  queue: {
    getJobState(id: string): Promise<string>;
    add(name: string, data: unknown, opts: unknown): Promise<unknown>;
  };
  events: unknown;
  fromId(id: string): Promise<{ returnvalue: R | null | undefined; attemptsMade: number; failedReason?: string } | undefined>;
  signal?: AbortSignal;
}

/** The task as the client added it. */
export interface WaitedTask<R> {
  id?: string;
  name: string;
  data: unknown;
  opts: unknown;
  waitUntilFinished(events: never, ttl: number): Promise<R>;
}

/** How long one wait for the task's events lasts before its record is read. */
export const OUTCOME_POLL_MS = 3000;

/**
 * Waits for a task to complete (its result) or to fail its last attempt (its reason). A task that
 * Redis lost (restarted without persistence) is added again under the same id.
 *
 * The state is read before the record: a task that completes between the two reads is then seen
 * as still running (and waited for again), never as completed with the record of before its
 * completion, which holds no result yet.
 */
export async function taskOutcome<R>(src: OutcomeSources<R>, task: WaitedTask<R>, attempts: number): Promise<TaskOutcome<R>> {
  const id = task.id!;
  for (;;) {
    if (src.signal?.aborted) throw new AbortedError('the run was aborted');
    let waitError: unknown;
    try {
      const result = await task.waitUntilFinished(src.events as never, OUTCOME_POLL_MS);
      if (result !== null && result !== undefined) return { result };
      waitError = new Error(`task ${id} completed without a result in its event`);
    } catch (err) {
      waitError = err;
    }
    const state = await src.queue.getJobState(id).catch(() => 'unreachable');
    if (state === 'unreachable') continue; // Redis is away: BullMQ's connections retry
    const now = await src.fromId(id).catch(() => 'unreachable' as const);
    if (now === 'unreachable') continue;
    if (state === 'unknown' || !now) {
      await src.queue.add(task.name, task.data, task.opts).catch(() => undefined);
      continue;
    }
    if (state === 'completed') {
      if (now.returnvalue !== null && now.returnvalue !== undefined) return { result: now.returnvalue };
      return { failure: `task ${id} completed, but Redis holds no result for it` };
    }
    if (state === 'failed' && now.attemptsMade >= attempts) return { failure: now.failedReason ?? (waitError as Error)?.message ?? `task ${id} failed` };
  }
}
