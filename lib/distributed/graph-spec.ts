/**
 * A graph as data: what a client sends to workers (issue 12's distributed runs) so that each
 * worker rebuilds the same graph and runs a job of it on the same engine. Every node, argument
 * and stream is plain JSON; op kernels are named, never shipped: built-in ops are everywhere,
 * plugin ops are loaded from the library and .proto they were loaded from, TypeScript ops must
 * be registered with `module: { url, export }` (an inline kernel cannot leave its process), and
 * non-built-in column types must be registered on the worker too.
 */
import { BadArgumentError, NotFoundError } from '../errors';
import { DType, Frame } from '../frame';
import { Column, Compression, GraphNode, InputNode, OpNode, OpOptions, OutputOp, PartitionSpec, SampleNode, Sampling, SliceNode, SourceStream, UnsliceNode } from '../graph/graph';
import { opDeclarations } from '../graph/ops';
import { partitionFromSpec } from '../graph/stream-ops';
import { FrameType, typeNamed } from '../graph/types';
import { registerOp, tsOp } from '../kernels/ts-ops';
import type { TsOp } from '../kernels/ts-ops';
import { pluginSource } from '../plugins';
import { ArrayStream } from '../streams/array-stream';
import { NamedStream } from '../streams/named-stream';
import { NamedVideoStream } from '../streams/named-video-stream';
import { describe } from '../validate';
import type { Client } from '../client';

export const GRAPH_SPEC_VERSION = 1;

/** A column: output `index` of node `node`, holding `type`. */
export interface ColumnRef { node: number; index: number; type: string }

/** A value as JSON: arrays and objects as themselves, bytes and frames tagged. */
export type SpecValue = null | boolean | number | string | SpecValue[] | { [key: string]: SpecValue };

export type StreamSpec =
  | { kind: 'video'; name: string; path?: string; inplace: boolean; rotate: boolean }
  | { kind: 'stream'; name: string }
  | { kind: 'array'; values: SpecValue[] };

export type NodeSpec =
  | { id: number; kind: 'input'; streams: StreamSpec[]; type: string }
  | { id: number; kind: 'op'; op: string; inputs: ColumnRef[]; outputs: number; args: Record<string, SpecValue>; options: OpOptions }
  | { id: number; kind: 'sample'; input: ColumnRef; samplings: Sampling[] }
  | { id: number; kind: 'slice'; input: ColumnRef; partitions: PartitionSpec[] }
  | { id: number; kind: 'unslice'; input: ColumnRef };

/** A TypeScript op as workers register it: its declaration, with the module of its kernel. */
export type TsOpSpec = Omit<TsOp, 'kernel' | 'module'> & { module: NonNullable<TsOp['module']> };

export interface GraphSpec {
  version: number;
  /** Every node, inputs before the nodes that read them. */
  nodes: NodeSpec[];
  outputs: { column: ColumnRef; compression?: Compression; streams: StreamSpec[] }[];
  /** Plugin libraries to load (with their .proto) before the graph is rebuilt. */
  plugins: { file: string; proto?: string; ops: string[] }[];
  /** TypeScript ops to register (from their modules) before the graph is rebuilt. */
  tsOps: TsOpSpec[];
  /** Registered column types the graph uses (the worker must have them: built-in ones always are). */
  types: string[];
}

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** Encodes a value (an op argument, an ArrayStream row) as JSON, tagging bytes and frames. */
export function encodeValue(v: unknown, where: string): SpecValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new BadArgumentError(`${where}: ${v} cannot be sent to workers (not finite)`);
    return v;
  }
  if (v instanceof Frame) {
    return { $frame: { height: v.height, width: v.width, channels: v.channels, dtype: v.dtype, data: b64(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength)) } };
  }
  if (v instanceof Uint8Array) return { $bytes: b64(v) };
  if (Array.isArray(v)) return v.map((x, i) => encodeValue(x, `${where}[${i}]`));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, SpecValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = encodeValue(x, `${where}.${k}`);
    return out;
  }
  throw new BadArgumentError(`${where}: ${describe(v)} cannot be sent to workers (only JSON values, Uint8Array and vg.Frame)`);
}

const DTYPES: Record<DType, { new (b: ArrayBuffer): Uint8Array | Uint16Array | Float32Array | Float64Array }> = {
  uint8: Uint8Array, uint16: Uint16Array, float32: Float32Array, float64: Float64Array,
};

/** The inverse of encodeValue. */
export function decodeValue(v: SpecValue): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(decodeValue);
  if (typeof v.$bytes === 'string' && Object.keys(v).length === 1) return new Uint8Array(Buffer.from(v.$bytes, 'base64'));
  const f = v.$frame as { height: number; width: number; channels: number; dtype: DType; data: string } | undefined;
  if (f && Object.keys(v).length === 1) {
    const bytes = Buffer.from(f.data, 'base64');
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const Ctor = DTYPES[f.dtype];
    if (!Ctor) throw new BadArgumentError(`graph spec: unknown frame dtype ${describe(f.dtype)}`);
    return Frame.from(new Ctor(copy.buffer), f.height, f.width, f.channels);
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = decodeValue(x);
  return out;
}

function streamSpec(s: SourceStream, where: string): StreamSpec {
  if (s instanceof NamedVideoStream) return { kind: 'video', name: s.name(), ...s.ingestOptions() };
  if (s instanceof NamedStream) return { kind: 'stream', name: s.name() };
  if (s instanceof ArrayStream) return { kind: 'array', values: s.values.map((v, i) => encodeValue(v, `${where} row ${i}`)) };
  throw new BadArgumentError(`${where}: ${describe(s)} cannot be sent to workers`);
}

/** The graph of `outputs` as data (throws ERR_BAD_ARGUMENT naming what cannot leave this process). */
export function graphToSpec(outputs: OutputOp[]): GraphSpec {
  const nodes: NodeSpec[] = [];
  const seen = new Set<number>();
  const plugins = new Map<string, { file: string; proto?: string; ops: string[] }>();
  const tsOps = new Map<string, TsOpSpec>();
  const types = new Set<string>();
  const ref = (c: Column): ColumnRef => {
    if (c.type !== 'Frame' && c.type !== 'any') types.add(c.type); // registered types (built-in ones are everywhere)
    return { node: c.node.id, index: c.index, type: c.type };
  };
  const visit = (n: GraphNode): void => {
    if (seen.has(n.id)) return;
    seen.add(n.id);
    n.inputs.forEach((c) => visit(c.node));
    if (n instanceof InputNode) {
      nodes.push({ id: n.id, kind: 'input', type: n.type, streams: n.streams.map((s, i) => streamSpec(s, `Input stream ${i}`)) });
    } else if (n instanceof OpNode) {
      const ts = tsOp(n.opName);
      if (ts) {
        if (!ts.module) throw new BadArgumentError(`${n.opName}: a TypeScript op with an inline kernel cannot run on workers; register it with module: { url, export } (and make the module available to every worker)`);
        tsOps.set(ts.name, { name: ts.name, inputs: ts.inputs, outputs: ts.outputs, stencil: ts.stencil, batch: ts.batch, boundedState: ts.boundedState, unboundedState: ts.unboundedState, device: ts.device, module: ts.module });
      } else {
        const source = pluginSource(n.opName);
        if (source) {
          const entry = plugins.get(source.file) ?? { ...source, ops: [] };
          if (!entry.ops.includes(n.opName)) entry.ops.push(n.opName);
          plugins.set(source.file, entry);
        }
      }
      const decl = ts ? undefined : opDeclarations().get(n.opName);
      const outputs = ts ? ts.outputs.length : (decl?.outputs.length ?? 1);
      nodes.push({ id: n.id, kind: 'op', op: n.opName, inputs: n.inputs.map(ref), outputs, args: encodeValue(n.args, `${n.opName} arguments`) as Record<string, SpecValue>, options: { ...n.options, stencil: [...n.options.stencil] } });
    } else if (n instanceof SampleNode) {
      nodes.push({ id: n.id, kind: 'sample', input: ref(n.input), samplings: n.samplings });
    } else if (n instanceof SliceNode) {
      nodes.push({
        id: n.id, kind: 'slice', input: ref(n.input),
        partitions: n.partitions.map((p, i) => {
          if (!p.spec) throw new BadArgumentError(`Slice: partition ${i} was not made by sc.partitioner and cannot be sent to workers`);
          return p.spec;
        }),
      });
    } else if (n instanceof UnsliceNode) {
      nodes.push({ id: n.id, kind: 'unslice', input: ref(n.input) });
    } else {
      throw new BadArgumentError(`graph: a node of kind ${n.constructor.name} cannot be sent to workers`);
    }
  };
  for (const o of outputs) visit(o.column.node);
  return {
    version: GRAPH_SPEC_VERSION,
    nodes,
    outputs: outputs.map((o, i) => ({ column: ref(o.column), compression: o.column.compression, streams: o.streams.map((s, k) => streamSpec(s, `Output ${i} stream ${k}`)) })),
    plugins: [...plugins.values()],
    tsOps: [...tsOps.values()],
    types: [...types],
  };
}

/**
 * Rebuilds a graph on `sc` (a worker's client): loads the plugins and registers the TypeScript
 * ops it names where they are missing, checks its column types are registered, and returns its
 * outputs. `where` names this process in errors (a worker's id).
 */
export async function graphFromSpec(sc: Client, spec: GraphSpec, where = 'this process'): Promise<OutputOp[]> {
  if (typeof spec !== 'object' || spec === null || spec.version !== GRAPH_SPEC_VERSION) {
    throw new BadArgumentError(`graph spec: expected version ${GRAPH_SPEC_VERSION}, got ${describe((spec as { version?: unknown } | null)?.version)} (client and worker run different vidgraph versions?)`);
  }
  for (const p of spec.plugins) {
    const missing = p.ops.filter((op) => !opDeclarations().has(op));
    if (missing.length === 0) continue;
    try {
      await sc.loadOp(p.file, p.proto);
    } catch (err) {
      throw new NotFoundError(`op${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: cannot load plugin '${p.file}' on ${where} (${(err as Error)?.message ?? String(err)}); make the plugin available at that path on every worker`, { cause: err });
    }
  }
  for (const t of spec.tsOps) {
    const have = tsOp(t.name);
    if (have?.module?.url === t.module.url && have.module.export === t.module.export) continue;
    if (have) throw new BadArgumentError(`${t.name}: ${where} has its own op of that name (from ${have.module?.url ?? 'an inline kernel'}), not the client's (${t.module.url})`);
    const typeArg = (name: string) => {
      const type = name === 'Frame' ? FrameType : typeNamed(name);
      if (!type) throw new NotFoundError(`${t.name}: column type '${name}' is not registered on ${where} (vg.registerType it in a module the worker loads)`);
      return type;
    };
    registerOp({
      name: t.name,
      inputs: Object.fromEntries(t.inputs.map((c) => [c.name, typeArg(c.type)])),
      outputs: Object.fromEntries(t.outputs.map((c) => [c.name, typeArg(c.type)])),
      stencil: t.stencil, batch: t.batch, boundedState: t.boundedState, unboundedState: t.unboundedState, device: t.device,
      module: t.module,
    });
  }
  for (const name of spec.types) {
    if (!typeNamed(name)) throw new NotFoundError(`column type '${name}' is not registered on ${where} (vg.registerType it in a module the worker loads)`);
  }
  const built = new Map<number, GraphNode>();
  const col = (r: ColumnRef): Column => {
    const node = built.get(r.node);
    if (!node) throw new BadArgumentError(`graph spec: node ${r.node} is read before it is defined`);
    return new Column(node, r.index, r.type);
  };
  const stream = (s: StreamSpec) => {
    switch (s.kind) {
      case 'video': return new NamedVideoStream(sc, s.name, { path: s.path, inplace: s.inplace, rotate: s.rotate });
      case 'stream': return new NamedStream(sc, s.name);
      case 'array': return new ArrayStream(s.values.map(decodeValue));
    }
  };
  for (const n of spec.nodes) {
    let node: GraphNode;
    switch (n.kind) {
      case 'input': node = new InputNode(n.streams.map(stream), n.type); break;
      case 'op': {
        if (!tsOp(n.op) && !opDeclarations().has(n.op)) throw new NotFoundError(`op '${n.op}' is not available on ${where}`);
        node = new OpNode(n.op, n.inputs.map(col), decodeValue(n.args) as Record<string, unknown>, n.options);
        break;
      }
      case 'sample': node = new SampleNode(col(n.input), n.samplings); break;
      case 'slice': node = new SliceNode(col(n.input), n.partitions.map(partitionFromSpec)); break;
      case 'unslice': node = new UnsliceNode(col(n.input)); break;
      default: throw new BadArgumentError(`graph spec: unknown node kind ${describe((n as { kind?: unknown }).kind)}`);
    }
    built.set(n.id, node);
  }
  return spec.outputs.map((o) => {
    const c = col(o.column);
    c.compression = o.compression;
    const streams = o.streams.map((s) => {
      const made = stream(s);
      if (made instanceof ArrayStream) throw new BadArgumentError('graph spec: an Output cannot be an ArrayStream');
      return made;
    });
    return new OutputOp(c, streams);
  });
}
