/**
 * The pool of worker threads that runs `module: { url, export }` kernels. A stateless op
 * (no boundedState/unboundedState) has an instance in every worker and each batch is split
 * across them, so a CPU-heavy op scales with cores; a stateful op stays on one worker so that
 * its rows arrive in order. Input frames are copied to the workers (they may still be needed
 * by other ops); output frames come back transferred, without a copy.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { VidgraphError } from '../errors';
import { Frame } from '../frame';
import type { Value } from '../run/evaluate';
import { fromPlain, PlainFrame, toPlain } from './plain-frame';
import type { KernelConfig, TsOp } from './ts-ops';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** The kernel instance the call is for. */
  id: unknown;
}

class PoolWorker {
  readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** Set once the worker is terminated: later calls reject at once. */
  private dead?: string;
  constructor() {
    this.worker = new Worker(path.join(__dirname, 'worker-entry.js'));
    this.worker.on('message', (m: { seq: number; result?: unknown; error?: { message: string; stack?: string; code?: string } }) => {
      const p = this.pending.get(m.seq);
      if (!p) return;
      this.pending.delete(m.seq);
      if (m.error) {
        const err = new VidgraphError('ERR_KERNEL', m.error.message);
        if (m.error.stack) err.stack = m.error.stack;
        p.reject(err);
      } else p.resolve(m.result);
    });
    this.worker.on('error', (e) => {
      // A worker that ran out of memory (ERR_WORKER_OUT_OF_MEMORY) is a resource problem, not the kernel's error.
      const code = (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'ERR_RESOURCE' : 'ERR_KERNEL';
      for (const p of this.pending.values()) p.reject(new VidgraphError(code, `kernel worker died: ${e.message}`, { cause: e }));
      this.pending.clear();
    });
    this.worker.on('exit', () => {
      this.dead ??= 'it exited';
      for (const p of this.pending.values()) p.reject(new VidgraphError('ERR_KERNEL', `kernel worker ended: ${this.dead}`));
      this.pending.clear();
    });
    this.worker.unref(); // idle workers do not keep the process alive (after the listeners, which ref)
  }
  post(message: Record<string, unknown>): void {
    this.worker.postMessage(message);
  }
  call(message: Record<string, unknown>): Promise<unknown> {
    if (this.dead) return Promise.reject(new VidgraphError('ERR_KERNEL', `kernel worker ended: ${this.dead}`));
    const seq = ++this.seq;
    if (this.pending.size === 0) this.worker.ref(); // a call in flight keeps the process alive
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, id: message.id });
      this.worker.postMessage({ ...message, seq });
    }).finally(() => {
      if (this.pending.size === 0 && !this.dead) this.worker.unref();
    });
  }
  get ended(): boolean {
    return this.dead !== undefined;
  }
  /** True while a call for kernel instance `id` is in flight here. */
  busyWith(id: unknown): boolean {
    return [...this.pending.values()].some((p) => p.id === id);
  }
  /** Stops the worker (even in the middle of an endless loop); its other calls reject. */
  kill(reason: string): void {
    this.dead = reason;
    void this.worker.terminate();
  }
}

let pool: PoolWorker[] | undefined;
let nextId = 1;

function workers(): PoolWorker[] {
  pool ??= Array.from({ length: Math.max(1, os.availableParallelism()) }, () => new PoolWorker());
  pool = pool.map((w) => (w.ended ? new PoolWorker() : w)); // a worker that died is replaced
  return pool;
}

/** Terminates a stuck worker and puts a fresh one in its place in the pool. */
function replace(w: PoolWorker, reason: string): void {
  w.kill(reason);
  if (pool) pool = pool.map((p) => (p === w ? new PoolWorker() : p));
}

const toWire = (v: Value) => (v instanceof Frame ? toPlain(v) : v);
const fromWire = (v: PlainFrame | Uint8Array | null): Value => (v && !(v instanceof Uint8Array) ? fromPlain(v) : v);

/** One op instance (per job) in the pool, behind the evaluator's kernel interface. */
export class PooledKernel {
  private readonly id = nextId++;
  private readonly members: PoolWorker[];

  constructor(private readonly op: TsOp, config: KernelConfig) {
    const all = workers();
    const stateless = op.boundedState === 0 && !op.unboundedState;
    this.members = stateless ? all : [all[this.id % all.length]!];
    for (const w of this.members) w.post({ type: 'init', id: this.id, op: { ...op, kernel: undefined }, config });
  }

  async reset(): Promise<void> {
    await Promise.all(this.members.map((w) => w.call({ type: 'reset', id: this.id })));
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((w) => w.call({ type: 'close', id: this.id })));
  }

  /**
   * The watchdog gave up on a call: terminate the workers running it (other kernel instances
   * there fail their calls too) and replace them. This instance is not used again.
   */
  abandon(): void {
    for (const w of this.members) {
      if (w.busyWith(this.id)) replace(w, `terminated because ${this.op.name} overran its kernelTimeout`);
    }
  }

  async execute(cols: Value[][], rows: number): Promise<Value[][]> {
    const per = this.op.stencil.length;
    const parts = Math.min(this.members.length, rows);
    const size = Math.ceil(rows / parts);
    const calls: Promise<unknown>[] = [];
    for (let k = 0; k < parts; k++) {
      const a = k * size;
      const b = Math.min(rows, a + size);
      if (a >= b) break;
      const slice = cols.map((c) => c.slice(a * per, b * per).map(toWire));
      calls.push(this.members[k]!.call({ type: 'execute', id: this.id, cols: slice, rows: b - a }));
    }
    const results = (await Promise.all(calls)) as (PlainFrame | Uint8Array | null)[][][];
    return this.op.outputs.map((_, o) => results.flatMap((r) => r[o]!.map(fromWire)));
  }
}
