// The graph of the distributed-run tests (test/distributed.test.mjs), shared with the client
// child process (cluster-client.mjs): per video, every 2nd frame resized (encoded), Farneback
// flow on 8 rows (a stencil op), histograms, and a worker-pool TypeScript op (slowMs per row).
import * as vg from 'vidgraph';

const KERNELS = new URL('./kernels.mjs', import.meta.url);
vg.registerOp({ name: 'SlowInvert', inputs: { frame: vg.FrameType }, outputs: { frame: vg.FrameType }, module: { url: KERNELS, export: 'slowInvert' } });

export function build(sc, videos, slowMs = 0) {
  const inputs = videos.map((v, i) => new vg.NamedVideoStream(sc, `v${i}`, { path: v }));
  const frames = sc.io.Input(inputs);
  const small = sc.ops.Resize({ frame: sc.streams.Stride(frames, [2]), width: 96, height: 64 });
  const flow = sc.ops.OpticalFlow({ frame: sc.streams.Range(frames, [[4, 12]]) });
  const inverted = sc.ops.call('SlowInvert', { frame: sc.streams.Gather(small, [[5, 1, 1, 3]]), ms: slowMs });
  const out = (kind, i) => `${kind}${i}`;
  return [
    sc.io.Output(small.compressVideo({ quality: 28, keyframeDistance: 6 }), videos.map((_, i) => new vg.NamedVideoStream(sc, out('small', i)))),
    sc.io.Output(flow.lossless(), videos.map((_, i) => new vg.NamedStream(sc, out('flow', i)))),
    sc.io.Output(sc.ops.Histogram({ frame: small }), videos.map((_, i) => new vg.NamedStream(sc, out('hist', i)))),
    sc.io.Output(inverted.lossless(), videos.map((_, i) => new vg.NamedStream(sc, out('inv', i)))),
  ];
}
