import * as fs from 'node:fs';
import * as path from 'node:path';
import { enginePath, native, packageRoot } from './native';

/** This package's version. */
export const version: string = (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Versions of vidgraph, of the FFmpeg and OpenCV libraries the engine runs with, FFmpeg's
 * licence (the prebuilt engine's is LGPL) and `engine`: the binary that loaded.
 *
 * @example
 * console.log(vg.versions().engine); // .../node_modules/vidgraph/prebuilds/linux-x64/vidgraph.napi.glibc.node
 */
export function versions(): Record<string, string> {
  const engine = native().versions();
  return { vidgraph: version, node: process.versions.node, ...engine, engine: enginePath };
}
