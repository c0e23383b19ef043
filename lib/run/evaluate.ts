/**
 * Evaluates a job's graph for a set of rows: decodes only the input rows the requested rows
 * need, runs each op's kernel (on its engine thread) over exactly the rows it must see, and
 * keeps op state across packets so that reset() and warm-up happen only at discontinuities.
 */
import { AbortedError } from '../errors';
import { Frame } from '../frame';
import { Column, GraphNode, InputNode, OpNode, SampleNode, SliceNode, UnsliceNode } from '../graph/graph';
import type { NativeElement, NativeKernel } from '../native';
import { JobPlan } from './plan';

export type Value = Frame | Uint8Array | null;

/** A job's input: rows by index. */
export interface RowSource {
  read(rows: number[]): Promise<Map<number, Value>>;
  close(): Promise<void>;
  /** Frames decoded so far (video inputs). */
  framesDecoded?(): number;
}

export interface OpState {
  kernel: NativeKernel;
  lastRow: number;
  lastGroup: number;
}

const CTORS = { uint8: Uint8Array, uint16: Uint16Array, float32: Float32Array, float64: Float64Array } as const;

function toValue(e: NativeElement): Value {
  if (e === null || e instanceof Uint8Array) return e;
  return Frame.from(new CTORS[e.dtype](e.data), e.height, e.width, e.channels);
}

function sortedUnique(rows: Iterable<number>): number[] {
  return Array.from(new Set(rows)).sort((a, b) => a - b);
}

export class JobEvaluator {
  private memo = new Map<number, Map<number, Value[]>>();
  /** Rows each op executed (warm-up included), for stats. */
  opRows = 0;

  constructor(
    private readonly plan: JobPlan,
    private readonly inputs: Map<number, RowSource>,
    private readonly ops: Map<number, OpState>,
    private readonly workPacketSize: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Forget computed rows (between packets: bounded memory). */
  clear(): void {
    this.memo.clear();
  }

  async values(col: Column, rows: number[]): Promise<Map<number, Value>> {
    const m = await this.node(col.node, rows);
    const out = new Map<number, Value>();
    for (const r of rows) out.set(r, m.get(r)![col.index] ?? null);
    return out;
  }

  private async node(node: GraphNode, asked: number[]): Promise<Map<number, Value[]>> {
    let memo = this.memo.get(node.id);
    if (!memo) this.memo.set(node.id, (memo = new Map()));
    const missing = sortedUnique(asked.filter((r) => !memo!.has(r)));
    if (missing.length > 0) {
      if (this.signal?.aborted) throw new AbortedError('the run was aborted');
      const computed = await this.compute(node, missing);
      for (const [r, v] of computed) memo.set(r, v);
    }
    return memo;
  }

  private async compute(node: GraphNode, rows: number[]): Promise<Map<number, Value[]>> {
    const out = new Map<number, Value[]>();
    if (node instanceof InputNode) {
      const got = await this.inputs.get(node.id)!.read(rows);
      for (const r of rows) out.set(r, [got.get(r) ?? null]);
      return out;
    }
    if (node instanceof SampleNode || node instanceof SliceNode) {
      const p = this.plan.node(node);
      const src = rows.map((k) => p.source!(k));
      const got = await this.values(node.input, sortedUnique(src.filter((s): s is number => s !== null)));
      rows.forEach((k, i) => out.set(k, [src[i] === null ? null : got.get(src[i]!)!]));
      return out;
    }
    if (node instanceof UnsliceNode) {
      const got = await this.values(node.input, rows);
      for (const r of rows) out.set(r, [got.get(r)!]);
      return out;
    }
    return this.computeOp(node as OpNode, rows);
  }

  private async computeOp(node: OpNode, rows: number[]): Promise<Map<number, Value[]>> {
    const p = this.plan.node(node);
    const state = this.ops.get(node.id)!;
    const warm = node.options.unboundedState ? Number.MAX_SAFE_INTEGER : node.options.boundedState;
    const bounds = (r: number): [number, number, number] => {
      if (!p.group) return [0, p.length, 0];
      const g = p.group.of(r);
      return [p.group.start[g]!, p.group.end[g]!, g];
    };
    // The rows the kernel must execute, in order: warm-up rows before a discontinuity (their
    // outputs are dropped), and reset() wherever the stream of rows is not continuous.
    const exec: { row: number; reset: boolean; emit: boolean }[] = [];
    let prev = state.lastRow;
    let prevGroup = state.lastGroup;
    for (const r of rows) {
      const [gs, , g] = bounds(r);
      if (g === prevGroup && r > prev && r - prev - 1 <= warm) {
        for (let x = prev + 1; x < r; x++) exec.push({ row: x, reset: false, emit: false });
        exec.push({ row: r, reset: false, emit: true });
      } else {
        const start = Math.max(gs, r - warm);
        for (let x = start; x < r; x++) exec.push({ row: x, reset: x === start, emit: false });
        exec.push({ row: r, reset: start === r, emit: true });
      }
      prev = r;
      prevGroup = g;
    }
    const stencil = node.options.stencil;
    const at = (x: number, o: number) => {
      const [gs, ge] = bounds(x);
      return Math.min(Math.max(x + o, gs), ge - 1);
    };
    const needed = sortedUnique(exec.flatMap((e) => stencil.map((o) => at(e.row, o))));
    const inputs = await Promise.all(node.inputs.map((c) => this.values(c, needed)));

    const out = new Map<number, Value[]>();
    const size = node.options.batch > 1 ? node.options.batch : this.workPacketSize;
    for (let i = 0; i < exec.length; ) {
      let j = i + 1;
      while (j < exec.length && j - i < size && !exec[j]!.reset) j++;
      const batch = exec.slice(i, j);
      if (batch[0]!.reset) await state.kernel.reset();
      const cols = inputs.map((vals) => batch.flatMap((e) => stencil.map((o) => vals.get(at(e.row, o)) ?? null)));
      const result = await state.kernel.execute(cols, batch.length);
      batch.forEach((e, k) => {
        if (e.emit) out.set(e.row, result.map((col) => toValue(col[k]!)));
      });
      this.opRows += batch.length;
      i = j;
    }
    const last = exec[exec.length - 1]!;
    state.lastRow = last.row;
    state.lastGroup = bounds(last.row)[2];
    return out;
  }
}
