// A consumer TypeScript project around the built package: the README's code samples (extracted),
// examples/*.mjs (checked as JavaScript) and the fixtures in this directory, compiled with
// `tsc --strict --noEmit` against `import * as vg from 'vidgraph'` as a user's project sees it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The README's ```js and ```ts blocks, in order, with the line each starts on. */
export function readmeSamples(file = path.join(root, 'README.md')) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out = [];
  let cur;
  lines.forEach((line, i) => {
    if (!cur && /^```(js|ts|javascript|typescript)\s*$/.test(line)) cur = { line: i + 2, code: [] };
    else if (cur && /^```\s*$/.test(line)) {
      out.push({ line: cur.line, code: cur.code.join('\n') });
      cur = undefined;
    } else if (cur) cur.code.push(line);
  });
  return out;
}

/**
 * One module per README block: its imports hoisted, the rest in a block scope, after a preamble
 * that declares what the README's prose has in scope by then (a client, a frame column).
 */
export function sampleModule({ line, code }) {
  const imports = code.split('\n').filter((l) => /^import\s/.test(l));
  const body = code.split('\n').filter((l) => !/^import\s/.test(l));
  return [
    `// README.md line ${line}`,
    ...(imports.some((l) => /from 'vidgraph'/.test(l)) ? [] : ["import * as vg from 'vidgraph';"]),
    ...imports,
    'declare const sc: vg.Client;',
    'declare const frames: vg.Column<vg.Frame>;',
    '{',
    ...body,
    '}',
    'export {};',
    '',
  ].join('\n');
}

/**
 * Writes a consumer project in a temporary directory (node_modules/vidgraph is this package)
 * with the given files, runs tsc, and returns its diagnostics as { file, line, code, message }.
 */
export function compileConsumer(files, { js = false, links = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-consumer-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'vidgraph'), 'dir');
    fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'), 'dir');
    // Packages the sources import besides vidgraph (from this repository's node_modules).
    for (const name of links) {
      fs.mkdirSync(path.dirname(path.join(dir, 'node_modules', name)), { recursive: true });
      fs.symlinkSync(path.join(root, 'node_modules', name), path.join(dir, 'node_modules', name), 'dir');
    }
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        lib: ['ES2022', 'ESNext.AsyncIterable', 'ESNext.Disposable', 'DOM'], types: ['node'],
        // Our declarations are checked; other packages' (opencv4nodejs, tfjs) have errors of their own.
        skipLibCheck: links.length > 0,
        ...(js ? { allowJs: true, checkJs: true } : {}),
      },
      include: ['src/**/*'],
    }));
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, 'src', name)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'src', name), text);
    }
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
    const diagnostics = [];
    for (const l of (r.stdout + r.stderr).split('\n')) {
      const m = /^src\/(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(l);
      if (m) diagnostics.push({ file: m[1], line: Number(m[2]), code: m[3], message: m[4] });
      else if (/error TS/.test(l)) diagnostics.push({ file: '', line: 0, code: 'TS?', message: l });
    }
    return { status: r.status, diagnostics, output: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
