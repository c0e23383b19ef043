// The prebuilt engine (prebuilds/linux-x64, made by `npm run prebuild` before the tests: our own
// LGPL FFmpeg and static OpenCV) passes the same oracles as the local build: the exactness
// suites against the ffmpeg CLI, the kernels against python3-opencv, the encoder and the
// graph, run in a child with VIDGRAPH_ADDON pointing at it. It also says what it is.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './helpers/util.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'prebuilds', 'linux-x64');
const ENGINE = path.join(DIR, 'vidgraph.napi.glibc.node');
const skip = process.platform !== 'linux' || process.arch !== 'x64' ? 'the prebuilt engine is made for linux-x64 only'
  : process.env.VIDGRAPH_TEST_PREBUILT === '0' ? 'VIDGRAPH_TEST_PREBUILT=0: npm test did not make the prebuilt engine' : false;

// NODE_TEST_CONTEXT would make the child `node --test` report to this runner instead of running.
const { NODE_TEST_CONTEXT: _, ...childEnv } = process.env;
const withEngine = (args, opts = {}) => run(process.execPath, args,
  { cwd: ROOT, env: { ...childEnv, VIDGRAPH_ADDON: ENGINE, ...opts.env }, maxBuffer: 256 << 20, timeout: opts.timeout });

describe('prebuilt engine', { skip }, () => {
  test('it reports LGPL FFmpeg with the _vg libraries bundled next to it, OpenH264 for H.264 and its build record', async () => {
    assert.ok(fs.existsSync(ENGINE), `${ENGINE} is missing: npm run prebuild`);
    const { stdout } = await withEngine(['-e', "console.log(JSON.stringify(require('./dist/index.js').versions()))"]);
    const v = JSON.parse(stdout);
    assert.equal(v.engine, ENGINE);
    assert.match(v.ffmpegLicense, /^LGPL version 2\.1 or later$/);
    assert.equal(v.h264Encoder, 'libopenh264');
    assert.match(v.opencv, /^4\.6\.0$/);
    const info = fs.readFileSync(path.join(DIR, 'BUILDINFO.txt'), 'utf8');
    assert.match(info, /^ffmpeg configure: .*--disable-gpl .*--disable-nonfree .*--enable-libdav1d .*--enable-libopenh264/m);
    assert.doesNotMatch(info, /--enable-gpl|--enable-nonfree/);
    assert.match(info, /^needs: GLIBC_2\.\d+ \(glibc\), GLIBCXX_3\.4\.\d+ \(libstdc\+\+\)$/m);
  });

  test('its exported symbols are the N-API entry point only (OpenCV and the C++ runtime stay hidden)', async () => {
    const { stdout } = await run('nm', ['-D', '--defined-only', ENGINE]);
    const exported = stdout.trim().split('\n').map((l) => l.split(' ').pop()).filter((s) => !/^_(init|fini)$/.test(s));
    assert.deepEqual(exported.sort(), ['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  });

  test('a prebuilt directory without its bundled FFmpeg libraries fails with one error that says the package is incomplete', async () => {
    const dir = tempDir();
    fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.mkdirSync(path.join(dir, 'prebuilds', 'linux-x64'), { recursive: true });
    fs.copyFileSync(ENGINE, path.join(dir, 'prebuilds', 'linux-x64', path.basename(ENGINE)));
    const script = "try { require('./dist/index.js').versions() } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }";
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: dir, env: { ...process.env, VIDGRAPH_ADDON: '' } });
    const err = JSON.parse(stdout);
    assert.equal(err.code, 'ERR_NATIVE_LOAD');
    assert.match(err.message, /Tried:\n {4}.*prebuilds\/linux-x64\/vidgraph\.napi\.glibc\.node: lib[a-z]+_vg\.so\.\d+: cannot open shared object file/);
    assert.match(err.message, /Cause: the FFmpeg libraries bundled next to the prebuilt engine are missing/);
    assert.match(err.message, /Fix: reinstall it in your project: rm -rf node_modules\/vidgraph && npm install vidgraph/);
  });

  test('it passes the exactness, kernel, encoder and graph suites against the ffmpeg CLI and OpenCV oracles', { timeout: 30 * 60_000 }, async (t) => {
    const suites = ['decode-exact', 'reader', 'kernels', 'output', 'graph', 'extract'].map((s) => `test/${s}.test.mjs`);
    const started = Date.now();
    try {
      const { stdout } = await withEngine(['--test', '--test-reporter=tap', ...suites], { timeout: 25 * 60_000 });
      const count = (what) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(stdout)?.[1]);
      assert.ok(count('pass') > 50 && count('fail') === 0, stdout.slice(-2000));
      t.diagnostic(`${suites.length} suites with the prebuilt engine: ${count('pass')} tests passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    } catch (err) {
      assert.fail(`the suites failed with the prebuilt engine:\n${err.stdout}\n${err.stderr}`);
    }
  });
});
