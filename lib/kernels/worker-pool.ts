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
}

class PoolWorker {
  readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
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
      for (const p of this.pending.values()) p.reject(new VidgraphError('ERR_KERNEL', `kernel worker died: ${e.message}`));
      this.pending.clear();
    });
    this.worker.unref(); // idle workers do not keep the process alive (after the listeners, which ref)
  }
  post(message: Record<string, unknown>): void {
    this.worker.postMessage(message);
  }
  call(message: Record<string, unknown>): Promise<unknown> {
    const seq = ++this.seq;
    if (this.pending.size === 0) this.worker.ref(); // a call in flight keeps the process alive
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...message, seq });
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    });
  }
}

let pool: PoolWorker[] | undefined;
let nextId = 1;

function workers(): PoolWorker[] {
  pool ??= Array.from({ length: Math.max(1, os.availableParallelism()) }, () => new PoolWorker());
  return pool;
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
