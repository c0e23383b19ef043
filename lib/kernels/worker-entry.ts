/**
 * The worker-thread side of `module: { url, export }` kernels: loads the user's module, keeps
 * one kernel instance per op instance, and runs batches it is sent.
 */
import { parentPort } from 'node:worker_threads';
import { Frame } from '../frame';
import { KernelConfig, TsKernelRunner, TsOp } from './ts-ops';
import type { Value } from '../run/evaluate';
import { PlainFrame, fromPlain, toPlain } from './plain-frame';

type Message =
  | { type: 'init'; id: number; op: TsOp; config: KernelConfig }
  | { type: 'execute'; id: number; seq: number; cols: (PlainFrame | Uint8Array | null)[][]; rows: number }
  | { type: 'reset'; id: number; seq: number }
  | { type: 'close'; id: number; seq: number };

const runners = new Map<number, Promise<TsKernelRunner>>();
// A real dynamic import (TypeScript's CommonJS output would turn import() into require(), which
// cannot load ES modules or file: URLs).
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

async function load(op: TsOp, config: KernelConfig): Promise<TsKernelRunner> {
  const mod = await importModule(op.module!.url);
  const fn = mod[op.module!.export];
  if (typeof fn !== 'function') throw new Error(`${op.name}: module ${op.module!.url} has no function or class export '${op.module!.export}'`);
  return new TsKernelRunner(op, config, fn as never);
}

parentPort!.on('message', async (m: Message) => {
  try {
    if (m.type === 'init') {
      const p = load(m.op, m.config);
      p.catch(() => undefined);
      runners.set(m.id, p);
      return;
    }
    const runner = await runners.get(m.id)!;
    if (m.type === 'reset') {
      await runner.reset();
      parentPort!.postMessage({ seq: m.seq });
    } else if (m.type === 'close') {
      await runner.close();
      runners.delete(m.id);
      parentPort!.postMessage({ seq: m.seq });
    } else {
      const cols: Value[][] = m.cols.map((c) => c.map((v) => (v && !(v instanceof Uint8Array) ? fromPlain(v) : v)));
      const out = await runner.run(cols, m.rows);
      const transfer: ArrayBuffer[] = [];
      const plain = out.map((col) => col.map((v) => {
        if (v instanceof Frame) {
          const p = toPlain(v);
          transfer.push(p.data.buffer as ArrayBuffer);
          return p;
        }
        return v;
      }));
      parentPort!.postMessage({ seq: m.seq, result: plain }, transfer);
    }
  } catch (err) {
    const e = err as Error;
    parentPort!.postMessage({ seq: (m as { seq?: number }).seq, error: { message: e?.message ?? String(err), stack: e?.stack, code: (e as { code?: string })?.code } });
  }
});
