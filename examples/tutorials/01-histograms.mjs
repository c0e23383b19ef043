// Scanner tutorial 1: a histogram of every frame of two videos, one job per video.
//   node examples/tutorials/01-histograms.mjs [videoA videoB]
import * as vg from 'vidgraph';
import { sampleVideo } from './sample.mjs';

const [a = sampleVideo('sample-360p.mp4'), b = sampleVideo('sample-mandelbrot.mp4', { source: 'mandelbrot' })] = process.argv.slice(2);
const sc = new vg.Client();
const videos = [new vg.NamedVideoStream(sc, 'tutorial-a', { path: a }), new vg.NamedVideoStream(sc, 'tutorial-b', { path: b })];

const frames = sc.io.Input(videos);
const histograms = sc.ops.Histogram({ frame: frames });
const outputs = videos.map((v) => new vg.NamedStream(sc, `${v.name()}-hist`, { type: vg.Histogram }));
const output = sc.io.Output(histograms, outputs);

const { stats } = await sc.run(output, vg.PerfParams.estimate(), { cacheMode: vg.CacheMode.Overwrite });
console.log(`computed ${stats.rowsWritten} histograms in ${stats.seconds.toFixed(2)} s`);
for (const out of outputs) {
  let n = 0;
  let brightest = 0;
  for await (const [r, g, b] of out.load()) {
    n++;
    brightest = Math.max(brightest, r[15] + g[15] + b[15]);
  }
  console.log(`${out.name()}: ${n} histograms (3 channels x 16 bins); most pixels in the top bin: ${brightest}`);
}
await sc.close();
