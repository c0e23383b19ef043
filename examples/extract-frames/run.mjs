// Extracts every frame of a sample video (or the given file/directory) and reports what it wrote.
//   node examples/extract-frames/run.mjs [input] [outputDir]
import os from 'node:os';
import path from 'node:path';
import * as vg from 'vidgraph';
import { sampleVideo } from '../tutorials/sample.mjs';

const input = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const outputDir = process.argv[3] ?? path.join(os.tmpdir(), 'vidgraph-frames');
const t = performance.now();
const report = await vg.extractFrames({ input, outputDir, threaded: true, format: 'jpg', quality: 90 });
const secs = (performance.now() - t) / 1000;
for (const v of report.videos) console.log(`${path.basename(v.file)}: ${v.error ? `failed: ${v.error.message}` : `${v.written} frames -> ${v.outputDir}`}`);
console.log(`wrote ${report.written} frames in ${secs.toFixed(2)} s (${(report.written / secs).toFixed(1)} frames/s)`);
if (report.failed) process.exitCode = 1;
