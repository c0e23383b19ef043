// `npm install vidgraph` on a bare machine: the packed package (with its prebuilt engine) is
// served from a loopback registry (verdaccio; every other package proxied to npmjs) and
// installed inside a Debian bookworm minbase root that has node and npm but no compiler, no
// python, no FFmpeg and no OpenCV. In each install mode (npm's default script policy, npm
// --ignore-scripts, pnpm's default policy) the engine must load, `vidgraph demo` must run,
// every frame of an H.264 (B-frames), HEVC, VP9 and AV1 file must have the md5 of the ffmpeg
// CLI's decode (computed outside the root), and ldd of the addon and of every bundled library
// must resolve only inside the package or to glibc / libstdc++ / libgcc_s.
//
// Needs Linux + root (debootstrap, chroot, mount namespaces) and network to deb.debian.org and
// registry.npmjs.org on first run; the root and verdaccio are cached (scripts/prebuilt/).
// The tarball: $VIDGRAPH_TEST_TARBALL if set, else `npm pack` of this repo with the prebuilds/linux-x64
// that `npm run prebuild` made (npm test makes it first; run alone, this file makes it if missing).
//   node --test test/prebuilt-install.test.mjs      (as root; several minutes on first run)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRegistry } from '../scripts/prebuilt/registry.mjs';
import { makeBareRoot, runInRoot, unsupportedReason } from './helpers/bare-root.mjs';
import { fixture, oracle } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

const execFileP = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const DECODE_SCRIPT = path.join(HERE, 'children', 'prebuilt-decode-md5.cjs');
const PREBUILT_DIR = path.join(REPO, 'prebuilds', 'linux-x64');

// H.264 with B-frames (and an open GOP), HEVC, VP9, AV1.
const CORPUS_FILES = ['h264_bframes_opengop.mp4', 'hevc.mp4', 'vp9.webm', 'av1.mkv'];

// What a prebuilt binary may need from the system: glibc, libstdc++, libgcc_s.
const SYSTEM_LIBS = /^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|lib(c|m|mvec|pthread|dl|rt)\.so\.\d+|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$/;

const MODES = [
  { name: 'npm install (default script policy)', install: 'npm install --no-audit --no-fund vidgraph' },
  { name: 'npm install --ignore-scripts', install: 'npm install --no-audit --no-fund --ignore-scripts vidgraph' },
  // pnpm 10 runs no dependency's build script unless the project allows it.
  { name: 'pnpm add (pnpm 10 default script policy)', install: 'npx --yes pnpm@10 add vidgraph' },
];

const sec = (ms) => `${(ms / 1000).toFixed(1)} s`;
async function timed(t, phase, fn) {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    t.diagnostic(`${phase}: ${sec(Date.now() - t0)}`);
  }
}

const tail = (s, n = 40) => String(s).trimEnd().split('\n').slice(-n).join('\n');
function assertRan(res, what) {
  assert.equal(res.code, 0, `${what} failed (exit ${res.code})\n--- stdout ---\n${tail(res.stdout)}\n--- stderr ---\n${tail(res.stderr)}`);
}

/** The packed tarball under test. */
async function packedTarball(t) {
  if (process.env.VIDGRAPH_TEST_TARBALL) {
    const p = path.resolve(process.env.VIDGRAPH_TEST_TARBALL);
    assert.ok(fs.existsSync(p), `VIDGRAPH_TEST_TARBALL=${p} does not exist`);
    t.diagnostic(`tarball from VIDGRAPH_TEST_TARBALL: ${p}`);
    return p;
  }
  // `npm test` (scripts/test.js) runs `npm run prebuild` before any test file; building again
  // here would replace prebuilds/linux-x64 under the other prebuilt tests running concurrently.
  // Run on its own, the file makes the prebuild when there is none.
  const hasEngine = () => {
    try { return fs.readdirSync(PREBUILT_DIR).some((f) => f.endsWith('.node')); } catch { return false; }
  };
  if (!hasEngine()) {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    assert.ok(pkg.scripts?.prebuild,
      'there is no prebuilds/linux-x64, package.json has no "prebuild" script to make it, and VIDGRAPH_TEST_TARBALL is not set');
    await timed(t, 'npm run prebuild', async () => {
      try {
        await execFileP('npm', ['run', 'prebuild'], { cwd: REPO, maxBuffer: 256 << 20 });
      } catch (e) {
        throw new Error(`npm run prebuild failed: ${tail(e.stderr || e.message)}`);
      }
    });
    assert.ok(hasEngine(), 'npm run prebuild left no prebuilds/linux-x64/*.node');
  } else {
    t.diagnostic('packing the prebuilds/linux-x64 that npm run prebuild made');
  }
  const dest = tempDir('vidgraph-pack-');
  const { stdout } = await timed(t, 'npm pack', () =>
    execFileP('npm', ['pack', '--pack-destination', dest, '--ignore-scripts', '--loglevel=error'], { cwd: REPO, maxBuffer: 64 << 20 }));
  return path.join(dest, stdout.trim().split('\n').pop());
}

/** The tarball must carry the prebuilt engine, else the install test would test a source build. */
async function assertCarriesPrebuilt(tarball) {
  const { stdout } = await execFileP('tar', ['-tzf', tarball], { maxBuffer: 64 << 20 });
  const files = stdout.split('\n').filter((f) => f.startsWith('package/prebuilds/linux-x64/') && !f.endsWith('/'));
  assert.ok(files.some((f) => f.endsWith('.node')), `${tarball} has no prebuilds/linux-x64/*.node (it has: ${files.join(', ') || 'no prebuilds'})`);
  return files.map((f) => path.basename(f));
}

/** Per-frame md5s of the ffmpeg CLI's rgb24 decode, computed outside the root. */
async function oracleMd5s(file) {
  const o = await oracle(file);
  const out = [];
  for (let i = 0; i < o.count; i++) out.push(createHash('md5').update(o.frame(i)).digest('hex'));
  return out;
}

/**
 * ldd output of several files ("== name" headers) → problems: libraries not found, or resolved
 * outside `dirs` and not a glibc / libstdc++ / libgcc_s library.
 */
function lddCheck(text, dirs) {
  const problems = [];
  const system = new Set();
  let file = '?';
  let checked = 0;
  for (const line of text.split('\n')) {
    const head = /^== (.+)$/.exec(line);
    if (head) { file = head[1]; checked++; continue; }
    const l = line.trim();
    if (!l) continue;
    if (/not found/.test(l)) { problems.push(`${file}: ${l}`); continue; }
    if (/statically linked|not a dynamic executable/.test(l)) { problems.push(`${file}: ${l}`); continue; }
    const m = /^(\S+)(?: => (\S+))? \(0x[0-9a-f]+\)$/.exec(l);
    if (!m) { problems.push(`${file}: unparsed ldd line: ${l}`); continue; }
    const resolved = m[2] ?? m[1];
    const inside = resolved.startsWith('/') && dirs.includes(path.posix.dirname(path.posix.normalize(resolved)));
    if (inside) continue;
    if (SYSTEM_LIBS.test(path.posix.basename(m[1]))) system.add(path.posix.basename(m[1]));
    else problems.push(`${file}: ${m[1]} => ${resolved} (neither bundled nor glibc/libstdc++/libgcc_s)`);
  }
  if (checked === 0) problems.push('no *.node / *.so* file was checked');
  return { problems: [...new Set(problems)], checked, system: [...system].sort() };
}

const reason = process.env.VIDGRAPH_TEST_PREBUILT === '0' ? 'VIDGRAPH_TEST_PREBUILT=0 (no prebuilt engine for this run)' : unsupportedReason();

test('npm install vidgraph in a bare Debian root: the prebuilt engine loads without a compiler, runs the demo and decodes H.264/HEVC/VP9/AV1 exactly, in every install mode',
  { skip: reason || false, timeout: 60 * 60_000 }, async (t) => {
    const tarball = await packedTarball(t);
    t.diagnostic(`prebuilds/linux-x64 in ${path.basename(tarball)}: ${(await assertCarriesPrebuilt(tarball)).join(' ')}`);

    const corpus = await timed(t, 'corpus + ffmpeg oracle md5s (outside the root)', async () => {
      const out = [];
      for (const name of CORPUS_FILES) {
        const file = await fixture(name);
        out.push({ name, file, md5s: await oracleMd5s(file) });
      }
      return out;
    });

    const reg = await timed(t, 'registry (verdaccio start + publish)', async () => {
      const r = await startRegistry();
      try {
        await r.publish(tarball);
      } catch (e) {
        await r.stop();
        throw e;
      }
      return r;
    });
    t.diagnostic(`registry ${reg.url}`);
    try {
      for (const mode of MODES) {
        await t.test(mode.name, { timeout: 20 * 60_000 }, async (st) => {
          const root = await timed(st, 'rootfs (pristine copy + node/npm)', () => makeBareRoot());
          try {
            const env = { npm_config_registry: reg.url, npm_config_update_notifier: 'false' };
            const run = (script, opts = {}) => runInRoot(root.dir, script, { cwd: '/project', env, ...opts });
            await fsp.mkdir(path.join(root.dir, 'project'));
            await fsp.writeFile(path.join(root.dir, 'project', 'package.json'), '{ "name": "bare-project", "private": true }\n');

            // The root really is bare.
            const bare = await run('for t in gcc cc g++ make python3 python ffmpeg; do command -v $t >/dev/null && echo $t; done; true');
            assertRan(bare, 'a command in the bare root (unshare + chroot)');
            assert.equal(bare.stdout.trim(), '', `the bare root has ${bare.stdout.trim().split('\n').join(', ')}`);

            const installed = await timed(st, `install: ${mode.install}`, () => run(mode.install));
            assertRan(installed, mode.install);

            const lib = '/project/node_modules/vidgraph/prebuilds/linux-x64';
            const ldd = await timed(st, 'ldd', () => run(
              `cd ${lib} && pwd && pwd -P && for f in *.node *.so*; do [ -f "$f" ] || continue; echo "== $f"; ldd "./$f" 2>&1; done`));
            assertRan(ldd, `ldd in ${lib}`);
            const [logical, physical] = ldd.stdout.split('\n');
            const { problems, checked, system } = lddCheck(ldd.stdout.split('\n').slice(2).join('\n'), [logical, physical]);
            st.diagnostic(`ldd: ${checked} files; outside the package they need only ${system.join(' ')}`);
            if (problems.length) assert.fail(`ldd of the installed prebuilt engine resolves outside the package:\n${problems.join('\n')}`);

            const loaded = await run(`node -e "console.log(JSON.stringify(require('vidgraph').versions()))"`);
            assertRan(loaded, "require('vidgraph').versions()");
            st.diagnostic(`versions(): ${loaded.stdout.trim()}`);
            const { engine } = JSON.parse(loaded.stdout);
            assert.match(String(engine), /\/node_modules\/(\.pnpm\/.*\/)?vidgraph\/prebuilds\/linux-x64\/[^/]+\.node$/,
              'versions().engine: the engine that loaded is not the installed prebuilt binary');

            // The quick start as a user runs it: the engine makes its own sample clip (no ffmpeg
            // CLI in the root), ingests it and reads it back.
            const demo = await timed(st, 'demo', () => run('npx --no vidgraph demo'));
            assertRan(demo, 'npx vidgraph demo');
            st.diagnostic(`demo output: ${tail(demo.stdout, 4).replace(/\n/g, ' | ')}`);

            await fsp.mkdir(path.join(root.dir, 'project', 'corpus'));
            for (const c of corpus) await fsp.copyFile(c.file, path.join(root.dir, 'project', 'corpus', c.name));
            await fsp.copyFile(DECODE_SCRIPT, path.join(root.dir, 'project', 'decode-md5.cjs'));
            const decoded = await timed(st, 'decode', () =>
              run(`node decode-md5.cjs ${CORPUS_FILES.map((n) => `corpus/${n}`).join(' ')}`));
            assertRan(decoded, 'decoding the corpus in the root');
            const got = JSON.parse(decoded.stdout);
            for (const c of corpus) {
              const frames = got[c.name];
              assert.ok(Array.isArray(frames), `${c.name}: no result from the root`);
              assert.equal(frames.length, c.md5s.length, `${c.name}: ${frames.length} frames decoded in the root, the ffmpeg CLI decodes ${c.md5s.length}`);
              const bad = frames.findIndex((m, i) => m !== c.md5s[i]);
              assert.equal(bad, -1, `${c.name}: frame ${bad} differs from the ffmpeg CLI's (md5 ${frames[bad]} vs ${c.md5s[bad]})`);
            }
            st.diagnostic(`decoded exactly: ${corpus.map((c) => `${c.name} (${c.md5s.length} frames)`).join(', ')}`);
          } finally {
            await root.remove();
          }
        });
      }
    } finally {
      await reg.stop();
    }
  });
