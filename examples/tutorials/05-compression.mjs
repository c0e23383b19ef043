// Scanner tutorial: output compression. Frame columns are H.264 by default; compressVideo()
// tunes the encoder, lossless() keeps raw frames; saveMp4 writes a playable file.
//   node examples/tutorials/05-compression.mjs [video]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vg from 'vidgraph';
import { sampleVideo } from './sample.mjs';

const file = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const sc = new vg.Client();
const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'tutorial-a', { path: file })]);
const blurred = sc.ops.Blur({ frame: frames, kernelSize: 5, sigma: 1.5 });

const variants = {
  'tutorial-blur-default': blurred,                                           // H.264, crf 23
  'tutorial-blur-small': sc.ops.Pass({ input: blurred }).compressVideo({ quality: 35, keyframeDistance: 30 }),
  'tutorial-blur-raw': sc.ops.Pass({ input: blurred }).lossless(),             // bit-exact frames
};
const outputs = Object.entries(variants).map(([name, col]) => sc.io.Output(col, [new vg.NamedVideoStream(sc, name)]));
await sc.run(outputs, vg.PerfParams.estimate(), { cacheMode: vg.CacheMode.Overwrite });

for (const s of await sc.listStreams()) {
  if (!s.name.startsWith('tutorial-blur')) continue;
  const meta = await new vg.NamedVideoStream(sc, s.name).metadata();
  console.log(`${s.name}: ${meta.codec}, ${meta.frames} frames, ${meta.keyframes} keyframes, ${(s.bytes / 2 ** 20).toFixed(2)} MiB`);
}
const mp4 = await new vg.NamedVideoStream(sc, 'tutorial-blur-default').saveMp4(path.join(os.tmpdir(), 'tutorial-blur'));
console.log(`saved ${mp4} (${(fs.statSync(mp4).size / 2 ** 20).toFixed(2)} MiB, remuxed without re-encoding)`);
await sc.close();
