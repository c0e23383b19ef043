// Shared test helpers: temporary databases, a seeded random generator, frame comparison.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seededRandom } from '../../bench/clip.mjs';

/** A fresh empty directory, removed when the process exits. */
export function tempDir(prefix = 'vidgraph-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** mulberry32, the benchmarks' seeded PRNG: "random rows" are the same on every run. */
export { seededRandom };

/** `count` seeded random rows in [0, n), plus the first and last row, in random order. */
export function sampleRows(n, count, seed) {
  const rand = seededRandom(seed);
  const rows = [0, n - 1];
  for (let i = 0; i < count; i++) rows.push(Math.floor(rand() * n));
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}

export function bytesOf(frame) {
  return Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
}

/** Index of the first differing byte, or -1. */
export function firstDifference(a, b) {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** A vg.Frame is packed 8-bit RGB equal to the oracle's bytes, or the assertion names the first byte that differs. */
export function assertSameFrame(frame, expected, what) {
  assert.equal(frame.channels, 3, `${what}: channels`);
  assert.equal(frame.dtype, 'uint8', `${what}: dtype`);
  const at = firstDifference(bytesOf(frame), expected);
  assert.equal(at, -1, `${what}: differs from the ffmpeg oracle at byte ${at}`);
}
