#!/usr/bin/env node
// Prints the engine sources listed in CMakeLists.txt (set(VIDGRAPH_SOURCES ...)), one per
// line, for binding.gyp: the source list lives in one place.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const text = fs.readFileSync(path.join(__dirname, '..', 'CMakeLists.txt'), 'utf8');
const m = /set\(VIDGRAPH_SOURCES\s+([^)]*)\)/.exec(text);
if (!m) throw new Error('CMakeLists.txt has no set(VIDGRAPH_SOURCES ...)');
process.stdout.write(m[1].split(/\s+/).filter(Boolean).join('\n') + '\n');
