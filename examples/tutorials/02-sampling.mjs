// Scanner tutorial 2: computing on a subset of frames. Only the frames the output needs
// are decoded: stats.framesDecoded shows how few.
//   node examples/tutorials/02-sampling.mjs [video]
import * as vg from 'vidgraph';
import { sampleVideo } from './sample.mjs';

const file = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const sc = new vg.Client();
const video = new vg.NamedVideoStream(sc, 'tutorial-a', { path: file });
const frames = sc.io.Input([video]);

const samplings = {
  stride: sc.streams.Stride(frames, [30]),                      // every 30th frame
  range: sc.streams.Range(frames, [[0, 30]]),                   // the first second
  gather: sc.streams.Gather(frames, [[299, 0, 150, 150]]),      // any rows, any order, repeats
};
for (const [name, sampled] of Object.entries(samplings)) {
  const out = new vg.NamedVideoStream(sc, `tutorial-sampled-${name}`); // a video stream can hold histograms
  const { stats } = await sc.run(sc.io.Output(sc.ops.Histogram({ frame: sampled }), [out]), vg.PerfParams.estimate(), { cacheMode: vg.CacheMode.Overwrite });
  console.log(`${name}: ${await out.len()} rows, decoded ${stats.framesDecoded} of ${await video.len()} frames`);
}
await sc.close();
