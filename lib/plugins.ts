/**
 * sc.loadOp(): loads a C++ op plugin. The library is first loaded in a separate process, so a
 * plugin that crashes, hangs or exits while registering is reported (ERR_PLUGIN, ERR_TIMEOUT)
 * instead of taking this process down; then it is loaded here and its ops join the registry
 * next to the built-ins. Both loads are bounded by `timeout`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadArgumentError, ExistsError, fromNative, NotFoundError, PluginError, TimeoutError } from './errors';
import { isQuarantined, opDeclarations, ProtoType, quarantinePlugin, setPluginProto } from './graph/ops';
import { tsOp } from './kernels/ts-ops';
import { native, packageRoot } from './native';
import { describe, integer, knownKeys, optionalBoolean, plainObject } from './validate';

/** Options of `sc.loadOp`. */
export interface LoadOpOptions {
  /**
   * Milliseconds each of the two registrations (in the check process, then in this one) may
   * take; default 30000. A registration that does not return in time is ERR_TIMEOUT: the file
   * is not loaded, and after an in-process overrun it stays refused until the process restarts.
   */
  timeout?: number;
  /**
   * An op name the plugin declares that already exists (built in, or from another plugin) is
   * ERR_EXISTS and nothing is loaded, unless `replace: true`. TypeScript ops cannot be replaced.
   * Registration is all or nothing: argument messages are checked against the .proto and names
   * against the registry (atomically, in the engine) before any of the plugin's ops is registered.
   */
  replace?: boolean;
}

/** Where each loaded plugin op came from: its library and .proto (a graph sent to workers names them). */
const pluginSources = new Map<string, { file: string; proto?: string }>();

/** @internal The library and .proto an op was loaded from (undefined for other ops). */
export function pluginSource(op: string): { file: string; proto?: string } | undefined {
  return pluginSources.get(op);
}

/** Default bound on a plugin's registration (each of the check process and the real load). */
export const DEFAULT_LOAD_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1; // setTimeout's limit

/** What the check process learnt of a plugin's ops. */
export interface Declared {
  name: string;
  /** The protobuf message of its arguments ('' when it takes none). */
  protoMessage: string;
  /** Its columns, as the engine declares them ('frame', 'bytes' or 'any'). */
  inputs: { name: string; type: string }[];
  outputs: { name: string; type: string }[];
  variadic: boolean;
}

/**
 * Loads the plugin in a child process, which proves the registration completed by printing a
 * one-time token followed by the ops it registered once loadPlugin resolved: an exit code of 0
 * alone is not proof (the plugin may call exit() from inside its registration). The child loads
 * with replace (a clash is judged here, against this process's registry), and reports each
 * op's argument message, so that everything is checked before anything is registered here.
 */
function probe(file: string, timeout: number): Promise<Declared[]> {
  const token = randomBytes(12).toString('hex');
  const report = `(m, code) => process.stdout.write('\\n' + process.argv[1] + JSON.stringify(m) + '\\n', () => process.exit(code))`;
  const script = `const report = ${report};` +
    `const engine = require('node-gyp-build')(${JSON.stringify(packageRoot)});` +
    `engine.loadPlugin(${JSON.stringify(file)}, ${timeout}, true)` +
    `.then((names) => report({ names, ops: engine.ops().filter((o) => names.includes(o.name)).map((o) => ({ name: o.name, protoMessage: o.protoMessage, inputs: o.inputs, outputs: o.outputs, variadic: o.variadic })) }, 0),` +
    ` (e) => report({ error: { code: e && e.code, message: String(e && e.message) } }, 3));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, token], { cwd: packageRoot, env: { ...process.env }, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.stdout.on('data', (d) => { stdout += d; });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new PluginError(`plugin '${file}': cannot start the check process: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(token));
      let said: { names?: string[]; ops?: Declared[]; error?: { code?: string; message: string } } = {};
      try {
        if (line !== undefined) said = JSON.parse(line.slice(token.length)) as typeof said;
      } catch { /* a garbled line proves nothing */ }
      if (timedOut) reject(new TimeoutError(`loadOp: plugin '${file}' did not finish registering its ops within ${timeout} ms (in the check process); it was not loaded`));
      else if (code === 0 && Array.isArray(said.names)) {
        resolve(said.names.map((name) => {
          const op = said.ops?.find((o) => o.name === name);
          return { name, protoMessage: op?.protoMessage ?? '', inputs: op?.inputs ?? [], outputs: op?.outputs ?? [], variadic: op?.variadic === true };
        }));
      }
      else if (code === 3 && said.error) reject(fromNative(Object.assign(new Error(said.error.message), { code: said.error.code ?? 'ERR_PLUGIN' })));
      else if (signal) reject(new PluginError(`plugin '${file}': crashed while registering its ops (${signal}); it was not loaded`));
      else reject(new PluginError(`plugin '${file}': ended the check process while registering its ops (exit code ${code} before its registration returned); it was not loaded`));
    });
  });
}

/**
 * The ops a plugin declares (names, argument messages, columns), learnt in a separate process:
 * nothing is registered here, and a plugin that crashes or hangs is an error, not a crash.
 */
export async function inspectPlugin(soPath: string, timeout = DEFAULT_LOAD_TIMEOUT_MS): Promise<Declared[]> {
  const file = path.resolve(soPath);
  if (!fs.existsSync(file)) throw new NotFoundError(`plugin '${file}' does not exist`);
  return probe(file, timeout);
}

/** The in-process registration, bounded: on overrun the file is quarantined (its ops stay hidden). */
async function loadHere(file: string, timeout: number, replace: boolean): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      quarantinePlugin(file);
      reject(new TimeoutError(`loadOp: plugin '${file}' did not finish registering its ops within ${timeout} ms; it was not loaded and stays refused until the process restarts`));
    }, timeout);
    timer.unref();
  });
  const loading = native().loadPlugin(file, timeout, replace);
  loading.catch(() => undefined);
  try {
    return await Promise.race([loading, overrun]);
  } catch (err) {
    if (err instanceof TimeoutError) throw err;
    throw fromNative(err);
  } finally {
    clearTimeout(timer);
  }
}

export async function loadOp(soPath: string, protoPath?: string, optsArg?: LoadOpOptions): Promise<string[]> {
  const opts = plainObject('loadOp', 'options', optsArg);
  knownKeys('loadOp', opts, ['timeout', 'replace']);
  optionalBoolean('loadOp', 'replace', opts.replace);
  const timeout = opts.timeout === undefined ? DEFAULT_LOAD_TIMEOUT_MS : integer('loadOp', 'timeout (ms)', opts.timeout, { min: 1, max: MAX_TIMEOUT_MS });
  if (typeof soPath !== 'string' || soPath.length === 0) throw new BadArgumentError(`loadOp: expected the path of a plugin shared library, got ${describe(soPath)}`);
  if (protoPath !== undefined && (typeof protoPath !== 'string' || protoPath.length === 0)) throw new BadArgumentError(`loadOp: expected the path of a .proto file, got ${describe(protoPath)}`);
  const file = path.resolve(soPath);
  if (!fs.existsSync(file)) throw new NotFoundError(`loadOp: plugin '${file}' does not exist`);
  let root: { lookupType(name: string): ProtoType } | undefined;
  if (protoPath !== undefined) {
    const proto = path.resolve(protoPath);
    if (!fs.existsSync(proto)) throw new NotFoundError(`loadOp: proto file '${proto}' does not exist`);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const protobuf = require('protobufjs') as { load(p: string): Promise<{ lookupType(name: string): ProtoType }> };
      root = await protobuf.load(proto);
    } catch (err) {
      throw new BadArgumentError(`loadOp: cannot read proto file '${proto}': ${(err as Error).message}`, { cause: err });
    }
  }
  if (isQuarantined(file)) throw new PluginError(`plugin '${file}': did not finish registering in time earlier; it stays unloaded until the process restarts`);
  const declared = await probe(file, timeout);
  // Names the plugin would take from another op (a built-in, another plugin, a TypeScript op).
  const taken = declared.flatMap(({ name }) => {
    if (tsOp(name)) return [`'${name}' (a TypeScript op)`];
    const existing = opDeclarations().get(name);
    if (!existing || existing.plugin === file || opts.replace) return [];
    return [`'${name}' (${existing.plugin ? `from plugin '${existing.plugin}'` : 'built in'})`];
  });
  if (taken.length > 0) {
    throw new ExistsError(`loadOp: plugin '${file}' declares op names already taken: ${taken.join(', ')}${opts.replace ? '' : ' (pass { replace: true } to replace engine ops)'}; it was not loaded`);
  }
  // Every op's argument message, before anything is registered: all of the plugin's ops load, or none.
  const types = new Map<string, ProtoType>();
  for (const { name, protoMessage: message } of declared) {
    if (!message) continue;
    if (!root) throw new BadArgumentError(`loadOp: op '${name}' takes arguments of message '${message}': pass its .proto file to loadOp; plugin '${file}' was not loaded`);
    try {
      types.set(name, root.lookupType(message));
    } catch {
      throw new BadArgumentError(`loadOp: op '${name}' declares argument message '${message}', which '${protoPath}' does not define; plugin '${file}' was not loaded`);
    }
  }
  // The engine checks the names again, atomically with registering them (ERR_EXISTS unless replace).
  const names = await loadHere(file, timeout, opts.replace === true);
  for (const name of names) {
    setPluginProto(name, types.get(name));
    pluginSources.set(name, { file, proto: protoPath === undefined ? undefined : path.resolve(protoPath) });
  }
  setPluginProto('', undefined); // refresh the registry view
  return names;
}
