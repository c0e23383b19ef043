// The public types carry the API contract: a consumer project compiled with `tsc --strict`
// accepts the README's samples, examples/ and test/types/fixtures/typed.ts, and rejects each
// mistake in test/types/fixtures/must-fail.ts with the expected error. `vidgraph types` writes
// plugin-op declarations that compile and check arguments.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { compileConsumer, readmeSamples, root, sampleModule } from './types/consumer.mjs';

const fixture = (name) => fs.readFileSync(path.join(root, 'test', 'types', 'fixtures', name), 'utf8');
const cli = (...args) => execFileSync(process.execPath, [path.join(root, 'bin', 'vidgraph.js'), ...args], { encoding: 'utf8' });
const show = (r) => r.diagnostics.map((d) => `${d.file}:${d.line} ${d.code} ${d.message}`).join('\n');

function examples() {
  const files = {};
  const walk = (dir) => {
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, f.name);
      if (f.isDirectory() && f.name !== 'node_modules' && f.name !== 'build') walk(p);
      else if (/\.(mjs|js|ts)$/.test(f.name)) files[path.relative(root, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(path.join(root, 'examples'));
  return files;
}

describe('types in a consumer project (tsc --strict)', () => {
  test('every README code sample and the typed fixture compile', () => {
    const samples = readmeSamples();
    assert.ok(samples.length >= 6, `expected the README's code samples, found ${samples.length}`);
    const files = { 'typed.ts': fixture('typed.ts'), 'myresize.d.ts': cli('types', path.join(root, 'examples', 'custom-op', 'resize.proto')) };
    samples.forEach((s, i) => { files[`readme-${i}.ts`] = sampleModule(s); });
    const r = compileConsumer(files);
    assert.deepEqual(r.diagnostics, [], `tsc reported:\n${show(r)}`);
    assert.equal(r.status, 0, r.output);
  });

  test('every example under examples/ type-checks as JavaScript (checkJs, strict)', () => {
    const files = examples();
    assert.ok(Object.keys(files).some((f) => f.endsWith('myresize.d.ts')), 'examples/custom-op/myresize.d.ts is part of the example');
    const r = compileConsumer(files, { js: true, links: ['@u4/opencv4nodejs', '@tensorflow/tfjs'] });
    assert.deepEqual(r.diagnostics, [], `tsc reported:\n${show(r)}`);
  });

  test('each mistake in must-fail.ts is a compile error with its expected code, and nothing else fails', () => {
    const source = fixture('must-fail.ts');
    const expected = source.split('\n').flatMap((l, i) => {
      const m = /\/\/ error: (TS\d+)\s*$/.exec(l);
      return m ? [{ line: i + 1, code: m[1] }] : [];
    });
    assert.ok(expected.length >= 10, 'the fixture marks its failing lines');
    const r = compileConsumer({ 'must-fail.ts': source });
    const got = r.diagnostics.filter((d) => d.file === 'must-fail.ts').map((d) => ({ line: d.line, code: d.code }));
    assert.deepEqual(got, expected, `tsc reported:\n${show(r)}`);
    assert.ok(r.diagnostics.some((d) => d.code === 'TS2551' && /Resise.*did you mean 'Resize'/i.test(d.message)), 'a misspelt op names the op it meant');
  });

  test('vidgraph types writes declarations that check a plugin op\'s arguments', () => {
    const dts = cli('types', path.join(root, 'examples', 'custom-op', 'resize.proto'));
    assert.equal(dts, fs.readFileSync(path.join(root, 'examples', 'custom-op', 'myresize.d.ts'), 'utf8'), 'examples/custom-op/myresize.d.ts is what the command writes today');
    assert.match(dts, /MyResize\(params: \{ frame: vg\.Column<vg\.Frame> \} & MyResizeArgs & vg\.OpOptions\): vg\.Column<vg\.Frame>;/);
    const use = [
      "import * as vg from 'vidgraph';",
      'declare const sc: vg.Client;',
      'declare const frames: vg.Column<vg.Frame>;',
      'const small: vg.Column<vg.Frame> = sc.ops.MyResize({ frame: frames, width: [200, 100], height: 300 });',
      "sc.ops.MyResize({ frame: frames, width: '200' }); // error: TS2322",
      'sc.ops.MyResize({ frame: frames, widht: 200 }); // error: TS2561',
      'export { small };',
    ].join('\n');
    const r = compileConsumer({ 'myresize.d.ts': dts, 'use.ts': use });
    assert.deepEqual(r.diagnostics.map((d) => `${d.file}:${d.line} ${d.code}`), ['use.ts:5 TS2322', 'use.ts:6 TS2561'], show(r));
  });

  test('vidgraph types maps every protobuf field kind, nested messages and enums', () => {
    const dir = fs.mkdtempSync(path.join(root, 'node_modules', '.cache-types-'));
    try {
      const proto = path.join(dir, 'kinds.proto');
      fs.writeFileSync(proto, [
        'syntax = "proto3";',
        'package demo;',
        'enum Mode { FAST = 0; EXACT = 1; }',
        'message Box { float x = 1; float y = 2; }',
        'message DetectArgs {',
        '  int64 max_count = 1; double threshold = 2; bool strict = 3; string label = 4; bytes blob = 5;',
        '  Mode mode = 6; repeated int32 sizes = 7; Box region = 8; map<string, float> weights = 9;',
        '}',
      ].join('\n'));
      const dts = cli('types', proto, '--op', 'Detect');
      assert.match(dts, /Detect\(params: \{ frame: vg\.Column<vg\.Frame> \} & demo_DetectArgs & vg\.OpOptions\)/);
      for (const field of ['maxCount?: vg.PerStream<number>;', 'threshold?: vg.PerStream<number>;', 'strict?: vg.PerStream<boolean>;', 'label?: vg.PerStream<string>;',
        'blob?: vg.PerStream<Uint8Array>;', 'mode?: vg.PerStream<"FAST" | "EXACT" | number>;', 'sizes?: readonly (number)[];', 'region?: vg.PerStream<demo_Box>;', 'weights?: Record<string, number>;']) {
        assert.ok(dts.includes(field), `expected '${field}' in:\n${dts}`);
      }
      const r = compileConsumer({ 'kinds.d.ts': dts, 'use.ts': "import * as vg from 'vidgraph';\ndeclare const sc: vg.Client;\ndeclare const f: vg.Column<vg.Frame>;\nsc.ops.Detect({ frame: f, maxCount: 3, mode: 'EXACT', sizes: [1, 2], region: { x: 1, y: 2 } });\nexport {};\n" });
      assert.deepEqual(r.diagnostics, [], show(r));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('vidgraph types refuses a missing proto and an ambiguous --op with exit code 1', () => {
    const run = (...args) => {
      try {
        cli(...args);
        return { status: 0 };
      } catch (err) {
        return { status: err.status, stderr: String(err.stderr) };
      }
    };
    const missing = run('types', '/nonexistent/none.proto');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^vidgraph types: cannot read proto file '\/nonexistent\/none\.proto'/);
    const dir = fs.mkdtempSync(path.join(root, 'node_modules', '.cache-types-'));
    try {
      const proto = path.join(dir, 'two.proto');
      fs.writeFileSync(proto, 'syntax = "proto3";\nmessage AArgs { int32 a = 1; }\nmessage BArgs { int32 b = 1; }\n');
      const twoOps = cli('types', proto);
      assert.match(twoOps, /A\(params: .* & AArgs & vg\.OpOptions\)/);
      assert.match(twoOps, /B\(params: .* & BArgs & vg\.OpOptions\)/);
      const ambiguous = run('types', proto, '--op', 'A');
      assert.equal(ambiguous.status, 1);
      assert.match(ambiguous.stderr, /--op names one op, but .* defines 2 argument messages \(AArgs, BArgs\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
