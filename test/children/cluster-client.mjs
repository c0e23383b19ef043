// A distributed run's client in its own process (to be killed mid-run):
//   node cluster-client.mjs DB REDIS QUEUE SLOW_MS VIDEO...
// prints "progress N" as rows are reported.
import * as vg from 'vidgraph';
import { build } from './cluster-graph.mjs';

const [db, redis, queue, slowMs, ...videos] = process.argv.slice(2);
const sc = new vg.Client({ db, cluster: { redis, queue }, threads: 1 });
await sc.run(build(sc, videos, Number(slowMs)), vg.PerfParams.manual(1, 1), {
  showProgress: false,
  cacheMode: vg.CacheMode.Overwrite,
  onProgress: (p) => process.stdout.write(`progress ${p.done}\n`),
});
process.stdout.write('finished\n');
