// Child of plugin-safety.test.mjs: runs a plugin op whose kernel never returns on job 0 (8-pixel
// wide frames) with a short kernelTimeout and prints what the run committed. It does not call
// process.exit: the abandoned kernel's stuck thread must not keep the process alive.
import * as vg from 'vidgraph';

const [plugin, db] = process.argv.slice(2);
const sc = new vg.Client({ db });
await sc.loadOp(plugin);
const frames = (n, width) => Array.from({ length: n }, () => vg.Frame.alloc(2, width, 3));
const input = sc.io.Input([new vg.ArrayStream(frames(3, 8)), new vg.ArrayStream(frames(4, 4))]);
const outs = [new vg.NamedStream(sc, 'a'), new vg.NamedStream(sc, 'b')];
const result = await sc.run(sc.io.Output(sc.ops.HangExecute({ frame: input }).lossless(), outs), vg.PerfParams.manual(2, 2), { showProgress: false, kernelTimeout: 3000 });
const widths = [];
for await (const f of outs[1].load()) widths.push(f.width);
process.stdout.write(`${JSON.stringify({ failedJobs: result.failedJobs, errors: result.stats.errors, committed: { a: await outs[0].exists(), b: widths } })}\n`);
