/**
 * `vidgraph types`: TypeScript declarations for plugin ops, written from their .proto (the
 * arguments) and, given the plugin, from the engine's own declaration of each op (its name and
 * columns). The output augments `vg.PluginOps`, so that `sc.ops.MyResize({...})` type-checks
 * with the arguments the engine will accept.
 */
import * as path from 'node:path';
import { BadArgumentError } from '../errors';
import { inspectPlugin } from '../plugins';
import { version } from '../version';

/** The part of protobufjs's reflection the generator reads. */
interface PbField {
  name: string;
  type: string;
  repeated: boolean;
  required: boolean;
  map?: boolean;
  keyType?: string;
  resolve(): PbField;
  resolvedType: PbType | PbEnum | null;
}
interface PbType {
  name: string;
  fullName: string;
  fieldsArray: PbField[];
}
interface PbEnum {
  name: string;
  fullName: string;
  values: Record<string, number>;
}
interface PbNamespace {
  nestedArray?: (PbNamespace | PbType | PbEnum)[];
  fieldsArray?: PbField[];
  values?: Record<string, number>;
}

export interface OpTypesOptions {
  /** The plugin library: its ops' names and columns come from the engine's declaration. */
  plugin?: string;
  /** Without a plugin: the op name for the (single) message (default: the message name without 'Args'). */
  op?: string;
}

const NUMBER_TYPES = new Set(['double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const key = (name: string): string => (IDENT.test(name) ? name : JSON.stringify(name));
/** A TypeScript name for a message or enum (its full name, dots made underscores). */
const tsName = (fullName: string): string => fullName.replace(/^\./, '').replace(/\./g, '_');

function allMessages(ns: PbNamespace, out: PbType[] = []): PbType[] {
  for (const n of ns.nestedArray ?? []) {
    if ('fieldsArray' in n && Array.isArray(n.fieldsArray)) out.push(n as PbType);
    if ('nestedArray' in n) allMessages(n as PbNamespace, out);
  }
  return out;
}

/** Writes interfaces for a message and every message and enum it uses. */
class Writer {
  private readonly done = new Set<string>();
  readonly blocks: string[] = [];

  message(t: PbType): string {
    const name = tsName(t.fullName);
    if (this.done.has(t.fullName)) return name;
    this.done.add(t.fullName);
    const lines = t.fieldsArray.map((f) => {
      f.resolve();
      const one = this.fieldType(f);
      // Arguments are per stream (a scalar for every stream, or one value per stream); repeated
      // fields are lists, given as arrays; map fields are objects.
      const type = f.map ? `Record<string, ${one}>` : f.repeated ? `readonly (${one})[]` : `vg.PerStream<${one}>`;
      return `  ${key(f.name)}${f.required ? '' : '?'}: ${type};`;
    });
    this.blocks.push(`/** Arguments of message ${t.fullName.replace(/^\./, '')}. */\nexport interface ${name} {\n${lines.join('\n')}\n}`);
    return name;
  }

  private fieldType(f: PbField): string {
    if (NUMBER_TYPES.has(f.type)) return 'number';
    if (f.type === 'bool') return 'boolean';
    if (f.type === 'string') return 'string';
    if (f.type === 'bytes') return 'Uint8Array';
    const r = f.resolvedType;
    if (r && 'values' in r && r.values) {
      const names = Object.keys(r.values).map((v) => JSON.stringify(v));
      return [...names, 'number'].join(' | ');
    }
    if (r && 'fieldsArray' in r) return this.message(r);
    return 'unknown';
  }
}

const COLUMN: Record<string, string> = { frame: 'vg.Column<vg.Frame>', bytes: 'vg.Column<Uint8Array>' };
const columnType = (t: string): string => COLUMN[t] ?? 'vg.Column';

interface OpShape {
  name: string;
  message?: PbType;
  inputs: { name: string; type: string }[];
  outputs: { name: string; type: string }[];
  variadic: boolean;
}

function signature(op: OpShape, args: string | undefined): string {
  const inputs = op.variadic
    ? `inputs: readonly ${columnType(op.inputs[0]?.type ?? 'any')}[]`
    : op.inputs.map((i) => `${key(i.name)}: ${columnType(i.type)}`).join('; ');
  const params = [`{ ${inputs} }`, ...(args ? [args] : []), 'vg.OpOptions'].join(' & ');
  const result = op.outputs.length === 1
    ? columnType(op.outputs[0]!.type)
    : op.outputs.length === 0 ? 'Record<string, never>' : `{ ${op.outputs.map((o) => `${key(o.name)}: ${columnType(o.type)}`).join('; ')} }`;
  return `${key(op.name)}(params: ${params}): ${result};`;
}

/** The declaration file for the ops of a .proto (and plugin). */
export async function opTypes(protoPath: string, opts: OpTypesOptions = {}): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const protobuf = require('protobufjs') as { load(p: string): Promise<PbNamespace & { lookupType(n: string): PbType }> };
  let root;
  try {
    root = await protobuf.load(path.resolve(protoPath));
  } catch (err) {
    throw new BadArgumentError(`cannot read proto file '${protoPath}': ${(err as Error).message}`, { cause: err });
  }
  const messages = allMessages(root);
  let ops: OpShape[];
  if (opts.plugin !== undefined) {
    const declared = await inspectPlugin(opts.plugin);
    ops = declared.map((d) => {
      let message: PbType | undefined;
      if (d.protoMessage) {
        try {
          message = root.lookupType(d.protoMessage);
        } catch {
          throw new BadArgumentError(`op '${d.name}' of plugin '${opts.plugin}' takes message '${d.protoMessage}', which '${protoPath}' does not define`);
        }
      }
      return { name: d.name, message, inputs: d.inputs, outputs: d.outputs, variadic: d.variadic };
    });
  } else {
    // An op's argument message is one that no other message uses as a field's type.
    const used = new Set<string>();
    for (const m of messages) {
      for (const f of m.fieldsArray) {
        f.resolve();
        if (f.resolvedType) used.add(f.resolvedType.fullName);
      }
    }
    const roots = messages.filter((m) => !used.has(m.fullName));
    if (roots.length === 0) throw new BadArgumentError(`'${protoPath}' defines no message`);
    if (opts.op !== undefined && roots.length > 1) throw new BadArgumentError(`--op names one op, but '${protoPath}' defines ${roots.length} argument messages (${roots.map((m) => m.name).join(', ')}); give --plugin instead`);
    // Without the plugin the columns are not known: each op is taken to read and return frames
    // (Scanner's tutorial op); --plugin reads the real ones.
    ops = roots.map((m) => ({
      name: opts.op ?? m.name.replace(/Args$/, ''),
      message: m,
      inputs: [{ name: 'frame', type: 'frame' }],
      outputs: [{ name: 'frame', type: 'frame' }],
      variadic: false,
    }));
  }
  for (const op of ops) if (!IDENT.test(op.name)) throw new BadArgumentError(`op name '${op.name}' is not an identifier`);
  const writer = new Writer();
  const sigs = ops.map((op) => `    /** Plugin op ${op.name}${op.message ? ` (arguments: message ${op.message.fullName.replace(/^\./, '')})` : ''}. */\n    ${signature(op, op.message ? writer.message(op.message) : undefined)}`);
  const source = opts.plugin !== undefined ? `${path.basename(protoPath)} --plugin ${path.basename(opts.plugin)}` : path.basename(protoPath);
  return [
    `// Generated by \`npx vidgraph types ${source}\` (vidgraph ${version}). Do not edit: generate it again.`,
    "import type * as vg from 'vidgraph';",
    '',
    "declare module 'vidgraph' {",
    '  interface PluginOps {',
    sigs.join('\n'),
    '  }',
    '}',
    '',
    ...writer.blocks.flatMap((b) => [b, '']),
  ].join('\n');
}
