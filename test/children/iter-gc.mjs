// Child of test/cleanup.test.mjs: reads every frame of `file` with a default iterFrames() (each
// frame dropped by the loop, as most readers do) and prints, as JSON, the frames read and the
// garbage collections V8 ran during the read, by kind (from perf_hooks' 'gc' entries).
import { PerformanceObserver, constants } from 'node:perf_hooks';
import * as vg from 'vidgraph';

const [file] = process.argv.slice(2);
const kinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' };
const counts = { minor: 0, major: 0, incremental: 0, weakcb: 0 };
const reader = await vg.VideoReader.open(file, { cacheBytes: 0 });
let reading = false;
const observer = new PerformanceObserver((list) => {
  if (!reading) return;
  for (const e of list.getEntries()) counts[kinds[e.detail.kind] ?? 'weakcb']++;
});
observer.observe({ entryTypes: ['gc'] });
reading = true;
let frames = 0;
for await (const f of reader.iterFrames()) frames += f.image.data.byteLength > 0 ? 1 : 0;
await new Promise((resolve) => setImmediate(resolve)); // deliver the last entries
reading = false;
observer.disconnect();
await reader.close();
console.log(JSON.stringify({ frames, ...counts }));
