// Custom op overhead and worker-pool scaling, as ratios measured in the same run:
//   overhead  a pass-through C++ plugin op and a pass-through TS op (inline, and in the worker
//             pool) per frame, versus the same graph without it (Histogram of every frame of a
//             480p clip)
//   scaling   a CPU-heavy TS op in the worker pool versus inline (ideal: the core count)
//
//   node --expose-gc bench/ts-ops.mjs
import os from 'node:os';
import * as vg from 'vidgraph';
import { makeClip } from '../test/helpers/corpus.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const kernels = new URL('../test/children/kernels.mjs', import.meta.url);
const { heavy } = await import(kernels);
vg.registerOp({ name: 'PassInline', inputs: { frame: vg.FrameType }, outputs: { frame: vg.FrameType }, kernel: (c, { frame }) => frame });
vg.registerOp({ name: 'PassPool', inputs: { frame: vg.FrameType }, outputs: { frame: vg.FrameType }, module: { url: new URL('./children/pass.mjs', import.meta.url), export: 'pass' } });
vg.registerOp({ name: 'HeavyInline', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: heavy });
vg.registerOp({ name: 'HeavyPool', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, module: { url: kernels, export: 'heavy' } });

const clip = await makeClip('bench-480p.mp4', { width: 854, height: 480, seconds: 10, fps: 30, gop: 60 });
const db = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-bench-'));
const sc = new vg.Client({ db });
const video = new vg.NamedVideoStream(sc, 'v', { path: clip });
await video.ingest();
const frames = await video.len();

async function time(build, perf = vg.PerfParams.manual(16, 64)) {
  globalThis.gc?.();
  const input = sc.io.Input([video]);
  const t = performance.now();
  await sc.run(sc.io.Output(build(input), [new vg.NamedStream(sc, 'out')]), perf, { cacheMode: vg.CacheMode.Overwrite, showProgress: false });
  return (performance.now() - t) / 1000;
}

const pluginDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-plugin-'));
const pluginSo = path.join(pluginDir, 'pass_plugin.so');
execFileSync('g++', ['-O2', '-shared', '-fPIC', '-std=c++17', '-fvisibility=hidden', `-I${fileURLToPath(new URL('../include', import.meta.url))}`,
  fileURLToPath(new URL('./children/pass_plugin.cpp', import.meta.url)), '-o', pluginSo]);
await sc.loadOp(pluginSo);

const base = await time((f) => sc.ops.Histogram({ frame: f }));
const plugin = await time((f) => sc.ops.Histogram({ frame: sc.ops.PassPlugin({ frame: f }) }));
const inline = await time((f) => sc.ops.Histogram({ frame: sc.ops.PassInline({ frame: f }) }));
const pool = await time((f) => sc.ops.Histogram({ frame: sc.ops.PassPool({ frame: f }) }));
const heavyInline = await time((f) => sc.ops.HeavyInline({ frame: f, passes: 6 }));
const heavyPool = await time((f) => sc.ops.HeavyPool({ frame: f, passes: 6 }));
const ms = (s) => ((s / frames) * 1000).toFixed(3);
const f2 = (x) => x.toFixed(2);
console.log(`\nvidgraph TypeScript op benchmark — 854x480, ${frames} frames, ${os.availableParallelism()} cores\n`);
console.log(`overhead  graph without the op ${f2(base)} s; + pass-through C++ plugin (copies the frame) ${f2(plugin)} s (ratio ${f2(plugin / base)}, +${ms(plugin - base)} ms/frame)`);
console.log(`          + pass-through TS inline ${f2(inline)} s (ratio ${f2(inline / base)}, +${ms(inline - base)} ms/frame); + pass-through in the worker pool ${f2(pool)} s (ratio ${f2(pool / base)}, +${ms(pool - base)} ms/frame)`);
console.log(`scaling   CPU-heavy op inline ${f2(heavyInline)} s, worker pool ${f2(heavyPool)} s: speed-up ${f2(heavyInline / heavyPool)} on ${os.availableParallelism()} cores`);
console.log(JSON.stringify({ frames, base, plugin, inline, pool, heavyInline, heavyPool }));
fs.rmSync(pluginDir, { recursive: true, force: true });
fs.rmSync(db, { recursive: true, force: true });
