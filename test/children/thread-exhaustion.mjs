// Child of test/safety.test.mjs: limits its own address space (prlimit on its own pid), then
// creates native kernels, each with its own engine thread, until the system refuses a thread.
// Prints one JSON line: { code, message, created, stackKb, afterwards }.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const native = createRequire(import.meta.url)('../../dist/native.js').native();
// Warm up everything a kernel call needs before the limit (code pages, the first thread).
const warm = new native.NativeKernel('Histogram', {});
await warm.execute([[{ height: 2, width: 2, channels: 3, dtype: 'uint8', data: new Uint8Array(12) }]], 1);
// Each thread reserves the default stack size (RLIMIT_STACK at start: the test runs this child
// with 64 MiB, so that a refusal leaves the rest of the process room to go on). The cap leaves
// room for three and a half stacks: three threads start, the fourth is refused, and half a
// stack's worth of address space stays free for Node, V8 and the engine.
const stackKb = Number(/Max stack size\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))[1]) / 1024;
const vmKb = Number(/VmSize:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
execFileSync('prlimit', ['--pid', String(process.pid), `--as=${Math.round(vmKb + 3.5 * stackKb) * 1024}:unlimited`]);
const kernels = [];
let outcome = { code: 'none', message: 'no thread was refused', created: 0, stackKb };
for (let i = 0; i < 2000; i++) {
  try {
    kernels.push(new native.NativeKernel('Histogram', {}));
  } catch (e) {
    outcome = { code: e.code, message: e.message, created: kernels.length, stackKb };
    break;
  }
}
// The process goes on: free the threads, raise the limit, and use the engine again.
await Promise.all(kernels.map((k) => k.close()));
execFileSync('prlimit', ['--pid', String(process.pid), '--as=unlimited:unlimited']);
let afterwards = 'ok';
try {
  await warm.execute([[{ height: 2, width: 2, channels: 3, dtype: 'uint8', data: new Uint8Array(12) }]], 1);
} catch (e) {
  afterwards = `${e.code}: ${e.message}`;
}
process.stdout.write(JSON.stringify({ ...outcome, afterwards }) + '\n');
