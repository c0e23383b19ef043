#!/usr/bin/env node
// The test command (README quick start, .ci/run): runs every test/**/*.test.mjs with node:test.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
for (const needed of ['dist/index.js', 'dist/index.mjs']) {
  if (!fs.existsSync(path.join(root, needed))) {
    console.error(`vidgraph tests: ${needed} is missing: run the first quick-start command (bash scripts/bootstrap) or npm run build`);
    process.exit(1);
  }
}
const files = fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join('test', f));
const extra = process.argv.slice(2);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...extra, ...files], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
