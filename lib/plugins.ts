/**
 * sc.loadOp(): loads a C++ op plugin. The library is first loaded in a separate process, so a
 * plugin that crashes while registering is reported (ERR_PLUGIN) instead of taking this process
 * down; then it is loaded here and its ops join the registry next to the built-ins.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadArgumentError, fromNative, NotFoundError, PluginError } from './errors';
import { opDeclarations, ProtoType, setPluginProto } from './graph/ops';
import { native, packageRoot } from './native';
import { describe } from './validate';

function probe(file: string): Promise<void> {
  const script = `require('node-gyp-build')(${JSON.stringify(packageRoot)}).loadPlugin(${JSON.stringify(file)})` +
    `.then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.message)); process.exit(3); });`;
  const env = { ...process.env };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: packageRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => reject(new PluginError(`plugin '${file}': cannot start the check process: ${e.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else if (signal) reject(new PluginError(`plugin '${file}': crashed while registering its ops (${signal}); it was not loaded`));
      else reject(new PluginError(stderr.trim() || `plugin '${file}': failed to load (exit ${code})`));
    });
  });
}

export async function loadOp(soPath: string, protoPath?: string): Promise<string[]> {
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
  await probe(file);
  let names: string[];
  try {
    names = await native().loadPlugin(file);
  } catch (err) {
    throw fromNative(err);
  }
  setPluginProto('', undefined); // refresh the registry view
  for (const name of names) {
    const decl = opDeclarations().get(name);
    const message = native().ops().find((o) => o.name === name)?.protoMessage;
    if (!decl || !message) continue;
    if (!root) throw new BadArgumentError(`loadOp: op '${name}' takes arguments of message '${message}': pass its .proto file to loadOp`);
    let type: ProtoType;
    try {
      type = root.lookupType(message);
    } catch {
      throw new BadArgumentError(`loadOp: op '${name}' declares argument message '${message}', which '${protoPath}' does not define`);
    }
    setPluginProto(name, type);
  }
  return names;
}
