/**
 * Stream operators (`sc.streams`) and partitioners (`sc.partitioner`), as in Scanner. The outer
 * array of each argument has one entry per input stream; a single entry applies to every stream.
 *
 * @example
 * const every10th = sc.streams.Stride(frames, [10]);
 * const first100 = sc.streams.Range(frames, [[0, 100]]);
 * const picked = sc.streams.Gather(frames, [[30, 10, 10, 500]]);
 */
import { BadArgumentError } from '../errors';
import { describe } from '../validate';
import { Column, Partition, PartitionSpec, SampleNode, Sampling, SliceNode, UnsliceNode } from './graph';

const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

function outer<T>(op: string, value: unknown, each: (v: unknown, i: number) => T): T[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadArgumentError(`${op}: expected an array with one entry per input stream (or one for all), got ${describe(value)}`);
  }
  return value.map(each);
}

function column<T>(op: string, c: Column<T>): Column<T> {
  if (!(c instanceof Column)) throw new BadArgumentError(`${op}: expected a column as the first argument, got ${describe(c)}`);
  return c;
}

function range(op: string, r: unknown, i: number): [number, number] {
  if (!Array.isArray(r) || r.length !== 2 || !isInt(r[0]) || !isInt(r[1]) || r[1] < r[0]) {
    throw new BadArgumentError(`${op}: expected a row range [start, end) with integers 0 <= start <= end for stream ${i}, got ${describe(r)}`);
  }
  return [r[0], r[1]];
}

/**
 * `sc.streams`: Scanner's stream operators, which select, repeat or group the rows of a column.
 * The outer array of each argument has one entry per input stream, or one entry for all.
 *
 * @example
 * const every10th = sc.streams.Stride(frames, [10]);
 */
export class StreamOps {
  /**
   * Every row (the column unchanged).
   *
   * @example
   * const all = sc.streams.All(frames);
   */
  All<T>(col: Column<T>): Column<T> {
    return sample('All', col, [{ kind: 'All' }]);
  }

  /**
   * Every n-th row: Stride(col, [2]) keeps rows 0, 2, 4, ... (one stride per input stream, or one for all).
   *
   * @example
   * const everyOther = sc.streams.Stride(frames, [2]);
   */
  Stride<T>(col: Column<T>, strides: number[]): Column<T> {
    return sample('Stride', col, outer('Stride', strides, (s, i) => {
      if (!isInt(s, 1)) throw new BadArgumentError(`Stride: expected integer stride > 0 for stream ${i}, got ${describe(s)}`);
      return { kind: 'Stride', stride: s };
    }));
  }

  /**
   * Rows [start, end), one range per input stream (or one for all).
   *
   * @example
   * const first100 = sc.streams.Range(frames, [[0, 100]]);
   */
  Range<T>(col: Column<T>, ranges: [number, number][]): Column<T> {
    return sample('Range', col, outer('Range', ranges, (r, i) => ({ kind: 'Ranges', ranges: [range('Range', r, i)] })));
  }

  /**
   * Several [start, end) ranges, concatenated, per input stream.
   *
   * @example
   * const clips = sc.streams.Ranges(frames, [[[0, 10], [50, 60]]]);
   */
  Ranges<T>(col: Column<T>, ranges: [number, number][][]): Column<T> {
    return sample('Ranges', col, outer('Ranges', ranges, (rs, i) => {
      if (!Array.isArray(rs) || rs.length === 0) throw new BadArgumentError(`Ranges: expected a list of [start, end) ranges for stream ${i}, got ${describe(rs)}`);
      return { kind: 'Ranges', ranges: rs.map((r) => range('Ranges', r, i)) };
    }));
  }

  /**
   * Every stride-th row of [start, end), as [start, end, stride] per input stream.
   *
   * @example
   * const sampled = sc.streams.StridedRange(frames, [[0, 100, 5]]); // rows 0, 5, ..., 95
   */
  StridedRange<T>(col: Column<T>, ranges: [number, number, number][]): Column<T> {
    return sample('StridedRange', col, outer('StridedRange', ranges, (r, i) => {
      if (!Array.isArray(r) || r.length !== 3 || !isInt(r[0]) || !isInt(r[1]) || !isInt(r[2], 1) || r[1] < r[0]) {
        throw new BadArgumentError(`StridedRange: expected [start, end, stride] for stream ${i}, got ${describe(r)}`);
      }
      return { kind: 'StridedRange', start: r[0], end: r[1], stride: r[2] };
    }));
  }

  /**
   * Arbitrary rows, in any order, repeats allowed: one list per input stream.
   *
   * @example
   * const picked = sc.streams.Gather(frames, [[10, 17, 32]]);
   */
  Gather<T>(col: Column<T>, rows: number[][]): Column<T> {
    return sample('Gather', col, outer('Gather', rows, (rs, i) => {
      if (!Array.isArray(rs) || !rs.every((r) => isInt(r))) throw new BadArgumentError(`Gather: expected a list of row indices for stream ${i}, got ${describe(rs)}`);
      return { kind: 'Gather', rows: rs as number[] };
    }));
  }

  /**
   * Each row n times in a row (n per input stream, or one for all).
   *
   * @example
   * const doubled = sc.streams.Repeat(frames, [2]); // rows 0, 0, 1, 1, ...
   */
  Repeat<T>(col: Column<T>, times: number[]): Column<T> {
    return sample('Repeat', col, outer('Repeat', times, (t, i) => {
      if (!isInt(t, 1)) throw new BadArgumentError(`Repeat: expected integer count > 0 for stream ${i}, got ${describe(t)}`);
      return { kind: 'Repeat', times: t, nulls: false };
    }));
  }

  /**
   * Each row once, followed by n - 1 null rows (which load as null).
   *
   * @example
   * const padded = sc.streams.RepeatNull(frames, [2]); // row 0, null, row 1, null, ...
   */
  RepeatNull<T>(col: Column<T>, times: number[]): Column<T | null> {
    return sample<T | null>('RepeatNull', col, outer('RepeatNull', times, (t, i) => {
      if (!isInt(t, 1)) throw new BadArgumentError(`RepeatNull: expected integer count > 0 for stream ${i}, got ${describe(t)}`);
      return { kind: 'Repeat', times: t, nulls: true };
    }));
  }

  /**
   * Splits rows into groups; ops see each group with fresh state (`reset()` at each group). Undo with {@link StreamOps.Unslice}.
   *
   * @example
   * const sliced = sc.streams.Slice(frames, { partitions: [sc.partitioner.all(50)] });
   */
  Slice<T>(col: Column<T>, opts: { partitions: Partition[] }): Column<T> {
    const c = column('Slice', col);
    if (!opts || !Array.isArray(opts.partitions) || opts.partitions.length === 0 || !opts.partitions.every(isPartition)) {
      throw new BadArgumentError(`Slice: expected { partitions: [sc.partitioner....] } with one partitioner per stream (or one for all), got ${describe(opts?.partitions)}`);
    }
    return new Column<T>(new SliceNode(c, opts.partitions), 0, c.type);
  }

  /**
   * Joins a sliced stream back into one.
   *
   * @example
   * const sliced = sc.streams.Slice(frames, { partitions: [sc.partitioner.all(50)] });
   * const joined = sc.streams.Unslice(sc.ops.Blur({ frame: sliced, kernelSize: 3, sigma: 0.5 }));
   */
  Unslice<T>(col: Column<T>): Column<T> {
    const c = column('Unslice', col);
    return new Column<T>(new UnsliceNode(c), 0, c.type);
  }
}

function sample<T>(op: string, col: Column<T>, samplings: Sampling[]): Column<T> {
  const c = column(op, col);
  return new Column<T>(new SampleNode(c, samplings), 0, c.type);
}

const partitionTag = Symbol('vidgraph.partition');
function isPartition(p: unknown): p is Partition {
  return typeof p === 'object' && p !== null && (p as Record<symbol, unknown>)[partitionTag] === true;
}
function partition(groups: (len: number) => number[][], spec: PartitionSpec): Partition {
  return { groups, spec, [partitionTag]: true } as Partition;
}

/** @internal The partition a partitioner call made (a graph sent to workers is rebuilt from specs). */
export function partitionFromSpec(spec: PartitionSpec): Partition {
  const p = new Partitioner();
  switch (spec.kind) {
    case 'all': return p.all(spec.groupSize);
    case 'strided': return p.strided(spec.stride, spec.groupSize);
    case 'range': return p.range(spec.start, spec.end);
    case 'ranges': return p.ranges(spec.ranges);
    case 'gather': return p.gather(spec.groups);
  }
}

/**
 * `sc.partitioner`: how {@link StreamOps.Slice} groups rows.
 *
 * @example
 * const sliced = sc.streams.Slice(frames, { partitions: [sc.partitioner.ranges([[0, 100], [100, 200]])] });
 */
export class Partitioner {
  /**
   * Consecutive groups of groupSize rows.
   *
   * @example
   * const sliced = sc.streams.Slice(frames, { partitions: [sc.partitioner.all(50)] });
   */
  all(groupSize: number): Partition {
    if (!isInt(groupSize, 1)) throw new BadArgumentError(`partitioner.all: expected integer groupSize > 0, got ${describe(groupSize)}`);
    return partition((len) => chunk(Array.from({ length: len }, (_, i) => i), groupSize), { kind: 'all', groupSize });
  }

  /**
   * Every stride-th row, in groups of groupSize.
   *
   * @example
   * const p = sc.partitioner.strided(10, 5); // groups [0, 10, 20, 30, 40], [50, ...], ...
   */
  strided(stride: number, groupSize: number): Partition {
    if (!isInt(stride, 1)) throw new BadArgumentError(`partitioner.strided: expected integer stride > 0, got ${describe(stride)}`);
    if (!isInt(groupSize, 1)) throw new BadArgumentError(`partitioner.strided: expected integer groupSize > 0, got ${describe(groupSize)}`);
    return partition((len) => chunk(Array.from({ length: Math.ceil(len / stride) }, (_, i) => i * stride), groupSize), { kind: 'strided', stride, groupSize });
  }

  /**
   * One group: rows [start, end).
   *
   * @example
   * const p = sc.partitioner.range(100, 200);
   */
  range(start: number, end: number): Partition {
    const [a, b] = range('partitioner.range', [start, end], 0);
    return partition((len) => [rowsOf(a, Math.min(b, len))], { kind: 'range', start: a, end: b });
  }

  /**
   * One group per [start, end) range.
   *
   * @example
   * const p = sc.partitioner.ranges([[0, 10], [50, 60]]);
   */
  ranges(ranges: [number, number][]): Partition {
    if (!Array.isArray(ranges) || ranges.length === 0) throw new BadArgumentError(`partitioner.ranges: expected a list of [start, end) ranges, got ${describe(ranges)}`);
    const rs = ranges.map((r, i) => range('partitioner.ranges', r, i));
    return partition((len) => rs.map(([a, b]) => rowsOf(a, Math.min(b, len))), { kind: 'ranges', ranges: rs });
  }

  /**
   * One group per list of rows.
   *
   * @example
   * const p = sc.partitioner.gather([[0, 5, 9], [20, 21]]);
   */
  gather(groups: number[][]): Partition {
    if (!Array.isArray(groups) || !groups.every((g) => Array.isArray(g) && g.every((r) => isInt(r)))) {
      throw new BadArgumentError(`partitioner.gather: expected a list of row lists, got ${describe(groups)}`);
    }
    const copy = groups.map((g) => [...g]);
    return partition(() => copy.map((g) => [...g]), { kind: 'gather', groups: copy });
  }
}

function rowsOf(a: number, b: number): number[] {
  return Array.from({ length: Math.max(b - a, 0) }, (_, i) => a + i);
}

function chunk(rows: number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}
