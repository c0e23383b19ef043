// Building the engine from source in a user's project, as the load error and the README say:
// `npm install vidgraph --build-from-source` with a compiler and the FFmpeg/OpenCV development
// files (this machine has them) builds with node-gyp through binding.gyp, whatever prebuilt
// binary the package carries, and the result decodes exactly like the ffmpeg CLI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fixture, oracle } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = (args, cwd, env = {}) =>
  run('npm', args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });

test('npm install --build-from-source in a project builds the engine with node-gyp and it decodes like the ffmpeg CLI',
  { timeout: 20 * 60_000 }, async (t) => {
    const work = tempDir('vidgraph-source-');
    const { stdout } = await npm(['pack', '--json', '--pack-destination', work], ROOT);
    const tarball = path.join(work, JSON.parse(stdout)[0].filename);
    const project = path.join(work, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    const started = Date.now();
    // JOBS: node-gyp compiles with every core (2 here).
    await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--build-from-source', tarball], project, { JOBS: 'max' });
    t.diagnostic(`npm install --build-from-source: ${((Date.now() - started) / 1000).toFixed(0)} s`);

    const installed = path.join(project, 'node_modules', 'vidgraph');
    assert.ok(fs.existsSync(path.join(installed, 'build', 'Release', 'vidgraph.node')), 'node-gyp left no build/Release/vidgraph.node');
    const file = await fixture('h264_bframes_opengop.mp4');
    const script = `
      import * as vg from 'vidgraph';
      import { createHash } from 'node:crypto';
      const r = await vg.VideoReader.open(${JSON.stringify(file)});
      const md5 = [];
      for await (const f of r.iterFrames()) md5.push(createHash('md5').update(f.image.data).digest('hex'));
      await r.close();
      console.log(JSON.stringify({ versions: vg.versions(), md5 }));`;
    const out = JSON.parse((await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, maxBuffer: 64 << 20 })).stdout);
    assert.equal(out.versions.engine, path.join(fs.realpathSync(installed), 'build', 'Release', 'vidgraph.node'));
    const o = await oracle(file);
    assert.equal(out.md5.length, o.count);
    const { createHash } = await import('node:crypto');
    for (let i = 0; i < o.count; i++) assert.equal(out.md5[i], createHash('md5').update(o.frame(i)).digest('hex'), `frame ${i}`);
  });
