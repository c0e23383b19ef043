import * as fs from 'node:fs';
import * as path from 'node:path';
import { native, packageRoot } from './native';

/** This package's version. */
export const version: string = (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** Versions of vidgraph and of the FFmpeg libraries the engine runs with. */
export function versions(): Record<string, string> {
  return { vidgraph: version, node: process.versions.node, ...native().versions() };
}
