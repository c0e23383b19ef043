// Bounded resources (issue 8): op arguments.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { fixture } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

const native = createRequire(import.meta.url)('../dist/native.js').native();
const file = await fixture('h264_bframes_opengop.mp4'); // 48 frames of 320x240

describe('op arguments are bounded', () => {
  const sc = new vg.Client({ db: tempDir() });
  const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);

  test('when the graph is built: Blur kernelSize 999999 and other explosive arguments are refused', () => {
    assert.throws(() => sc.ops.Blur({ frame: frames, kernelSize: 999999 }), {
      code: 'ERR_BAD_ARGUMENT',
      message: "Blur: expected an odd integer between 1 and 255 for argument 'kernelSize', got 999999 (number)",
    });
    const refused = [
      ['Blur', { kernelSize: 4 }, /an odd integer between 1 and 255/],
      ['Blur', { sigma: 1e6 }, /a number between 0 and 100 for argument 'sigma', got 1000000/],
      ['Resize', { width: 20000, height: 10 }, /Resize: expected an integer between 1 and 16384 for argument 'width', got 20000/],
      ['Resize', { width: 10, height: 0 }, /between 1 and 16384 for argument 'height'/],
      ['CloneChannels', { replications: 1000 }, /an integer between 1 and 64 for argument 'replications'/],
      ['ImageEncoder', { quality: 101 }, /an integer between 0 and 100 for argument 'quality'/],
      ['OpticalFlow', { levels: 1000 }, /between 1 and 32 for argument 'levels'/],
      ['OpticalFlow', { winSize: 99999 }, /between 1 and 255 for argument 'winSize'/],
      ['OpticalFlow', { iterations: 1e6 }, /between 1 and 100 for argument 'iterations'/],
      ['OpticalFlow', { polyN: 999 }, /between 3 and 15 for argument 'polyN'/],
      ['OpticalFlow', { pyrScale: 1 }, /a number between 0 and 1 \(exclusive\) for argument 'pyrScale'/],
    ];
    for (const [op, args, message] of refused) {
      assert.throws(() => sc.ops[op]({ frame: frames, ...args }), { code: 'ERR_BAD_ARGUMENT', message }, `${op} ${JSON.stringify(args)}`);
    }
    // The bounds themselves are accepted.
    sc.ops.Blur({ frame: frames, kernelSize: 255, sigma: 100 });
    sc.ops.Resize({ frame: frames, width: 16384, height: 1 });
    sc.ops.CloneChannels({ frame: frames, replications: 64 });
  });

  test('in the engine: a NativeKernel constructed directly cannot bypass the bounds', () => {
    const refused = [
      ['Blur', { kernelSize: 999999 }, 'Blur: expected odd integer kernelSize between 1 and 255, got 999999'],
      ['Blur', { kernelSize: 1e20 }, 'Blur: expected odd integer kernelSize between 1 and 255, got 1e+20'],
      ['Blur', { sigma: 1e9 }, 'Blur: expected sigma between 0 and 100, got 1e+09'],
      ['Resize', { width: 1e12, height: 10 }, 'Resize: expected integer width between 1 and 16384, got 1e+12'],
      ['Resize', { width: 10, height: 20000 }, 'Resize: expected integer height between 1 and 16384, got 20000'],
      ['CloneChannels', { replications: 100000 }, 'CloneChannels: expected integer replications between 1 and 64, got 100000'],
      ['ImageEncoder', { format: 'jpeg', quality: 1000 }, 'ImageEncoder: expected integer quality between 0 and 100, got 1000'],
      ['OpticalFlow', { levels: 100000 }, 'OpticalFlow: expected integer levels between 1 and 32, got 100000'],
      ['OpticalFlow', { winSize: 1e7 }, 'OpticalFlow: expected integer winSize between 1 and 255, got 1e+07'],
      ['OpticalFlow', { iterations: 1e9 }, 'OpticalFlow: expected integer iterations between 1 and 100, got 1e+09'],
      ['OpticalFlow', { polySigma: 1e9 }, 'OpticalFlow: expected polySigma between 0 and 10, got 1e+09'],
    ];
    for (const [op, args, message] of refused) {
      assert.throws(() => new native.NativeKernel(op, args), { code: 'ERR_BAD_ARGUMENT', message }, `${op} ${JSON.stringify(args)}`);
    }
    assert.ok(new native.NativeKernel('Blur', { kernelSize: 255 }));
  });
});
