// The package surface: ESM and CommonJS entries, types, the CLI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as vg from 'vidgraph';
import { fixture } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'vidgraph.js');

async function cli(args, env = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('package', () => {
  test('require() and import see the same module with the same classes', () => {
    const cjs = createRequire(import.meta.url)('vidgraph');
    assert.equal(cjs.Client, vg.Client);
    assert.equal(cjs.VideoReader, vg.VideoReader);
    assert.equal(cjs.VidgraphError, vg.VidgraphError);
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'index.d.ts')));
  });

  test('a missing engine binary gives one error that lists the cause and the fix', async () => {
    const dir = tempDir();
    fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    const script = "try { require('./dist/index.js').versions() } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })) }";
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: dir });
    const err = JSON.parse(stdout);
    assert.equal(err.code, 'ERR_NATIVE_LOAD');
    assert.equal(err.name, 'NativeLoadError');
    assert.match(err.message, /could not load its native engine on linux-x64/);
    assert.match(err.message, /Tried:\n {4}No native build was found for platform=linux arch=x64/);
    assert.match(err.message, /Cause: the prebuilt engine is missing or did not load/);
    assert.match(err.message, /then run: npm rebuild vidgraph --build-from-source/);
    assert.match(err.message, /libavformat-dev .*\n.*libopencv-dev/);
  });

  test('versions() reports the FFmpeg libraries the engine runs with', () => {
    const v = vg.versions();
    assert.equal(v.vidgraph, JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    assert.match(v.libavcodec, /^\d+\.\d+\.\d+$/);
  });
});

describe('command line', () => {
  test('ingest, ls, info and rm manage streams in --db', async () => {
    const db = tempDir();
    const file = await fixture('hevc.mp4');
    const ingest = await cli(['ingest', file, '--db', db]);
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.match(ingest.stdout, /^hevc: 48 frames 320x240 hevc @ 24\.000 fps, 2 keyframes/);
    const again = await cli(['ingest', file, '--db', db]);
    assert.match(again.stdout, /already in the database/);
    const ls = await cli(['ls', '--db', db]);
    assert.match(ls.stdout, /hevc\s+video\s+48\s+yes/);
    const info = await cli(['info', 'hevc', '--json'], { VIDGRAPH_DB: db });
    assert.equal(JSON.parse(info.stdout).frames, 48);
    const rm = await cli(['rm', 'hevc', '--db', db]);
    assert.equal(rm.code, 0);
    assert.deepEqual(JSON.parse((await cli(['ls', '--json', '--db', db])).stdout), []);
  });

  test('errors are one line on stderr with the code, and a non-zero exit', async () => {
    const db = tempDir();
    const bad = await cli(['ingest', await fixture('not_a_video.mp4'), '--db', db]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /^vidgraph ingest: .*not_a_video\.mp4.*\(ERR_INVALID_VIDEO\)$/m);
    const missing = await cli(['info', 'nothing', '--db', db]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ERR_NOT_FOUND/);
    const usage = await cli(['frobnicate']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown command 'frobnicate'/);
    const flag = await cli(['ls', '--bogus']);
    assert.equal(flag.code, 2);
  });

  test('bench --quick prints decode throughput as ratios to the ffmpeg CLI', async () => {
    const r = await cli(['bench', '--quick']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sequential\s+ours [\d.]+ fps\s+ffmpeg rgb24 [\d.]+ fps\s+ratio [\d.]+/);
    assert.match(r.stdout, /10 random .*amplification [\d.]+/);
    assert.match(r.stdout, /index\s+ours [\d.]+ ms\s+ffmpeg -c copy [\d.]+ ms/);
  });

  test('--help works on every command and config --version prints versions', async () => {
    for (const cmd of ['ingest', 'ls', 'info', 'rm', 'config', 'extract-frames', 'bench']) {
      const h = await cli([cmd, '--help']);
      assert.equal(h.code, 0);
      assert.match(h.stdout, /Usage: vidgraph /);
    }
    const v = await cli(['config', '--version']);
    assert.match(v.stdout, /^vidgraph \d+\.\d+\.\d+ \(node .*FFmpeg .*libavcodec/);
  });
});
