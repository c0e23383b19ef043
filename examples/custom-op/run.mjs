// Loads the MyResize plugin and runs it over a sample video.
//   node examples/custom-op/run.mjs path/to/libmyresize.so [video]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { sampleVideo } from '../tutorials/sample.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const [so = path.join(here, 'build', 'myresize.so'), file = sampleVideo('sample-360p.mp4')] = process.argv.slice(2);
const sc = new vg.Client();
await sc.loadOp(so, path.join(here, 'resize.proto'));

const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'tutorial-a', { path: file })]);
// In TypeScript, myresize.d.ts (written by `npx vidgraph types resize.proto`) declares sc.ops.MyResize.
const resized = sc.ops.MyResize({ frame: frames, width: 200, height: 300 });
const out = new vg.NamedVideoStream(sc, 'tutorial-myresize');
await sc.run(sc.io.Output(resized, [out]), vg.PerfParams.estimate(), { cacheMode: vg.CacheMode.Overwrite });
const meta = await out.metadata();
console.log(`tutorial-myresize: ${meta.frames} frames ${meta.width}x${meta.height}`);
await sc.close();
