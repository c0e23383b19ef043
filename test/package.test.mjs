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
import { ffprobeFrameCount, fixture } from './helpers/corpus.mjs';
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

  test('importing vidgraph loads neither the cluster, glob nor progress-bar code, nor the engine', async () => {
    // A fresh process: this one has loaded everything already.
    const script = "require('vidgraph'); console.log(JSON.stringify(Object.keys(require.cache)))";
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: ROOT });
    const loaded = JSON.parse(stdout).filter((f) => /cluster-run|bullmq|tinyglobby|cli-progress|\.node$/.test(f));
    assert.deepEqual(loaded, [], 'loaded at import');
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

  test('bench --quick prints decode throughput as ratios to the ffmpeg CLI, with its clips in the cache directory', async () => {
    const cache = path.join(ROOT, 'test', '.cache', 'xdg'); // kept between runs, as a user's ~/.cache is
    const r = await cli(['bench', '--quick'], { XDG_CACHE_HOME: cache });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.readdirSync(path.join(cache, 'vidgraph', 'bench')).some((f) => /^bench-1080p\.[0-9a-f]+\.mp4$/.test(f)));
    assert.match(r.stdout, /sequential\s+whole process, \d+ frames: ours [\d.]+ fps\s+ffmpeg rgb24 [\d.]+ fps\s+ratio [\d.]+/);
    assert.match(r.stdout, /memory\s+peak RSS, .*: ours [\d.]+ MiB\s+ffmpeg rgb24 [\d.]+ MiB\s+ratio [\d.]+/);
    assert.match(r.stdout, /10 random .*amplification [\d.]+/);
    assert.match(r.stdout, /index\s+ours [\d.]+ ms\s+ffmpeg -c copy [\d.]+ ms/);
  });

  test('demo runs the quick-start job where no ffmpeg CLI exists, and its sample decodes frame for frame', async () => {
    const home = tempDir();
    const bin = path.join(home, 'bin'); // PATH: this node and nothing else
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const env = { PATH: bin, HOME: home, VIDGRAPH_DB: path.join(home, 'db') };
    const { stdout } = await run(process.execPath, [CLI, 'demo'], { env });
    const sample = path.join(home, '.vidgraph', 'samples', 'sample-720p.mp4');
    assert.match(stdout, /wrote 300 frames with (libx264|libopenh264)/);
    assert.match(stdout, /ingested 'sample-720p' in .*: 300 frames 1280x720 h264/);
    assert.match(stdout, /loaded 50 random frames/);
    assert.match(stdout, /sample-720p\s+video\s+300\s+yes/);
    assert.deepEqual(fs.readdirSync(path.dirname(sample)), ['sample-720p.mp4']); // no temporary left behind
    assert.equal(await ffprobeFrameCount(sample), 300); // ffprobe from the real PATH
    const again = await run(process.execPath, [CLI, 'demo'], { env });
    assert.doesNotMatch(again.stdout, /making a/);
    assert.match(again.stdout, /found 'sample-720p'/);
  });

  test('bench without an ffmpeg CLI says what it needs in one line', async () => {
    const bin = path.join(tempDir(), 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = await cli(['bench', '--quick'], { PATH: bin });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), /^vidgraph bench: .*ffmpeg CLI.*install FFmpeg.*\(ERR_NOT_FOUND\)$/);
  });

  test('--help works on every command and config --version prints versions', async () => {
    for (const cmd of ['ingest', 'ls', 'info', 'rm', 'config', 'extract-frames', 'bench', 'demo']) {
      const h = await cli([cmd, '--help']);
      assert.equal(h.code, 0);
      assert.match(h.stdout, /Usage: vidgraph /);
    }
    const v = await cli(['config', '--version']);
    assert.match(v.stdout, /^vidgraph \d+\.\d+\.\d+ \(node .*FFmpeg .*libavcodec/);
  });
});

describe('npm tarball', () => {
  async function packed() {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 1 << 26 });
    return new Set(JSON.parse(stdout)[0].files.map((f) => f.path));
  }

  test('ships no tests or CI scripts, a LICENSE, and source maps whose sources are shipped', async () => {
    const files = await packed();
    const list = [...files];
    assert.deepEqual(list.filter((f) => f.startsWith('test/')), []);
    // binding.gyp's source list, and the recipe of the bundled libraries (the LGPL source offer).
    assert.deepEqual(list.filter((f) => f.startsWith('scripts/')).sort(), ['scripts/cmake-sources.js', 'scripts/deps/build.sh', 'scripts/deps/recipe.sh']);
    assert.ok(files.has('LICENSE'));
    assert.match(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
    assert.ok(files.has('dist/index.js') && files.has('dist/index.mjs') && files.has('bin/vidgraph.js') && files.has('binding.gyp'));
    const maps = list.filter((f) => f.endsWith('.map'));
    assert.ok(maps.length > 0);
    const missing = [];
    for (const map of maps) {
      const { sources, sourceRoot = '' } = JSON.parse(fs.readFileSync(path.join(ROOT, map), 'utf8'));
      for (const s of sources) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(map), sourceRoot, s));
        if (!files.has(target)) missing.push(`${map} -> ${target}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('shipped scripts import only files that are shipped (vidgraph bench, demo, examples)', async () => {
    const files = await packed();
    const broken = [];
    for (const f of files) {
      if (!/\.(mjs|js)$/.test(f) || f.startsWith('dist/')) continue;
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\(|require\()'(\.{1,2}\/[^']+)'/g)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), m[1]));
        if (!files.has(target)) broken.push(`${f} -> ${target}`);
      }
    }
    assert.deepEqual(broken, []);
    for (const f of ['bench/decode.mjs', 'examples/quickstart.mjs']) assert.ok(files.has(f), f);
  });

  test('ships the third-party notice with every licence text it names, and the build record when a prebuilt engine is packed', async () => {
    const files = await packed();
    assert.ok(files.has('THIRD_PARTY_NOTICES.md'));
    const notice = fs.readFileSync(path.join(ROOT, 'THIRD_PARTY_NOTICES.md'), 'utf8');
    const named = [...notice.matchAll(/`(licenses\/[^`]+)`/g)].map((m) => m[1]);
    assert.ok(named.length >= 10, named.join());
    for (const f of named) assert.ok(files.has(f), `${f} is named in THIRD_PARTY_NOTICES.md but not packed`);
    assert.match(notice, /LGPL-2\.1-or-later/);
    assert.match(notice, /three\s+years/);
    if (fs.existsSync(path.join(ROOT, 'prebuilds', 'linux-x64'))) assert.ok(files.has('prebuilds/linux-x64/BUILDINFO.txt'));
  });
});
