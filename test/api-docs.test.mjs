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
const KIND = { Class: 128, Function: 64, Method: 2048 };

/** The classes lib/index.ts exports (values and `export type`), read by the TypeScript compiler. */
function exportedClasses() {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram([path.join(root, 'lib', 'index.ts')], config.options);
  const checker = program.getTypeChecker();
  const index = checker.getSymbolAtLocation(program.getSourceFile(path.join(root, 'lib', 'index.ts')));
  return checker.getExportsOfModule(index)
    .filter((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s).flags & ts.SymbolFlags.Class)
    .map((s) => s.name)
    .sort();
}

/** Every function, and every method of a class, that TypeDoc documents, with whether it has an @example. */
function callables(project) {
  const out = [];
  for (const top of project.children ?? []) {
    const members = top.kind === KIND.Function ? [[top.name, top]]
      : top.kind === KIND.Class ? (top.children ?? []).filter((m) => m.kind === KIND.Method).map((m) => [`${top.name}.${m.name}`, m])
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
    assert.ok(classes.includes('Client') && classes.includes('VideoReader'), `class exports read from lib/index.ts: ${classes}`);
    const pages = fs.readdirSync(path.join(dir, 'html', 'classes')).map((f) => f.replace(/\.html$/, ''));
    assert.deepEqual(classes.filter((c) => !pages.includes(c)), [], 'classes without a page');
  });

  test('every public function and method has an @example', () => {
    const project = JSON.parse(fs.readFileSync(path.join(dir, 'api.json'), 'utf8'));
    const all = callables(project);
    assert.ok(all.some((c) => c.name === 'VideoReader.frame'), 'the JSON model lists VideoReader.frame');
    assert.deepEqual(all.filter((c) => !c.hasExample).map((c) => c.name), [], 'functions and methods without an @example');
  });
});
