#!/usr/bin/env node
// The test command (README quick start, .ci/run): runs every test/**/*.test.mjs with node:test.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
for (const needed of ['dist/index.js', 'dist/index.mjs']) {
  if (!fs.existsSync(path.join(root, needed))) {
    console.error(`vidgraph tests: ${needed} is missing: run the first quick-start command (bash scripts/bootstrap), or npm run build:native && npm run build:ts`);
    process.exit(1);
  }
}
// The package tests (test/prebuilt-*.test.mjs) need the prebuilt engine: make it first. Its
// libraries are built from source once (about 20 minutes on 2 cores) and cached outside the
// repository by recipe; after that this step only relinks the addon when the sources changed.
// VIDGRAPH_TEST_PREBUILT=0 skips it for a quick local loop (those tests then skip, saying why).
if (process.platform === 'linux' && process.arch === 'x64' && process.env.VIDGRAPH_TEST_PREBUILT !== '0') {
  const t = Date.now();
  console.log('vidgraph tests: preparing the prebuilt engine (npm run prebuild)');
  const prebuild = spawnSync('bash', ['scripts/prebuild.sh'], { cwd: root, stdio: 'inherit' });
  if (prebuild.status !== 0) {
    console.error('vidgraph tests: npm run prebuild failed (output above)');
    process.exit(1);
  }
  console.log(`vidgraph tests: prebuilt engine ready in ${((Date.now() - t) / 1000).toFixed(0)} s`);
}
const files = fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join('test', f));
const extra = process.argv.slice(2);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...extra, ...files], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
