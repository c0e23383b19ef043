/**
 * Bounds on what one call can make the machine spend (issue 8): thread counts, decoded
 * picture sizes. The native engine enforces the same bounds for direct calls.
 */
import * as os from 'node:os';
import { BadArgumentError } from './errors';
import { describe, integer } from './validate';

/** Thread options above this are refused. */
export const MAX_THREADS = 1024;
/** More threads than this many per core only cost memory: larger requests are clamped, with a warning. */
export const THREADS_PER_CORE = 4;

/** The most threads one option can start on this machine: THREADS_PER_CORE × cores. */
export function threadCap(): number {
  return THREADS_PER_CORE * Math.max(1, os.availableParallelism());
}

/**
 * A thread-count option: an integer from `min` to MAX_THREADS (ERR_BAD_ARGUMENT otherwise),
 * clamped to threadCap() with a process warning ('VIDGRAPH_THREADS_CLAMPED').
 */
export function threadsOption(where: string, name: string, value: unknown, min = 1): number {
  const n = integer(where, name, value, { min, max: MAX_THREADS });
  const cap = threadCap();
  if (n <= cap) return n;
  const key = `${where}\0${name}\0${n}`;
  if (warned.has(key)) return cap; // once per call site and value, not once per reader
  warned.add(key);
  process.emitWarning(`${where}: ${name} ${n} is more than ${THREADS_PER_CORE} per core on this ${os.availableParallelism()}-core machine; using ${cap}`, { code: 'VIDGRAPH_THREADS_CLAMPED' });
  return cap;
}

const warned = new Set<string>();

/** The default limitInputPixels: 8K UHD (7680 × 4320). */
export const DEFAULT_LIMIT_INPUT_PIXELS = 7680 * 4320;

/**
 * limitInputPixels (sharp's name): a positive integer, or false for no limit of vidgraph's own.
 * Returns the value the engine takes (maxPixels, 0 for none).
 */
export function limitInputPixelsOption(where: string, value: unknown): number {
  if (value === undefined) return DEFAULT_LIMIT_INPUT_PIXELS;
  if (value === false) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new BadArgumentError(`${where}: expected limitInputPixels as an integer > 0 or false, got ${describe(value)}`);
  }
  return value;
}
