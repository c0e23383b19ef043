// vidgraph side of bench/peers.mjs, one pattern per process so that start-up counts as it
// does for the Python peers.
//
//   node vidgraph_rows.mjs reader FILE THREADS SPEC [DUMP_DIR]
//   node vidgraph_rows.mjs graph  FILE THREADS SPEC DB STREAM
//
// SPEC is JSON: {"kind": "sequential"}, {"kind": "rows", "rows": [...]} or {"kind": "stride",
// "step": k}. Prints one JSON line {seconds, frames, decoded, seeks}: seconds from after the
// imports to the last frame, frames returned, frames the codec produced.
//
// reader  VideoReader.open(FILE, { threads }) (which scans the file into its packet index),
//         then iterFrames() for sequential, else frames(rows) over the sorted rows in batches
//         of whole keyframe intervals of at most 256 MiB of RGB each (a single call would hold
//         every frame at once: 450 rows of 1080p are 2.8 GB). DUMP_DIR: as the Python peers.
// graph   a Client on DB, where STREAM was ingested from FILE beforehand (ingest happens once
//         per database, so it is not timed); Input -> [Stride | Gather] -> FrameInfo -> Output,
//         run with PerfParams.estimate(); decoded is stats.framesDecoded.
import fs from 'node:fs';
import path from 'node:path';
import * as vg from 'vidgraph';

const [mode, file, threadsArg, specArg, ...rest] = process.argv.slice(2);
const threads = Number(threadsArg);
const spec = JSON.parse(specArg);
const t0 = performance.now();
let result;

if (mode === 'reader') {
  const dump = rest[0];
  const reader = await vg.VideoReader.open(file, { threads });
  let frames = 0;
  const emit = ({ index, image }) => {
    frames += image.width > 0 ? 1 : 0;
    if (dump) fs.writeFileSync(path.join(dump, `${index}.rgb`), image.data);
  };
  if (spec.kind === 'sequential') {
    for await (const f of reader.iterFrames()) emit(f);
  } else {
    const rows = spec.kind === 'stride'
      ? Array.from({ length: Math.ceil(reader.frameCount / spec.step) }, (_, i) => i * spec.step)
      : [...new Set(spec.rows)].sort((a, b) => a - b);
    const frameBytes = reader.width * reader.height * 3;
    const perBatch = Math.max(1, Math.floor(256 * 2 ** 20 / frameBytes));
    // Whole keyframe intervals per batch, so that no interval is decoded twice (an interval
    // with more rows than fit in a batch is split).
    const keys = reader.keyframeRows();
    const groups = [];
    let k = -1;
    for (const r of rows) {
      let kr = Math.max(k, 0);
      while (kr + 1 < keys.length && keys[kr + 1] <= r) kr++;
      if (kr !== k || groups.at(-1).length >= perBatch) groups.push([]);
      k = kr;
      groups.at(-1).push(r);
    }
    let batch = [];
    for (const g of groups) {
      if (batch.length > 0 && batch.length + g.length > perBatch) {
        for (const f of await reader.frames(batch)) emit(f);
        batch = [];
      }
      batch.push(...g);
    }
    if (batch.length > 0) for (const f of await reader.frames(batch)) emit(f);
  }
  const { framesDecoded, seeks } = reader.stats;
  await reader.close();
  result = { frames, decoded: framesDecoded, seeks };
} else if (mode === 'graph') {
  const [db, name] = rest;
  const sc = new vg.Client({ db, threads });
  const video = new vg.NamedVideoStream(sc, name);
  const input = sc.io.Input([video]);
  const sampled = spec.kind === 'sequential' ? input
    : spec.kind === 'stride' ? sc.streams.Stride(input, [spec.step])
    : sc.streams.Gather(input, [[...new Set(spec.rows)].sort((a, b) => a - b)]);
  const out = new vg.NamedStream(sc, `${name}-peers-out`);
  const { stats, failedJobs } = await sc.run(sc.io.Output(sc.ops.FrameInfo({ frame: sampled }), [out]), vg.PerfParams.estimate(),
    { cacheMode: vg.CacheMode.Overwrite, showProgress: false });
  if (failedJobs.length > 0) throw new Error(`graph run failed: ${stats.errors?.join('; ')}`);
  await sc.close();
  result = { frames: stats.rowsWritten, decoded: stats.framesDecoded, seeks: null };
} else {
  throw new Error(`vidgraph_rows: unknown mode ${mode}`);
}
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, ...result }));
