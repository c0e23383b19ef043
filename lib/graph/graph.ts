/**
 * The computation graph: columns produced by inputs, ops and stream operators, consumed by
 * outputs. Building a graph only records what to compute; `sc.run()` plans and executes it.
 */
import { BadArgumentError } from '../errors';
import type { Frame } from '../frame';
import { describe } from '../validate';

export type ArgValue = number | string | boolean;

/** How a frame column is stored: encoded (H.264, the default for uint8 RGB) or raw. */
export interface Compression {
  mode: 'encoded' | 'raw';
  quality?: number;
  bitrate?: number;
  keyframeDistance?: number;
}

let nextId = 1;

export abstract class GraphNode {
  readonly id = nextId++;
  abstract readonly inputs: Column[];
}

/**
/**
 * A column of a graph: what `sc.io.Input`, an op or a stream operator produces, and what ops,
 * stream operators and `sc.io.Output` consume. `Column<T>` holds values of type T
 * (`Column<vg.Frame>` frames, `Column<vg.Histogram>` histograms): ops check at compile time that
 * they get the columns they need. Frame columns can choose how they are stored.
 *
 * @example
 * const frames = sc.io.Input([video]);
 * const small = sc.ops.Resize({ frame: frames, width: 320, height: 240 }).lossless();
 */
export class Column<T = unknown> {
  /** The type of this column's values, for the compiler only: it is never set at run time. */
  declare readonly valueType?: T;
  /** @internal */ compression: Compression | undefined;
  /** @internal Columns come from sc.io.Input, ops and stream operators. */
  constructor(
    /** @internal */ readonly node: GraphNode,
    /** @internal */ readonly index: number,
    /** @internal */ readonly type: string,
  ) {}

  /**
   * Store this frame column encoded as H.264 (the default for uint8 RGB frames): `quality` is
   * the CRF, or `bitrate`; `keyframeDistance` sets the GOP length. Not a frame column: ERR_BAD_ARGUMENT.
   *
   * @example
   * const out = sc.io.Output(small.compressVideo({ quality: 18, keyframeDistance: 30 }), [new vg.NamedVideoStream(sc, 'small')]);
   */
  compressVideo<C extends Column<Frame>>(this: C, opts: { quality?: number; bitrate?: number; keyframeDistance?: number } = {}): C {
    this.requireFrames('compressVideo');
    this.compression = { mode: 'encoded', ...opts };
    return this;
  }

  /**
   * Store this frame column raw: frames load back bit for bit.
   *
   * @example
   * const out = sc.io.Output(sc.ops.Blur({ frame: frames, kernelSize: 3, sigma: 1 }).lossless(), [new vg.NamedStream(sc, 'blurred')]);
   */
  lossless<C extends Column<Frame>>(this: C): C {
    this.requireFrames('lossless');
    this.compression = { mode: 'raw' };
    return this;
  }

  private requireFrames(what: string): void {
    if (this.type !== 'Frame') throw new BadArgumentError(`${what}: only frame columns can be compressed; this column holds ${this.type}`);
  }
}

/** Anything that can be read as a job's input: stored streams and in-memory arrays. */
export interface SourceStream {
  /** The stream's name. */
  name(): string;
  /** Its rows. */
  len(): Promise<number>;
}

export class InputNode extends GraphNode {
  readonly inputs: Column[] = [];
  constructor(readonly streams: SourceStream[], readonly type: string) {
    super();
  }
}

export interface OpOptions {
  device: 'cpu' | 'gpu';
  batch: number;
  stencil: number[];
  boundedState: number;
  unboundedState: boolean;
}

export class OpNode extends GraphNode {
  constructor(
    readonly opName: string,
    readonly inputs: Column[],
    /** Arguments as given: a scalar is the same for every job, an array has one value per job. */
    readonly args: Record<string, unknown>,
    readonly options: OpOptions,
  ) {
    super();
  }
}

/** A row selection, per job: out row k reads input row map(k) (null: a null row). */
export type Sampling =
  | { kind: 'All' }
  | { kind: 'Stride'; stride: number }
  | { kind: 'Ranges'; ranges: [number, number][] }
  | { kind: 'StridedRange'; start: number; end: number; stride: number }
  | { kind: 'Gather'; rows: number[] }
  | { kind: 'Repeat'; times: number; nulls: boolean };

export class SampleNode extends GraphNode {
  /** `samplings`: one entry for every job, or one per job. */
  constructor(readonly input: Column, readonly samplings: Sampling[]) {
    super();
  }
  get inputs(): Column[] {
    return [this.input];
  }
}

/**
 * Groups of input rows, per job: each group is processed with fresh op state. Made by `sc.partitioner`.
 *
 * @property groups The groups of rows of a stream of `len` rows.
 */
export type Partition = {
  /** The groups of rows for a stream of `len` rows. */
  groups: (len: number) => number[][];
  /** @internal How the partitioner was called (a graph sent to workers carries this, not the function). */
  spec?: PartitionSpec;
};

/** @internal A partitioner call, as data. */
export type PartitionSpec =
  | { kind: 'all'; groupSize: number }
  | { kind: 'strided'; stride: number; groupSize: number }
  | { kind: 'range'; start: number; end: number }
  | { kind: 'ranges'; ranges: [number, number][] }
  | { kind: 'gather'; groups: number[][] };

export class SliceNode extends GraphNode {
  /** `partitions`: one entry for every job, or one per job. */
  constructor(readonly input: Column, readonly partitions: Partition[]) {
    super();
  }
  get inputs(): Column[] {
    return [this.input];
  }
}

export class UnsliceNode extends GraphNode {
  constructor(readonly input: Column) {
    super();
  }
  get inputs(): Column[] {
    return [this.input];
  }
}

/**
 * Where a column is written: one output stream per job. Made by `sc.io.Output`, passed to `sc.run`.
 *
 * @example
 * const out: vg.OutputOp = sc.io.Output(hist, [new vg.NamedStream(sc, 'example_hist')]);
 */
export class OutputOp {
  /**
   * @internal Made by sc.io.Output.
   * @param column The column written.
   * @param streams The output streams, one per job.
   */
  constructor(readonly column: Column, readonly streams: SourceStream[]) {}
}

/** Broadcasts a per-stream argument: one entry for every job, or exactly one per job. */
export function perJob<T>(where: string, name: string, values: T[], jobs: number): T[] {
  if (values.length === 1) return Array.from({ length: jobs }, () => values[0]!);
  if (values.length === jobs) return values;
  throw new BadArgumentError(`${where}: expected ${name} with 1 entry (for every stream) or ${jobs} (one per stream), got ${describe(values)}`);
}
