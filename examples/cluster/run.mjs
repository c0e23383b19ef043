// Scanner's cluster tutorial, on vidgraph: the histogram graph of tutorial 1, run by workers that
// take tasks from a Redis queue. Start Redis and workers first (see README.md here), all seeing the
// same database directory, then:
//   VIDGRAPH_REDIS=redis://127.0.0.1:6379 VIDGRAPH_DB=/shared/db node examples/cluster/run.mjs [video...]
import * as vg from 'vidgraph';
import { sampleVideo } from '../tutorials/sample.mjs';

const redis = process.env.VIDGRAPH_REDIS ?? 'redis://127.0.0.1:6379';
const files = process.argv.length > 2 ? process.argv.slice(2) : [sampleVideo('sample-360p.mp4'), sampleVideo('sample-mandelbrot.mp4', { source: 'mandelbrot' })];
const sc = new vg.Client({ cluster: { redis, queue: process.env.VIDGRAPH_QUEUE ?? 'vidgraph' } });
const videos = files.map((f, i) => new vg.NamedVideoStream(sc, `cluster-${i}`, { path: f }));
const histograms = sc.ops.Histogram({ frame: sc.io.Input(videos) });
const outputs = videos.map((v) => new vg.NamedStream(sc, `${v.name()}-hist`, { type: vg.Histogram }));
const { stats, failedJobs } = await sc.run(sc.io.Output(histograms, outputs), vg.PerfParams.estimate(), {
  cacheMode: vg.CacheMode.Overwrite,
  onProgress: (p) => { if (p.done === p.total) console.log(`all ${p.total} rows done by ${p.workers} worker(s)`); },
});
console.log(`cluster: ${stats.rowsWritten} histograms from ${videos.length} videos in ${stats.seconds.toFixed(2)} s; failed jobs: ${failedJobs.length}`);
for (const out of outputs) {
  let n = 0;
  for await (const [r] of out.load()) n += r.length === 16 ? 1 : 0;
  console.log(`${out.name()}: ${n} histograms`);
}
await sc.close();
