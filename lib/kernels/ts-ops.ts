/**
 * Ops written in TypeScript: `vg.registerOp`. A kernel is a function or a class; it runs on the
 * calling thread, or, declared as `module: { url, export }`, in a pool of worker threads.
 * batch, stencil, boundedState and unboundedState behave exactly as for engine ops: the same
 * evaluator decides which rows each kernel sees and when reset() is called.
 *
 * @example
 * vg.registerOp({
 *   name: 'Brightness', inputs: { frame: vg.FrameType }, outputs: { value: vg.Json },
 *   kernel: (config, { frame }) => frame.data.reduce((a, b) => a + b, 0) / frame.data.length,
 * });
 * const b = sc.ops.Brightness({ frame: frames });
 */
import { BadArgumentError, ExistsError, VidgraphError } from '../errors';
import { native } from '../native';
import { Frame } from '../frame';
import type { Column } from '../graph/graph';
import type { OpHandle } from '../graph/op-types';
import { ColumnType, ColumnValue, FrameType, FrameTypeT, typeNamed } from '../graph/types';
import { describe } from '../validate';
import type { Value } from '../run/evaluate';

/** What a kernel is told about its op instance (as Scanner's KernelConfig). */
export interface KernelConfig {
  /** The op's arguments for this job: `sc.ops.Brightness({ frame, label: 'x' })` gives `{ label: 'x' }`. */
  args: Record<string, unknown>;
  /** Where the op runs. */
  device: 'cpu' | 'gpu';
  /** The op's input column names, in declaration order. */
  inputColumns: string[];
  /** The op's output column names, in declaration order. */
  outputColumns: string[];
  /** The id of the op's node in the graph. */
  nodeId: number;
}

/** A value or a Promise of it (kernels may be async). */
export type MaybePromise<T> = T | PromiseLike<T>;

/** An input or output type of a TypeScript op: vg.FrameType or a registered column type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TypeArg = typeof FrameType | ColumnType<any>;

/** A stencil's window of rows (an array), or the row itself for the default stencil [0]. */
export type Windowed<V, S> = S extends readonly [0] ? V : S extends readonly number[] ? V[] : V;
/** A batch of rows (an array) when batch > 1, else the row itself. */
export type Batched<V, B> = B extends 1 | undefined ? V : B extends number ? V[] : V;

/**
 * The inputs a kernel receives for an op declared with inputs I, batch B and stencil S: each
 * input's value (`vg.Frame` for vg.FrameType, `Int32Array[]` for vg.Histogram, ...), an array of
 * the stencil's rows with a stencil, and an array of rows with a batch.
 */
export type KernelInputs<I, B = undefined, S = undefined> = { [K in keyof I]: Batched<Windowed<ColumnValue<I[K]> | null, S>, B> };

/** Whether T is a union (an op with several outputs has a union of output names). */
export type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/** A column's values as produced: any vg.Frame for vg.FrameType, else the type's values. */
export type Produced<C> = C extends FrameTypeT ? Frame : ColumnValue<C>;

/** What a kernel returns per row: the value of its one output, or a record by output name. */
export type KernelRow<O> = [keyof O] extends [never]
  ? null | undefined | void
  : true extends IsUnion<keyof O>
    ? { [K in keyof O]?: Produced<O[K]> | null } | null
    : Produced<O[keyof O]> | null | undefined;

/** What a kernel returns for an op with outputs O and batch B (an array of rows with a batch). */
export type KernelOutput<O, B = undefined> = B extends 1 | undefined ? KernelRow<O> : B extends number ? MaybePromise<KernelRow<O>>[] : KernelRow<O>;

/** The columns an op declared with inputs I takes. */
export type InputColumns<I> = { [K in keyof I]: Column<Produced<I[K]>> };

/** What calling an op declared with outputs O returns: its one column, or a record of columns. */
export type OutputColumns<O> = [keyof O] extends [never]
  ? Record<string, never>
  : true extends IsUnion<keyof O>
    ? { [K in keyof O]: Column<Produced<O[K]>> }
    : Column<Produced<O[keyof O]>>;

/**
 * A kernel function: the row's value (or a record by output name), or a Promise of it (awaited).
 * Registered with registerOp, its inputs are typed from the op's declaration.
 */
export type FunctionKernel<In = Record<string, unknown>, Out = unknown> = (config: KernelConfig, inputs: In) => MaybePromise<Out>;

/**
 * Base class for stateful kernels. `execute`, `reset` and `close` may be async (their Promises
 * are awaited). `In` and `Out` type the rows `execute` gets and returns.
 *
 * @example
 * class Counter extends vg.Kernel {            // stateful: reset() at every slice boundary
 *   n = 0;
 *   reset() { this.n = 0; }
 *   execute() { return ++this.n; }
 * }
 * vg.registerOp({ name: 'Counter', inputs: { frame: vg.FrameType }, outputs: { n: vg.Json }, kernel: Counter, boundedState: 5 });
 */
export class Kernel<In = Record<string, unknown>, Out = unknown> {
  /** The op instance's configuration. */
  readonly config: KernelConfig;
  /** The op's arguments (the same as `config.args`). */
  readonly args: Record<string, unknown>;
  /** Made by the runner, once per op instance and job: `new MyKernel(config, config.args)`. */
  constructor(config: KernelConfig, args: Record<string, unknown>) {
    this.config = config;
    this.args = args;
  }
  /**
   * Called before the first row, at every slice boundary and every discontinuity: clear state here.
   *
   * @example
   * class RunningMean extends vg.Kernel<{ value: number | null }, number> {
   *   sum = 0;
   *   n = 0;
   *   reset() { this.sum = 0; this.n = 0; }
   *   execute({ value }: { value: number | null }) { this.sum += value ?? 0; return this.sum / ++this.n; }
   * }
   */
  reset(): MaybePromise<void> {}
  /**
   * Computes one row's outputs from its inputs (a record by input column name): the value itself
   * for one output, a record by output name for several. With `batch` each input is an array of
   * rows and an array is returned; with `stencil` each input is the array of rows at those offsets.
   *
   * @example
   * class Threshold extends vg.Kernel<{ frame: vg.AnyFrame | null }, number> {
   *   execute({ frame }: { frame: vg.AnyFrame | null }) {
   *     return frame ? frame.data.filter((v) => v > Number(this.args.level)).length : 0;
   *   }
   * }
   */
  execute(_inputs: In): MaybePromise<Out> {
    throw new BadArgumentError(`${this.constructor.name}.execute() is not implemented`);
  }
  /**
   * Optional: called when the op instance is done with its job, to release what it holds.
   *
   * @example
   * class Logger extends vg.Kernel {
   *   lines: string[] = [];
   *   execute({ value }: { value: unknown }) { this.lines.push(JSON.stringify(value)); return value; }
   *   async close() { await fs.promises.appendFile('log.jsonl', this.lines.join('\n') + '\n'); }
   * }
   */
  close?(): MaybePromise<void>;
}

/** A class kernel: {@link Kernel} or a subclass, made once per op instance and job. */
export type KernelClass<In = Record<string, unknown>, Out = unknown> = new (config: KernelConfig, args: Record<string, unknown>) => Kernel<In, Out>;

/**
 * The declaration `vg.registerOp` takes: the op's name, columns, scheduling options and kernel.
 * Its type parameters (inputs I, outputs O, batch B, stencil S) type the kernel's rows.
 */
export interface OpRegistration<
  I extends Record<string, TypeArg> = Record<string, TypeArg>,
  O extends Record<string, TypeArg> = Record<string, TypeArg>,
  B extends number | undefined = number | undefined,
  S extends readonly number[] | undefined = readonly number[] | undefined,
> {
  /** The op's name, an identifier: it becomes `sc.ops[name]`. */
  name: string;
  /** Input columns: name → type (`vg.FrameType` or a column type); at least one. */
  inputs: I;
  /** Output columns: name → type. */
  outputs: O;
  /** Where the op runs (default `'cpu'`). */
  device?: 'cpu' | 'gpu';
  /** Rows per kernel call (default 1): with more, inputs and the result are arrays of rows. */
  batch?: B;
  /** Row offsets each input holds (default [0]): `[0, 1]` gives each row with the next one. */
  stencil?: S;
  /** Warm-up rows: at least this many rows before the first needed row go through the kernel (default 0). */
  boundedState?: number;
  /** The kernel sees every row before each needed one (its state depends on the whole stream). */
  unboundedState?: boolean;
  /** The kernel, run on the calling thread: a function or a {@link Kernel} class. Give this or `module`. */
  kernel?: FunctionKernel<KernelInputs<I, B, S>, KernelOutput<O, B>> | KernelClass<KernelInputs<I, B, S>, KernelOutput<O, B>>;
  /**
   * A kernel in a module, run in a pool of worker threads (one instance per worker). Give this or `kernel`.
   */
  module?: {
    /** The module's URL or path, e.g. `new URL('./kernels.mjs', import.meta.url)`. */
    url: string | URL;
    /** The exported kernel function's or class's name. */
    export: string;
  };
  /**
   * A name that is already an op (built in, from a plugin, or registered before) is ERR_EXISTS
   * unless `replace: true`: then this op takes the name (the other is hidden, not unloaded).
   */
  replace?: boolean;
}

export interface TsOp {
  name: string;
  inputs: { name: string; type: string }[];
  outputs: { name: string; type: string }[];
  stencil: number[];
  batch: number;
  boundedState: number;
  unboundedState: boolean;
  device: 'cpu' | 'gpu';
  kernel?: FunctionKernel | KernelClass;
  module?: { url: string; export: string };
}

const tsOps = new Map<string, TsOp>();

function typeName(where: string, t: unknown): string {
  if (t === FrameType) return 'Frame';
  const name = (t as ColumnType | undefined)?.name;
  if (typeof name === 'string' && typeNamed(name)) return name;
  throw new BadArgumentError(`${where}: expected vg.FrameType or a registered column type (vg.Json, vg.Histogram, ... or vg.registerType), got ${describe(t)}`);
}

function isClass(f: unknown): f is KernelClass {
  return typeof f === 'function' && (f.prototype instanceof Kernel || /^class\s/.test(Function.prototype.toString.call(f)));
}

/**
 * Registers an op written in TypeScript; it is then `sc.ops[name]` on every client. A name already
 * taken is ERR_EXISTS unless `replace: true`; a malformed declaration is ERR_BAD_ARGUMENT. Returns
 * a handle for `sc.ops.call(handle, {...})`, which TypeScript checks against the declaration.
 *
 * @example
 * const brightness = vg.registerOp({
 *   name: 'Brightness', inputs: { frame: vg.FrameType }, outputs: { value: vg.Json },
 *   kernel: (config, { frame }) => {
 *     if (frame === null) return null;
 *     let sum = 0;
 *     for (const v of frame.data) sum += v;
 *     return sum / frame.data.length;
 *   },
 * });
 * const b = sc.ops.call(brightness, { frame: frames });
 * // CPU-heavy? Run it in a pool of worker threads:
 * vg.registerOp({ name: 'Heavy', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json },
 *   module: { url: new URL('./kernels.mjs', import.meta.url), export: 'heavy' } });
 */
export function registerOp<
  I extends Record<string, TypeArg>,
  O extends Record<string, TypeArg>,
  B extends number | undefined = undefined,
  const S extends readonly number[] | undefined = undefined,
>(reg: OpRegistration<I, O, B, S>): OpHandle<InputColumns<I>, OutputColumns<O>> {
  if (typeof reg !== 'object' || reg === null) throw new BadArgumentError(`registerOp: expected an op declaration, got ${describe(reg)}`);
  const where = `registerOp('${String(reg.name)}')`;
  if (typeof reg.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(reg.name)) throw new BadArgumentError(`registerOp: expected an identifier for name, got ${describe(reg.name)}`);
  if (typeof reg.inputs !== 'object' || reg.inputs === null || Object.keys(reg.inputs).length === 0) throw new BadArgumentError(`${where}: expected at least one input column`);
  if (typeof reg.outputs !== 'object' || reg.outputs === null) throw new BadArgumentError(`${where}: expected an outputs record`);
  if ((reg.kernel === undefined) === (reg.module === undefined)) throw new BadArgumentError(`${where}: give either kernel or module`);
  if (reg.kernel !== undefined && typeof reg.kernel !== 'function') throw new BadArgumentError(`${where}: expected kernel to be a function or a vg.Kernel class, got ${describe(reg.kernel)}`);
  let module: TsOp['module'];
  if (reg.module !== undefined) {
    const url = reg.module.url instanceof URL ? reg.module.url.href : reg.module.url;
    if (typeof url !== 'string' || typeof reg.module.export !== 'string') throw new BadArgumentError(`${where}: expected module as { url, export }`);
    module = { url, export: reg.module.export };
  }
  const int = (v: unknown, name: string, min: number, dflt: number) => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new BadArgumentError(`${where}: expected integer ${name} >= ${min}, got ${describe(v)}`);
    return v;
  };
  if (reg.replace !== undefined && typeof reg.replace !== 'boolean') throw new BadArgumentError(`${where}: expected a boolean for replace, got ${describe(reg.replace)}`);
  if (!reg.replace) {
    const engineOp = native().ops().find((o) => o.name === reg.name);
    const owner = tsOps.has(reg.name) ? 'a TypeScript op registered before' : engineOp ? (engineOp.plugin ? `an op of plugin '${engineOp.plugin}'` : 'a built-in op') : undefined;
    if (owner) throw new ExistsError(`${where}: the name is already taken by ${owner}; pass replace: true to replace it`);
  }
  const stencil = reg.stencil ?? [0];
  if (!Array.isArray(stencil) || stencil.length === 0 || !stencil.every((x) => Number.isInteger(x))) throw new BadArgumentError(`${where}: expected stencil as integer offsets, got ${describe(reg.stencil)}`);
  const kernel = reg.kernel as FunctionKernel | KernelClass | undefined;
  tsOps.set(reg.name, {
    name: reg.name,
    inputs: Object.entries(reg.inputs).map(([name, t]) => ({ name, type: typeName(`${where} input '${name}'`, t) })),
    outputs: Object.entries(reg.outputs).map(([name, t]) => ({ name, type: typeName(`${where} output '${name}'`, t) })),
    stencil,
    batch: int(reg.batch, 'batch', 1, 1),
    boundedState: int(reg.boundedState, 'boundedState', 0, 0),
    unboundedState: reg.unboundedState === true,
    device: reg.device ?? 'cpu',
    kernel,
    module,
  });
  return Object.freeze({ name: reg.name });
}

export function tsOp(name: string): TsOp | undefined {
  return tsOps.get(name);
}

export function tsOpNames(): string[] {
  return [...tsOps.keys()];
}

// ---- running TS kernels behind the evaluator's kernel interface ----

function decode(v: Value, type: string): unknown {
  if (v === null || type === 'Frame' || v instanceof Frame) return v;
  const t = typeNamed(type);
  return t ? t.deserialize(v) : v;
}

function encode(v: unknown, type: string, op: string): Value {
  if (v === null || v === undefined) return null;
  if (isThenable(v)) throw new VidgraphError('ERR_KERNEL', `${op}: an output value is a Promise (await it inside the kernel, or return the Promise of the whole result)`);
  if (type === 'Frame') {
    if (!(v instanceof Frame)) throw new VidgraphError('ERR_KERNEL', `${op}: output should be a vg.Frame, got ${describe(v)}`);
    return v;
  }
  return typeNamed(type)!.serialize(v);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Adapts a kernel (function or class instance) to the evaluator: columns in, columns out.
 * A kernel may be async: a returned Promise (from execute, reset or close, or a function
 * kernel) is awaited, and its rejection fails the job like a throw. Rows reach a per-row kernel
 * one at a time, each after the previous one's Promise settled, so state stays in row order.
 */
export class TsKernelRunner {
  private instance?: Kernel;
  constructor(private readonly op: TsOp, readonly config: KernelConfig, private readonly fn: FunctionKernel | KernelClass) {
    if (isClass(fn)) this.instance = new fn(config, config.args);
  }

  async reset(): Promise<void> {
    const r: unknown = this.instance?.reset();
    if (isThenable(r)) await r;
  }

  async close(): Promise<void> {
    const r: unknown = this.instance?.close?.();
    if (isThenable(r)) await r;
  }

  /** cols[c] holds rows × stencil entries; returns one column per output. */
  async run(cols: Value[][], rows: number): Promise<Value[][]> {
    const op = this.op;
    const per = op.stencil.length;
    const rowInputs = (r: number) => {
      const rec: Record<string, unknown> = {};
      op.inputs.forEach((input, c) => {
        const window = cols[c]!.slice(r * per, (r + 1) * per).map((v) => decode(v, input.type));
        rec[input.name] = per === 1 && op.stencil[0] === 0 && op.stencil.length === 1 ? window[0] : window;
      });
      return rec;
    };
    // Synchronous kernels pay no await per row; only a returned thenable is awaited.
    const call = (inputs: Record<string, unknown>): unknown => (this.instance ? this.instance.execute(inputs) : (this.fn as FunctionKernel)(this.config, inputs));
    const outputs: unknown[] = [];
    if (op.batch > 1) {
      const batched: Record<string, unknown[]> = {};
      const recs = Array.from({ length: rows }, (_, r) => rowInputs(r));
      for (const input of op.inputs) batched[input.name] = recs.map((rec) => rec[input.name]);
      let result = call(batched);
      if (isThenable(result)) result = await result;
      if (!Array.isArray(result) || result.length !== rows) {
        throw new VidgraphError('ERR_KERNEL', `${op.name}: a batch kernel must return an array of ${rows} results, got ${describe(result)}`);
      }
      // Elements of the array may be Promises too (e.g. rows.map(async ...)).
      outputs.push(...(result.some(isThenable) ? await Promise.all(result) : result));
    } else {
      for (let r = 0; r < rows; r++) {
        const result = call(rowInputs(r));
        outputs.push(isThenable(result) ? await result : result);
      }
    }
    return op.outputs.map((out) => outputs.map((o) => {
      const v = op.outputs.length === 1 ? o : (o as Record<string, unknown> | null)?.[out.name];
      return encode(v, out.type, op.name);
    }));
  }
}
