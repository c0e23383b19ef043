/**
 * The op registry as the graph sees it: names, input and output columns, argument schemas.
 * Built-in ops are declared by the engine (native registry) with their argument schemas here;
 * `sc.ops.Name({...})` validates against them and records an op node.
 */
import { distance as editDistance } from 'fastest-levenshtein';
import { BadArgumentError, NotFoundError } from '../errors';
import { native } from '../native';
import { describe } from '../validate';
import { ArgValue, Column, OpNode, OpOptions } from './graph';
import type { Ops } from './op-types';
import { tsOp, tsOpNames } from '../kernels/ts-ops';

type ArgSchema =
  | { kind: 'int'; min?: number; max?: number; odd?: boolean; required?: boolean }
  | { kind: 'number'; min?: number; max?: number; exclusive?: boolean; required?: boolean }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[]; required?: boolean }
  | { kind: 'string'; required?: boolean };

export interface OpDeclaration {
  name: string;
  inputs: { name: string; type: string }[];
  /** Output columns; type 'same' means the type of the first input. */
  outputs: { name: string; type: string }[];
  stencil: number[];
  args: Record<string, ArgSchema>;
  /** Defaults declared by the op (plugins). */
  boundedState?: number;
  unboundedState?: boolean;
  batch?: number;
  /** Plugin ops: the argument message (from the .proto given to loadOp). */
  proto?: ProtoType;
  plugin?: string;
  /** Any number of input columns, given as `inputs: [col, ...]`. */
  variadic?: boolean;
}

/** The part of a protobufjs Type the graph uses. */
export interface ProtoType {
  name: string;
  fields: Record<string, { type: string; repeated: boolean; resolvedType?: { values?: Record<string, number> } | null }>;
  fromObject(o: Record<string, unknown>): unknown;
  encode(m: unknown): { finish(): Uint8Array };
}

const pluginProtos = new Map<string, ProtoType>();

/** @internal Records a plugin op's argument message (after loadOp) and refreshes the registry view. */
export function setPluginProto(op: string, type: ProtoType | undefined): void {
  if (op && type) pluginProtos.set(op, type);
  else if (op) pluginProtos.delete(op); // a replacing op without arguments
  declarations = undefined;
}

/** Plugins whose in-process registration overran its time (loadOp's timeout): their ops stay hidden. */
const quarantined = new Set<string>();

/** @internal Hides a plugin's ops for the life of the process (its registration may still finish). */
export function quarantinePlugin(file: string): void {
  quarantined.add(file);
  declarations = undefined;
}

/** @internal */
export function isQuarantined(file: string): boolean {
  return quarantined.has(file);
}

/** ConvertColor's conversions: the names cpp/kernels/builtin_ops.cpp (conversionCode) maps to OpenCV codes. */
const CONVERSIONS = [
  'COLOR_RGB2GRAY', 'COLOR_BGR2GRAY', 'COLOR_GRAY2RGB', 'COLOR_GRAY2BGR', 'COLOR_RGB2BGR', 'COLOR_BGR2RGB',
  'COLOR_RGB2RGBA', 'COLOR_RGBA2RGB', 'COLOR_RGB2HSV', 'COLOR_HSV2RGB', 'COLOR_RGB2HLS', 'COLOR_HLS2RGB',
  'COLOR_RGB2Lab', 'COLOR_Lab2RGB', 'COLOR_RGB2Luv', 'COLOR_RGB2YCrCb', 'COLOR_YCrCb2RGB', 'COLOR_RGB2XYZ',
  'COLOR_RGB2YUV', 'COLOR_YUV2RGB',
] as const;

const INTERPOLATIONS = ['INTER_NEAREST', 'INTER_LINEAR', 'INTER_CUBIC', 'INTER_AREA', 'INTER_LANCZOS4', 'INTER_LINEAR_EXACT', 'INTER_NEAREST_EXACT'] as const;

/**
 * Argument schemas and output types of the built-in ops (their kernels live in cpp/kernels).
 * Every numeric argument is bounded by what the op can do in sensible time and memory;
 * cpp/kernels/builtin_ops.cpp checks the same bounds.
 */
const BUILTIN: Record<string, { args: Record<string, ArgSchema>; outputTypes?: Record<string, string> }> = {
  Resize: { args: { width: { kind: 'int', min: 1, max: 16384, required: true }, height: { kind: 'int', min: 1, max: 16384, required: true }, interpolation: { kind: 'enum', values: INTERPOLATIONS }, preserveAspect: { kind: 'bool' } } },
  ConvertColor: { args: { conversion: { kind: 'enum', values: CONVERSIONS, required: true } } },
  Blur: { args: { kernelSize: { kind: 'int', min: 1, max: 255, odd: true }, sigma: { kind: 'number', min: 0, max: 100 } } },
  Histogram: { args: {}, outputTypes: { histogram: 'Histogram' } },
  OpticalFlow: {
    args: {
      pyrScale: { kind: 'number', min: 0, max: 1, exclusive: true }, levels: { kind: 'int', min: 1, max: 32 }, winSize: { kind: 'int', min: 1, max: 255 },
      iterations: { kind: 'int', min: 1, max: 100 }, polyN: { kind: 'int', min: 3, max: 15 }, polySigma: { kind: 'number', min: 0, max: 10 },
    },
  },
  CloneChannels: { args: { replications: { kind: 'int', min: 1, max: 64 } } },
  ImageEncoder: { args: { format: { kind: 'enum', values: ['png', 'jpeg'] }, quality: { kind: 'int', min: 0, max: 100 } }, outputTypes: { img: 'Image' } },
  ImageDecoder: { args: {} },
  FrameInfo: { args: {}, outputTypes: { info: 'Json' } },
  Pass: { args: {}, outputTypes: { output: 'same' } },
  Discard: { args: {} },
};

let declarations: Map<string, OpDeclaration> | undefined;

export function opDeclarations(): Map<string, OpDeclaration> {
  if (declarations) return declarations;
  declarations = new Map();
  for (const op of native().ops()) {
    if (op.plugin && quarantined.has(op.plugin)) continue;
    const extra = BUILTIN[op.name];
    declarations.set(op.name, {
      name: op.name,
      inputs: op.inputs.map((c) => ({ name: c.name, type: c.type === 'frame' ? 'Frame' : c.type === 'bytes' ? 'Bytes' : 'any' })),
      outputs: op.outputs.map((c) => ({ name: c.name, type: extra?.outputTypes?.[c.name] ?? (c.type === 'frame' ? 'Frame' : 'Bytes') })),
      stencil: op.stencil,
      args: extra?.args ?? {},
      boundedState: op.boundedState,
      unboundedState: op.unboundedState,
      batch: op.batch,
      proto: pluginProtos.get(op.name),
      plugin: op.plugin || undefined,
      variadic: op.variadic,
    });
  }
  return declarations;
}

/** Edit distance ignoring case, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  return editDistance(a.toLowerCase(), b.toLowerCase());
}

/** A TypeScript op's declaration (its arguments are free-form: the kernel reads config.args). */
function tsDeclaration(name: string): (OpDeclaration & { ts: true }) | undefined {
  const op = tsOp(name);
  return op && { name: op.name, inputs: op.inputs, outputs: op.outputs, stencil: op.stencil, args: {}, ts: true };
}

export function findOpDeclaration(name: string): OpDeclaration {
  const decl = tsDeclaration(name) ?? opDeclarations().get(name);
  if (decl) return decl;
  const names = [...tsOpNames(), ...opDeclarations().keys()];
  const near = new Map(names.map((n) => [n, distance(n, name)]));
  const close = names.filter((n) => near.get(n)! <= Math.max(2, Math.floor(n.length / 3))).sort((a, b) => near.get(a)! - near.get(b)!);
  throw new NotFoundError(`no op named '${name}'${close.length ? ` (did you mean ${close.map((c) => `'${c}'`).join(' or ')}?)` : ''}; known ops: ${names.join(', ')}`);
}

const RESERVED = ['device', 'batch', 'stencil', 'boundedState', 'unboundedState'];

function range(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return ` between ${min} and ${max}`;
  if (min !== undefined) return ` >= ${min}`;
  return max !== undefined ? ` <= ${max}` : '';
}

function checkArg(op: string, name: string, schema: ArgSchema, value: unknown, jobs: string): ArgValue {
  const fail = (expected: string): never => {
    throw new BadArgumentError(`${op}: expected ${expected} for argument '${name}'${jobs}, got ${describe(value)}`);
  };
  switch (schema.kind) {
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(schema.odd ? 'an odd integer' : 'an integer');
      const v = value as number;
      const what = `${schema.odd ? 'an odd' : 'an'} integer${range(schema.min, schema.max)}`;
      if ((schema.min !== undefined && v < schema.min) || (schema.max !== undefined && v > schema.max)) fail(what);
      if (schema.odd && v % 2 === 0) fail(what);
      return v;
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) fail('a number');
      const v = value as number;
      const what = `a number${range(schema.min, schema.max)}${schema.exclusive ? ' (exclusive)' : ''}`;
      if (schema.min !== undefined && (v < schema.min || (schema.exclusive && v === schema.min))) fail(what);
      if (schema.max !== undefined && (v > schema.max || (schema.exclusive && v === schema.max))) fail(what);
      return v;
    }
    case 'bool':
      if (typeof value !== 'boolean') fail('a boolean');
      return value as boolean;
    case 'enum': {
      if (typeof value === 'string' && schema.values.includes(value)) return value;
      const near = typeof value === 'string' ? [...schema.values].sort((a, b) => distance(a, value) - distance(b, value))[0] : undefined;
      const hint = near !== undefined && distance(near, value as string) <= 3 ? ` (did you mean '${near}'?)` : '';
      throw new BadArgumentError(`${op}: expected one of ${schema.values.map((v) => `'${v}'`).join(', ')} for argument '${name}'${jobs}, got ${describe(value)}${hint}`);
    }
    case 'string':
      if (typeof value !== 'string' || value.length === 0) fail('a non-empty string');
      return value as string;
  }
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1], sint32: [-(2 ** 31), 2 ** 31 - 1], sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1], fixed32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], sint64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], sfixed64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER], fixed64: [0, Number.MAX_SAFE_INTEGER],
};

/** Checks a plugin op argument against its protobuf field (scalar for every stream, or one per stream). */
function checkProtoArg(decl: OpDeclaration, key: string, value: unknown): unknown {
  const op = decl.name;
  if (!decl.proto) throw new BadArgumentError(`${op}: this op takes no arguments${decl.plugin ? ' (or its .proto was not given to loadOp)' : ''}, got '${key}'`);
  const field = decl.proto.fields[key];
  if (!field) throw new BadArgumentError(`${op}: unknown argument '${key}' (fields of ${decl.proto.name}: ${Object.keys(decl.proto.fields).join(', ')})`);
  const one = (v: unknown, suffix: string): unknown => {
    const fail = (expected: string): never => {
      throw new BadArgumentError(`${op}: expected ${expected} for argument '${key}' (${field.type} in ${decl.proto!.name})${suffix}, got ${describe(v)}`);
    };
    const range = INT_RANGES[field.type];
    if (range) {
      if (typeof v !== 'number' || !Number.isInteger(v)) fail('an integer');
      if ((v as number) < range[0] || (v as number) > range[1]) fail(`an integer between ${range[0]} and ${range[1]}`);
    } else if (field.type === 'float' || field.type === 'double') {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail('a number');
    } else if (field.type === 'bool') {
      if (typeof v !== 'boolean') fail('a boolean');
    } else if (field.type === 'string') {
      if (typeof v !== 'string') fail('a string');
    } else if (field.type === 'bytes') {
      if (!(v instanceof Uint8Array)) fail('a Uint8Array');
    } else if (field.resolvedType?.values) {
      const values = field.resolvedType.values;
      if (!(typeof v === 'string' && v in values) && !(typeof v === 'number' && Object.values(values).includes(v))) fail(`one of ${Object.keys(values).join(', ')}`);
    } else if (typeof v !== 'object' || v === null) {
      fail('an object');
    }
    return v;
  };
  if (field.repeated) {
    if (!Array.isArray(value)) throw new BadArgumentError(`${op}: expected an array for repeated argument '${key}', got ${describe(value)}`);
    value.forEach((v, i) => one(v, ` [${i}]`));
    return value;
  }
  return Array.isArray(value) ? value.map((v, i) => one(v, ` (stream ${i})`)) : one(value, '');
}

/** Encodes a plugin op's arguments (resolved for one job) with its protobuf message. */
export function encodePluginArgs(op: string, args: Record<string, unknown>): Uint8Array {
  const type = pluginProtos.get(op);
  if (!type) return new Uint8Array(0);
  return type.encode(type.fromObject(args)).finish();
}

/** Validates a call `sc.ops.Name({...})` and returns the op's output column(s). */
export function callOp(name: string, params: unknown): Column | Record<string, Column> {
  const decl = findOpDeclaration(name);
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new BadArgumentError(`${name}: expected an object of inputs and arguments, got ${describe(params)}`);
  }
  const p = params as Record<string, unknown>;
  // Inputs: every declared input column by name (a variadic op: `inputs: [col, ...]`).
  const inputs: Column[] = [];
  if (decl.variadic) {
    const cols = p.inputs;
    if (!Array.isArray(cols) || cols.length === 0 || !cols.every((c) => c instanceof Column)) {
      throw new BadArgumentError(`${name}: expected inputs as a non-empty array of columns, got ${describe(cols)}`);
    }
    for (const c of cols as Column[]) {
      if (decl.inputs[0]?.type === 'Frame' && c.type !== 'Frame' && c.type !== 'any') throw new BadArgumentError(`${name}: every input needs frames, but a column holds ${c.type}`);
      inputs.push(c);
    }
  }
  for (const input of decl.variadic ? [] : decl.inputs) {
    const c = p[input.name];
    if (!(c instanceof Column)) throw new BadArgumentError(`${name}: expected a column for input '${input.name}', got ${describe(c)}`);
    if (input.type === 'Frame' && c.type !== 'Frame' && c.type !== 'any') throw new BadArgumentError(`${name}: input '${input.name}' needs frames, but the column holds ${c.type}`);
    inputs.push(c);
  }
  // Reserved options (a TypeScript op's registration gives its defaults).
  const ts = tsOp(name);
  const options: OpOptions = ts
    ? { device: ts.device, batch: ts.batch, stencil: ts.stencil, boundedState: ts.boundedState, unboundedState: ts.unboundedState }
    : { device: 'cpu', batch: decl.batch ?? 1, stencil: decl.stencil, boundedState: decl.boundedState ?? 0, unboundedState: decl.unboundedState ?? false };
  if (p.device !== undefined) {
    if (p.device !== 'cpu' && p.device !== 'gpu') throw new BadArgumentError(`${name}: expected device vg.DeviceType.CPU or vg.DeviceType.GPU, got ${describe(p.device)}`);
    options.device = p.device;
  }
  if (p.batch !== undefined) {
    if (typeof p.batch !== 'number' || !Number.isInteger(p.batch) || p.batch < 1) throw new BadArgumentError(`${name}: expected integer batch > 0, got ${describe(p.batch)}`);
    options.batch = p.batch;
  }
  if (p.stencil !== undefined) {
    if (!Array.isArray(p.stencil) || p.stencil.length === 0 || !p.stencil.every((x) => Number.isInteger(x))) throw new BadArgumentError(`${name}: expected stencil as an array of integer offsets, got ${describe(p.stencil)}`);
    if (!ts && p.stencil.length !== decl.stencil.length) throw new BadArgumentError(`${name}: this op takes a stencil of ${decl.stencil.length} offset(s) ([${decl.stencil.join(', ')}])`);
    options.stencil = p.stencil as number[];
  }
  if (p.boundedState !== undefined) {
    if (typeof p.boundedState !== 'number' || !Number.isInteger(p.boundedState) || p.boundedState < 0) throw new BadArgumentError(`${name}: expected integer boundedState >= 0, got ${describe(p.boundedState)}`);
    options.boundedState = p.boundedState;
  }
  // Arguments: scalar for every stream, or an array with one value per stream.
  const args: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(p)) {
    if (RESERVED.includes(key) || decl.inputs.some((i) => i.name === key) || (decl.variadic && key === 'inputs')) continue;
    if (ts) {
      args[key] = value;
      continue;
    }
    if (decl.plugin) {
      args[key] = checkProtoArg(decl, key, value);
      continue;
    }
    const schema = decl.args[key];
    if (!schema) {
      const known = Object.keys(decl.args);
      throw new BadArgumentError(`${name}: unknown argument '${key}'${known.length ? ` (arguments: ${known.join(', ')})` : ' (this op takes no arguments)'}`);
    }
    args[key] = Array.isArray(value) ? value.map((v, i) => checkArg(name, key, schema, v, ` (stream ${i})`)) : checkArg(name, key, schema, value, '');
  }
  for (const [key, schema] of Object.entries(decl.args)) {
    if ('required' in schema && schema.required && args[key] === undefined) throw new BadArgumentError(`${name}: missing required argument '${key}'`);
  }
  const node = new OpNode(name, inputs, args, options);
  const cols = decl.outputs.map((o, i) => new Column(node, i, o.type === 'same' ? inputs[0]!.type : o.type));
  if (cols.length === 1) return cols[0]!;
  return Object.fromEntries(decl.outputs.map((o, i) => [o.name, cols[i]!]));
}

/** `sc.ops.call(name | handle, params)`: any op by name, or a TypeScript op by its handle. */
function callByName(op: unknown, params: unknown): Column | Record<string, Column> {
  const name = typeof op === 'object' && op !== null && typeof (op as { name?: unknown }).name === 'string' ? (op as { name: string }).name : op;
  if (typeof name !== 'string' || name.length === 0) throw new BadArgumentError(`ops.call: expected an op name or the handle registerOp returned, got ${describe(op)}`);
  return callOp(findOpDeclaration(name).name, params);
}

/**
 * `sc.ops`: any property is an op constructor; unknown names throw ERR_NOT_FOUND. `call` is
 * the escape hatch for ops known only at run time (an op named 'call' is reached through it).
 */
export function opsProxy(): Ops {
  return new Proxy({} as Ops, {
    get(_target, prop) {
      if (typeof prop !== 'string') return undefined;
      if (prop === 'then') return undefined; // not a thenable
      if (prop === 'call') return callByName;
      const decl = findOpDeclaration(prop);
      return (params: Record<string, unknown>) => callOp(decl.name, params);
    },
    has(_target, prop) {
      return typeof prop === 'string' && (tsOp(prop) !== undefined || opDeclarations().has(prop));
    },
    ownKeys() {
      return [...new Set([...tsOpNames(), ...opDeclarations().keys()])];
    },
    getOwnPropertyDescriptor(_target, prop) {
      return typeof prop === 'string' && (tsOp(prop) !== undefined || opDeclarations().has(prop)) ? { enumerable: true, configurable: true } : undefined;
    },
  });
}
