// Child process for the crash test: runs Blur over a video into `out`, printing progress.
import * as vg from 'vidgraph';
const [db, file] = process.argv.slice(2);
const sc = new vg.Client({ db });
const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'input', { path: file })]);
const blurred = sc.ops.Blur({ frame: frames, kernelSize: 9, sigma: 3 });
await sc.run(sc.io.Output(blurred.lossless(), [new vg.NamedVideoStream(sc, 'out')]), vg.PerfParams.manual(2, 2), {
  showProgress: false,
  onProgress: (p) => process.stdout.write(`done ${p.done}\n`),
});
process.stdout.write('finished\n');
