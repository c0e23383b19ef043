// Op attribute: device. Ask for the GPU when there is one (Resize has a CUDA kernel); otherwise
// run on the CPU and say why (vg.gpuStatus().reason).
//   node examples/op-attributes/device-resize.mjs [video]
import * as vg from 'vidgraph';
import { sampleVideo } from '../tutorials/sample.mjs';

const file = process.argv[2] ?? sampleVideo('sample-360p.mp4');
const sc = new vg.Client();
const device = sc.hasGpu() ? vg.DeviceType.GPU : vg.DeviceType.CPU;
if (device === vg.DeviceType.CPU) console.log(`no CUDA GPU available (${vg.gpuStatus().reason}): running Resize on the CPU`);
const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'tutorial-a', { path: file })]);
const resized = sc.ops.Resize({ frame: frames, width: 320, height: 180, device });
const out = new vg.NamedVideoStream(sc, 'attr-device-resize');
await sc.run(sc.io.Output(resized, [out]), vg.PerfParams.estimate(), { cacheMode: vg.CacheMode.Overwrite });
const m = await out.metadata();
console.log(`attr-device-resize: ${m.frames} frames ${m.width}x${m.height} on ${device}`);
await sc.close();
