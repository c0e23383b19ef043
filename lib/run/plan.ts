/**
 * Planning, per job: how many rows each node has and which input row each of its rows reads.
 * Working from the outputs back to the inputs gives exactly the rows every op needs, so only
 * those input rows are ever decoded.
 */
import { BadArgumentError } from '../errors';
import { Column, GraphNode, InputNode, OpNode, perJob, SampleNode, Sampling, SliceNode, UnsliceNode } from '../graph/graph';

export interface NodePlan {
  length: number;
  /** Sampling and slicing nodes: the input row each row reads (null: a null row). */
  source?: (row: number) => number | null;
  /** Inside a Slice: each row's group (ops reset at group boundaries); start and end of each group. */
  group?: { of: (row: number) => number; start: number[]; end: number[] };
}

export function sortedUnique(rows: Iterable<number>): number[] {
  return Array.from(new Set(rows)).sort((a, b) => a - b);
}

/** Row `r`'s group inside a Slice (start, end, group index); the whole node outside one. */
export function groupBounds(plan: NodePlan, r: number): [number, number, number] {
  if (!plan.group) return [0, plan.length, 0];
  const g = plan.group.of(r);
  return [plan.group.start[g]!, plan.group.end[g]!, g];
}

/** The input row a stencil offset `o` of row `x` reads: clamped to the row's group. */
export function stencilRow(plan: NodePlan, x: number, o: number): number {
  const [gs, ge] = groupBounds(plan, x);
  return Math.min(Math.max(x + o, gs), ge - 1);
}

/** Every input row the stencil reads for `rows`, sorted. */
export function stencilRows(plan: NodePlan, stencil: readonly number[], rows: readonly number[]): number[] {
  return sortedUnique(rows.flatMap((x) => stencil.map((o) => stencilRow(plan, x, o))));
}

export interface ExecRow {
  row: number;
  /** reset() before this row. */
  reset: boolean;
  /** Its output is wanted (false: a warm-up row). */
  emit: boolean;
}

/** Output rows [start, end) of every output of a job (a distributed run's task); clipped to each output's length. */
export interface RowRange {
  start: number;
  end: number;
}

/** The rows of an output of `length` rows a range covers (all of them without a range). */
export function clipRange(length: number, range?: RowRange): { start: number; end: number } {
  if (!range) return { start: 0, end: length };
  return { start: Math.min(range.start, length), end: Math.min(range.end, length) };
}

/**
 * The rows an op's kernel executes for `rows` (sorted), in order: warm-up rows before a
 * discontinuity (their outputs are dropped), and reset() wherever the stream of rows is not
 * continuous. `last` is the op's position (the last row it executed), advanced past `rows`.
 */
export function executionRows(plan: NodePlan, op: OpNode, rows: readonly number[], last: { lastRow: number; lastGroup: number }): ExecRow[] {
  const warm = op.options.unboundedState ? Number.MAX_SAFE_INTEGER : op.options.boundedState;
  const exec: ExecRow[] = [];
  let prev = last.lastRow;
  let prevGroup = last.lastGroup;
  for (const r of rows) {
    const [gs, , g] = groupBounds(plan, r);
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
  if (exec.length > 0) {
    last.lastRow = exec[exec.length - 1]!.row;
    last.lastGroup = groupBounds(plan, last.lastRow)[2];
  }
  return exec;
}

export class JobPlan {
  private readonly plans = new Map<number, NodePlan>();

  constructor(readonly job: number, readonly jobs: number, private readonly inputLengths: Map<number, number>) {}

  column(c: Column): NodePlan {
    return this.node(c.node);
  }

  node(node: GraphNode): NodePlan {
    let p = this.plans.get(node.id);
    if (!p) {
      p = this.build(node);
      this.plans.set(node.id, p);
    }
    return p;
  }

  /**
   * The decode schedule: for each input node, the rows the evaluator will ask it for, in the
   * order it asks (per output, packet by packet of `packetSize` output rows; within a packet
   * each row once). It follows the evaluator's own steps (sampling, slicing, stencils, op
   * warm-up), so that the decoder can decode each keyframe interval once for the whole job.
   */
  inputSchedule(outputs: readonly Column[], packetSize: number, range?: RowRange): Map<number, number[]> {
    const schedule = new Map<number, number[]>();
    const opPosition = new Map<number, { lastRow: number; lastGroup: number }>();
    for (const col of outputs) {
      const { start, end: length } = clipRange(this.column(col).length, range);
      for (let a = start; a < length; a += packetSize) {
        const seen = new Map<number, Set<number>>();  // one packet's memo, as the evaluator's
        const visit = (node: GraphNode, rows: number[]): void => {
          let memo = seen.get(node.id);
          if (!memo) seen.set(node.id, (memo = new Set()));
          const missing = sortedUnique(rows.filter((r) => !memo!.has(r)));
          if (missing.length === 0) return;
          for (const r of missing) memo.add(r);
          if (node instanceof InputNode) {
            let list = schedule.get(node.id);
            if (!list) schedule.set(node.id, (list = []));
            for (const r of missing) list.push(r);
          } else if (node instanceof SampleNode || node instanceof SliceNode) {
            const plan = this.node(node);
            visit(node.input.node, missing.map((k) => plan.source!(k)).filter((s): s is number => s !== null));
          } else if (node instanceof UnsliceNode) {
            visit(node.input.node, missing);
          } else if (node instanceof OpNode) {
            let position = opPosition.get(node.id);
            if (!position) opPosition.set(node.id, (position = { lastRow: -2, lastGroup: -1 }));
            const plan = this.node(node);
            const exec = executionRows(plan, node, missing, position);
            const needed = stencilRows(plan, node.options.stencil, exec.map((e) => e.row));
            for (const c of node.inputs) visit(c.node, needed);
          }
        };
        visit(col.node, Array.from({ length: Math.min(packetSize, length - a) }, (_, i) => a + i));
      }
    }
    return schedule;
  }

  private build(node: GraphNode): NodePlan {
    if (node instanceof InputNode) return { length: this.inputLengths.get(node.id)! };
    if (node instanceof OpNode) {
      const plans = node.inputs.map((c) => this.column(c));
      const length = plans[0]!.length;
      if (plans.some((p) => p.length !== length)) {
        throw new BadArgumentError(`${node.opName}: its inputs have different row counts (${plans.map((p) => p.length).join(', ')}) in job ${this.job}`);
      }
      return { length, group: plans[0]!.group };
    }
    if (node instanceof SampleNode) {
      const input = this.column(node.input);
      if (input.group) throw new BadArgumentError('stream operators between Slice and Unslice are not supported in this version');
      const s = perJob('stream operator', 'its argument', node.samplings, this.jobs)[this.job]!;
      return sampling(s, input.length, this.job);
    }
    if (node instanceof SliceNode) {
      const input = this.column(node.input);
      const part = perJob('Slice', 'partitions', node.partitions, this.jobs)[this.job]!;
      const groups = part.groups(input.length);
      const flat: number[] = [];
      const start: number[] = [];
      const end: number[] = [];
      const groupOf: number[] = [];
      groups.forEach((g, gi) => {
        start.push(flat.length);
        for (const r of g) {
          if (r >= input.length) throw new BadArgumentError(`Slice: row ${r} is past the end of the stream (${input.length} rows) in job ${this.job}`);
          flat.push(r);
          groupOf.push(gi);
        }
        end.push(flat.length);
      });
      return { length: flat.length, source: (k) => flat[k]!, group: { of: (k) => groupOf[k]!, start, end } };
    }
    if (node instanceof UnsliceNode) {
      return { length: this.column(node.input).length };
    }
    throw new BadArgumentError('unknown graph node');
  }
}

function sampling(s: Sampling, n: number, job: number): NodePlan {
  switch (s.kind) {
    case 'All':
      return { length: n, source: (k) => k };
    case 'Stride':
      return { length: Math.ceil(n / s.stride), source: (k) => k * s.stride };
    case 'StridedRange': {
      const end = Math.min(s.end, n);
      return { length: Math.max(0, Math.ceil((end - s.start) / s.stride)), source: (k) => s.start + k * s.stride };
    }
    case 'Ranges': {
      const clamped = s.ranges.map(([a, b]) => [Math.min(a, n), Math.min(b, n)] as [number, number]);
      const starts: number[] = [];
      let total = 0;
      for (const [a, b] of clamped) {
        starts.push(total);
        total += b - a;
      }
      return {
        length: total,
        source: (k) => {
          let i = starts.length - 1;
          while (starts[i]! > k) i--;
          return clamped[i]![0] + (k - starts[i]!);
        },
      };
    }
    case 'Gather': {
      const bad = s.rows.find((r) => r >= n);
      if (bad !== undefined) throw new BadArgumentError(`Gather: row ${bad} is past the end of the stream (${n} rows) in job ${job}`);
      return { length: s.rows.length, source: (k) => s.rows[k]! };
    }
    case 'Repeat':
      return { length: n * s.times, source: (k) => (s.nulls ? (k % s.times === 0 ? k / s.times : null) : Math.floor(k / s.times)) };
  }
}
