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
