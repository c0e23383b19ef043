// The worker side of the piscina and tinypool pools in bench/worker-pool.mjs: the same work as
// lib/kernels/worker-entry.ts (one kernel instance per op instance and worker, frames in as
// plain copies, frames out transferred), behind the task-function interface both libraries use.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { TsKernelRunner } = require('../../dist/kernels/ts-ops.js');
const { fromPlain, toPlain } = require('../../dist/kernels/plain-frame.js');
const { Frame } = require('../../dist/frame.js');

// Each pool's library loads this file; the other one may not be installed.
const optional = (name) => import(name).catch(() => ({}));
const { move = (v) => v } = await optional('piscina');
const { markMovable = () => undefined } = await optional('tinypool');

const runners = new Map();

async function runner(id, op, config) {
  let p = runners.get(id);
  if (!p) {
    p = import(op.module.url).then((mod) => new TsKernelRunner(op, config, mod[op.module.export]));
    runners.set(id, p);
  }
  return p;
}

export default async function task(m) {
  const r = await runner(m.id, m.op, m.config);
  if (m.type === 'init') return undefined;
  if (m.type === 'reset') return void (await r.reset());
  if (m.type === 'close') {
    await r.close();
    runners.delete(m.id);
    return undefined;
  }
  const cols = m.cols.map((c) => c.map((v) => (v && !(v instanceof Uint8Array) ? fromPlain(v) : v)));
  const out = await r.run(cols, m.rows);
  const transfer = [];
  const plain = out.map((col) => col.map((v) => {
    if (v instanceof Frame) {
      const p = toPlain(v);
      transfer.push(p.data.buffer);
      return p;
    }
    return v;
  }));
  // Both libraries move what a result marked movable lists under their transferable symbol
  // (piscina's protocol, kept by its fork tinypool under its own symbols).
  const result = {
    [Symbol.for('Piscina.transferable')]: transfer,
    [Symbol.for('Piscina.valueOf')]: plain,
    [Symbol.for('Tinypool.transferable')]: transfer,
    [Symbol.for('Tinypool.valueOf')]: plain,
  };
  markMovable(result);
  return move(result);
}
