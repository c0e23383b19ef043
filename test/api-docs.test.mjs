// The API reference (issue 13): TypeDoc builds it from lib/'s doc comments without a warning, every
// public class gets a page and every public function and method carries an @example.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const typedoc = path.join(root, 'node_modules', '.bin', 'typedoc');

// TypeDoc reflection kinds (typedoc's ReflectionKind).
const KIND = { Class: 128, Interface: 256, Function: 64, Method: 2048 };

/**
 * The classes lib/index.ts exports, read by the TypeScript compiler: `typeOnly` for those exported
 * with `export type` (the classes behind sc.io, sc.streams and sc.partitioner), which TypeDoc
 * renders as interfaces since they cannot be constructed through the package.
 */
let classesCache;
function exportedClasses() {
  if (classesCache) return classesCache;
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram([path.join(root, 'lib', 'index.ts')], config.options);
  const checker = program.getTypeChecker();
  const index = checker.getSymbolAtLocation(program.getSourceFile(path.join(root, 'lib', 'index.ts')));
  classesCache = checker.getExportsOfModule(index)
    .filter((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s).flags & ts.SymbolFlags.Class)
    .map((s) => {
      const decl = s.declarations?.[0];
      return { name: s.name, typeOnly: Boolean(decl && (decl.isTypeOnly || decl.parent?.parent?.isTypeOnly)) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return classesCache;
}

/**
 * Every function, and every method of an exported class, that TypeDoc documents, with whether it
 * has an @example. (Methods of plain interfaces, such as ColumnType.serialize, are callbacks the
 * user writes, not API to call.)
 */
function callables(project, classNames) {
  const out = [];
  for (const top of project.children ?? []) {
    const isClass = top.kind === KIND.Class || (top.kind === KIND.Interface && classNames.includes(top.name));
    const members = top.kind === KIND.Function ? [[top.name, top]]
      : isClass ? (top.children ?? []).filter((m) => m.kind === KIND.Method).map((m) => [`${top.name}.${m.name}`, m])
      : [];
    for (const [name, r] of members) {
      if (r.flags?.isExternal) continue; // inherited from Node's own types (Error.captureStackTrace)
      const hasExample = (r.signatures ?? []).some((s) => (s.comment?.blockTags ?? []).some((t) => t.tag === '@example'));
      out.push({ name, hasExample });
    }
  }
  return out;
}

describe('API reference', () => {
  let dir;
  let result;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vidgraph-api-docs-'));
    // One TypeDoc run (several seconds) for the whole file: HTML and the JSON model together.
    // Warnings are counted below rather than made fatal here, so that a warning does not also
    // hide the pages and the model the other tests read.
    result = spawnSync(typedoc, ['--out', path.join(dir, 'html'), '--json', path.join(dir, 'api.json'), '--treatWarningsAsErrors', 'false'],
      { cwd: root, encoding: 'utf8' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('npm run docs (typedoc) builds the reference with exit 0 and no warning', () => {
    const output = `${result.stdout}\n${result.stderr}`;
    assert.equal(result.status, 0, output);
    assert.doesNotMatch(output, /\[warning\]|\[error\]/, output);
    assert.ok(fs.existsSync(path.join(dir, 'html', 'index.html')));
  });

  test('typedoc.json makes any warning fatal for npm run docs', () => {
    const config = JSON.parse(fs.readFileSync(path.join(root, 'typedoc.json'), 'utf8'));
    assert.equal(config.treatWarningsAsErrors, true);
    assert.deepEqual(config.entryPoints, ['lib/index.ts']);
  });

  test('every class lib/index.ts exports has its own page', () => {
    const classes = exportedClasses();
    const names = classes.map((c) => c.name);
    assert.ok(names.includes('Client') && names.includes('VideoReader') && names.includes('StreamOps'), `class exports read from lib/index.ts: ${names}`);
    const pages = (kind) => fs.readdirSync(path.join(dir, 'html', kind)).map((f) => f.replace(/\.html$/, ''));
    const classPages = pages('classes');
    const interfacePages = pages('interfaces');
    const missing = classes.filter((c) => !classPages.includes(c.name) && !(c.typeOnly && interfacePages.includes(c.name)));
    assert.deepEqual(missing.map((c) => c.name), [], 'classes without a page');
  });

  test('every public function and method has an @example', () => {
    const project = JSON.parse(fs.readFileSync(path.join(dir, 'api.json'), 'utf8'));
    const all = callables(project, exportedClasses().map((c) => c.name));
    for (const name of ['VideoReader.frame', 'StreamOps.Stride', 'extractFrames']) assert.ok(all.some((c) => c.name === name), `the JSON model lists ${name}`);
    assert.deepEqual(all.filter((c) => !c.hasExample).map((c) => c.name), [], 'functions and methods without an @example');
  });
});
