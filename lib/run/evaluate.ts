/**
 * Evaluates a job's graph for a set of rows: decodes only the input rows the requested rows
 * need, runs each op's kernel (on its engine thread) over exactly the rows it must see, and
 * keeps op state across packets so that reset() and warm-up happen only at discontinuities.
 *
 * Packets overlap: each packet has its own row memo, and an op's input rows are requested
 * before the op waits for its turn, so the decoder works on packet k+1 while op kernels work
 * on packet k. Each op runs its packets strictly in order (a FIFO turn per op), which keeps
 * its state exact.
 */
import { AbortedError, TimeoutError } from '../errors';
import { Frame, frameFromEngine } from '../frame';
import { Column, GraphNode, InputNode, OpNode, SampleNode, SliceNode, UnsliceNode } from '../graph/graph';
import type { NativeElement } from '../native';
import { executionRows, JobPlan, sortedUnique, stencilRow, stencilRows } from './plan';

export type Value = Frame | Uint8Array | null;

/** A job's input: rows by index. */
export interface RowSource {
  read(rows: number[]): Promise<Map<number, Value>>;
  close(): Promise<void>;
  /** Frames decoded so far (video inputs). */
  framesDecoded?(): number;
  /** Of them, decoded on a GPU (NVDEC). */
  framesOnGpu?(): number;
  /** Keyframe intervals opened so far (video inputs: seeks). */
  gopsOpened?(): number;
  /** The decode schedule: the rows the job will read, in the order it will read them (video inputs). */
  plan?(rows: number[]): Promise<void>;
}

/** What the evaluator needs of a kernel: the engine's NativeKernel, or a TypeScript kernel. */
export interface KernelLike {
  execute(inputs: Value[][], rows: number): Promise<(NativeElement | Value)[][]>;
  reset(): Promise<void>;
  close(): Promise<void>;
  /**
   * Gives up on a kernel stuck in a call (the watchdog fired): free what can be freed without
   * waiting for it (a pool worker is terminated). It is never called or closed again.
   */
  abandon?(): void;
}

export interface OpState {
  kernel: KernelLike;
  lastRow: number;
  lastGroup: number;
  /** Settles when the previous holder of the op's turn is done. */
  turn: Promise<void>;
  /** Set when a call overran the kernel timeout: the kernel is abandoned, never called again. */
  abandoned?: TimeoutError;
}

/** Default bound on one kernel call (execute or reset), in ms: generous, it only catches hangs. */
export const DEFAULT_KERNEL_TIMEOUT_MS = 10 * 60 * 1000;

function rowsText(rows: number[]): string {
  return rows.length === 1 ? `row ${rows[0]}` : `rows ${rows[0]}..${rows[rows.length - 1]}`;
}

/**
 * Runs one kernel call under the watchdog: past `ms` it rejects ERR_TIMEOUT naming the op and rows
 * and abandons the kernel (a stuck native thread cannot be stopped; a pool worker is replaced).
 */
async function watched<T>(state: OpState, op: string, what: string, rows: number[], ms: number, call: () => Promise<T>): Promise<T> {
  if (state.abandoned) throw state.abandoned;
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      state.abandoned = new TimeoutError(`${op}: kernel ${what} on ${rowsText(rows)} did not return within ${ms} ms (kernelTimeout); the job fails and the kernel is abandoned`);
      try {
        state.kernel.abandon?.();
      } finally {
        reject(state.abandoned);
      }
    }, ms);
    timer.unref();
  });
  const running = call();
  running.catch(() => undefined);
  try {
    return await Promise.race([running, overrun]);
  } finally {
    clearTimeout(timer);
  }
}

function toValue(e: NativeElement | Value): Value {
  if (e === null || e instanceof Uint8Array || e instanceof Frame) return e;
  return frameFromEngine(e);
}

/** Takes the op's turn (FIFO in call order); resolves to the release function. */
function takeTurn(state: OpState): Promise<() => void> {
  let release!: () => void;
  const mine = new Promise<void>((resolve) => { release = resolve; });
  const previous = state.turn;
  state.turn = previous.then(() => mine);
  return previous.then(() => release);
}

export class JobEvaluator {
  /** Rows the op kernels executed (warm-up included), for stats. */
  opRows = 0;

  constructor(
    private readonly plan: JobPlan,
    private readonly inputs: Map<number, RowSource>,
    private readonly ops: Map<number, OpState>,
    private readonly workPacketSize: number,
    private readonly signal?: AbortSignal,
    private readonly kernelTimeout = DEFAULT_KERNEL_TIMEOUT_MS,
  ) {}

  /** Values of `col` at `rows`, computed with a fresh memo (one packet). */
  packet(col: Column, rows: number[]): Promise<Map<number, Value>> {
    return new Packet(this).values(col, rows);
  }

  /** @internal */
  async compute(p: Packet, node: GraphNode, rows: number[]): Promise<Map<number, Value[]>> {
    if (this.signal?.aborted) throw new AbortedError('the run was aborted');
    const out = new Map<number, Value[]>();
    if (node instanceof InputNode) {
      const got = await this.inputs.get(node.id)!.read(rows);
      for (const r of rows) out.set(r, [got.get(r) ?? null]);
      return out;
    }
    if (node instanceof SampleNode || node instanceof SliceNode) {
      const plan = this.plan.node(node);
      const src = rows.map((k) => plan.source!(k));
      const got = await p.values(node.input, sortedUnique(src.filter((s): s is number => s !== null)));
      rows.forEach((k, i) => out.set(k, [src[i] === null ? null : got.get(src[i]!)!]));
      return out;
    }
    if (node instanceof UnsliceNode) {
      const got = await p.values(node.input, rows);
      for (const r of rows) out.set(r, [got.get(r)!]);
      return out;
    }
    return this.computeOp(p, node as OpNode, rows);
  }

  private async computeOp(p: Packet, node: OpNode, rows: number[]): Promise<Map<number, Value[]>> {
    const plan = this.plan.node(node);
    const state = this.ops.get(node.id)!;
    const stencil = node.options.stencil;
    const at = (x: number, o: number) => stencilRow(plan, x, o);
    const inputsFor = (execRows: number[]) => Promise.all(node.inputs.map((c) => p.values(c, stencilRows(plan, stencil, execRows))));
    // Ask for the inputs first: upstream work (decoding) proceeds while earlier packets hold the op.
    const prefetched = inputsFor(rows);
    prefetched.catch(() => undefined);
    const release = await takeTurn(state);
    try {
      const exec = executionRows(plan, node, rows, state);
      const warmRows = exec.filter((e) => !e.emit).map((e) => e.row);
      const [main, extra] = await Promise.all([prefetched, warmRows.length ? inputsFor(warmRows) : Promise.resolve([])]);
      const inputs = main.map((m, i) => (extra[i] ? new Map([...extra[i]!, ...m]) : m));

      const out = new Map<number, Value[]>();
      const size = node.options.batch > 1 ? node.options.batch : this.workPacketSize;
      for (let i = 0; i < exec.length; ) {
        if (this.signal?.aborted) throw new AbortedError('the run was aborted');
        let j = i + 1;
        while (j < exec.length && j - i < size && !exec[j]!.reset) j++;
        const batch = exec.slice(i, j);
        const batchRows = batch.map((e) => e.row);
        if (batch[0]!.reset) await watched(state, node.opName, 'reset()', batchRows.slice(0, 1), this.kernelTimeout, () => state.kernel.reset());
        const cols = inputs.map((vals) => batch.flatMap((e) => stencil.map((o) => vals.get(at(e.row, o)) ?? null)));
        const result = await watched(state, node.opName, 'call', batchRows, this.kernelTimeout, () => state.kernel.execute(cols, batch.length));
        batch.forEach((e, k) => {
          if (e.emit) out.set(e.row, result.map((col) => toValue(col[k]!)));
        });
        this.opRows += batch.length;
        i = j;
      }
      return out;
    } finally {
      release();
    }
  }
}

/** One packet's row memo: each node row is computed at most once per packet. */
class Packet {
  private readonly memo = new Map<number, Map<number, Promise<Value[]>>>();

  constructor(private readonly job: JobEvaluator) {}

  async values(col: Column, rows: number[]): Promise<Map<number, Value>> {
    let memo = this.memo.get(col.node.id);
    if (!memo) this.memo.set(col.node.id, (memo = new Map()));
    const missing = sortedUnique(rows.filter((r) => !memo!.has(r)));
    if (missing.length > 0) {
      const computed = this.job.compute(this, col.node, missing);
      computed.catch(() => undefined);
      for (const r of missing) {
        const value = computed.then((m) => m.get(r)!);
        value.catch(() => undefined); // a failed packet may leave rows nobody awaits
        memo.set(r, value);
      }
    }
    const out = new Map<number, Value>();
    for (const r of rows) out.set(r, (await memo.get(r)!)[col.index] ?? null);
    return out;
  }
}
