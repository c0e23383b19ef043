// Built-in ops, each against OpenCV's own result (python3-opencv) or a direct computation.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { fixture } from './helpers/corpus.mjs';
import { cv } from './helpers/opencv-oracle.mjs';
import { bytesOf } from './helpers/util.mjs';

// The engine binding, as the graph executor uses it (the public graph API is built on it).
const native = createRequire(import.meta.url)('../dist/native.js').native();

const reader = await vg.VideoReader.open(await fixture('h264_bframes_opengop.mp4'));
const [f0, f1] = (await reader.frames([10, 11])).map((x) => x.image);
await reader.close();

async function run(op, args, inputs, rows = 1) {
  const k = new native.NativeKernel(op, args);
  try {
    return await k.execute(inputs, rows);
  } finally {
    await k.close();
  }
}

function asBuffer(frameLike) {
  const d = frameLike.data;
  return d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

function assertEqualsCv(out, expected, what) {
  const shape = out.channels === 1 ? [out.height, out.width] : [out.height, out.width, out.channels];
  assert.deepEqual(shape, expected.shape, `${what}: shape`);
  assert.ok(asBuffer(out).equals(expected.data), `${what}: pixels differ from OpenCV`);
}

describe('built-in ops', () => {
  test('the registry declares every built-in op with its inputs, outputs and stencil', () => {
    const ops = Object.fromEntries(native.ops().map((o) => [o.name, o]));
    for (const name of ['Resize', 'ConvertColor', 'Blur', 'Histogram', 'OpticalFlow', 'CloneChannels', 'ImageEncoder', 'ImageDecoder', 'FrameInfo', 'Pass', 'Discard']) {
      assert.ok(ops[name], name);
    }
    assert.deepEqual(ops.OpticalFlow.stencil, [0, 1]);
    assert.deepEqual(ops.Histogram.outputs, [{ name: 'histogram', type: 'bytes' }]);
  });

  for (const interp of ['INTER_LINEAR', 'INTER_NEAREST', 'INTER_CUBIC', 'INTER_AREA']) {
    test(`Resize (${interp}) equals cv2.resize`, async () => {
      const [[out]] = await run('Resize', { width: 200, height: 150, interpolation: interp }, [[f0]]);
      assertEqualsCv(out, cv(`cv2.resize(img, (200, 150), interpolation=cv2.${interp})`, f0), interp);
    });
  }

  test('Resize with preserveAspect fits inside the box', async () => {
    const [[out]] = await run('Resize', { width: 100, height: 100, preserveAspect: true }, [[f0]]);
    assert.deepEqual([out.width, out.height], [100, 75]);
    assertEqualsCv(out, cv('cv2.resize(img, (100, 75), interpolation=cv2.INTER_LINEAR)', f0), 'preserveAspect');
  });

  for (const conv of ['COLOR_RGB2GRAY', 'COLOR_RGB2HSV', 'COLOR_RGB2BGR', 'COLOR_RGB2Lab']) {
    test(`ConvertColor ${conv} equals cv2.cvtColor`, async () => {
      const [[out]] = await run('ConvertColor', { conversion: conv }, [[f0]]);
      assertEqualsCv(out, cv(`cv2.cvtColor(img, cv2.${conv})`, f0), conv);
    });
  }

  test('Blur equals cv2.GaussianBlur', async () => {
    const [[out]] = await run('Blur', { kernelSize: 7, sigma: 2.5 }, [[f0]]);
    assertEqualsCv(out, cv('cv2.GaussianBlur(img, (7, 7), 2.5, sigmaY=2.5)', f0), 'Blur');
  });

  test('Histogram counts 16 bins per channel (bin = value >> 4), R, G, B', async () => {
    const [[out]] = await run('Histogram', {}, [[f0]]);
    assert.equal(out.byteLength, 3 * 16 * 4);
    const got = new Int32Array(out.buffer, out.byteOffset, 48);
    const expected = new Int32Array(48);
    const px = f0.data;
    for (let i = 0; i < px.length; i += 3) {
      expected[px[i] >> 4]++;
      expected[16 + (px[i + 1] >> 4)]++;
      expected[32 + (px[i + 2] >> 4)]++;
    }
    assert.deepEqual(Array.from(got), Array.from(expected));
    // And OpenCV agrees on the red channel.
    const red = cv('cv2.calcHist([img], [0], None, [16], [0, 256]).astype("int32").ravel()', f0);
    assert.deepEqual(Array.from(new Int32Array(red.data.buffer, red.data.byteOffset, 16)), Array.from(got.subarray(0, 16)));
  });

  test('OpticalFlow (stencil [0, 1]) equals cv2.calcOpticalFlowFarneback on the gray frames', async () => {
    const [[flow]] = await run('OpticalFlow', {}, [[f0, f1]]);
    assert.equal(flow.channels, 2);
    assert.equal(flow.dtype, 'float32');
    const expected = cv('cv2.calcOpticalFlowFarneback(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.cvtColor(img2, cv2.COLOR_RGB2GRAY), None, 0.5, 3, 15, 3, 5, 1.2, 0)', f0, f1);
    assertEqualsCv(flow, expected, 'OpticalFlow');
  });

  test('CloneChannels replicates a gray frame into 3 channels', async () => {
    const [[gray]] = await run('ConvertColor', { conversion: 'COLOR_RGB2GRAY' }, [[f0]]);
    const [[out]] = await run('CloneChannels', { replications: 3 }, [[gray]]);
    assert.equal(out.channels, 3);
    assertEqualsCv(out, cv('cv2.merge([cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)] * 3)', f0), 'CloneChannels');
  });

  test('ImageEncoder PNG and JPEG equal cv2.imencode; ImageDecoder inverts PNG exactly', async () => {
    const [[png]] = await run('ImageEncoder', { format: 'png' }, [[f0]]);
    assert.ok(Buffer.from(png).equals(cv("cv2.imencode('.png', cv2.cvtColor(img, cv2.COLOR_RGB2BGR))", f0).data));
    const [[jpg]] = await run('ImageEncoder', { format: 'jpeg', quality: 80 }, [[f0]]);
    assert.ok(Buffer.from(jpg).equals(cv("cv2.imencode('.jpg', cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])", f0).data));
    const [[back]] = await run('ImageDecoder', {}, [[png]]);
    assert.ok(asBuffer(back).equals(bytesOf(f0)), 'PNG round trip is lossless');
  });

  test('FrameInfo reports width, height and channels as JSON', async () => {
    const [[info]] = await run('FrameInfo', {}, [[f0]]);
    assert.deepEqual(JSON.parse(Buffer.from(info).toString()), { width: 320, height: 240, channels: 3 });
  });

  test('Pass returns its input object; null rows stay null', async () => {
    const [[a, b]] = await run('Pass', {}, [[f0, null]], 2);
    assert.equal(a, f0);
    assert.equal(b, null);
    const [[r]] = await run('Resize', { width: 10, height: 10 }, [[null]]);
    assert.equal(r, null);
  });

  test('bad arguments and inputs are errors that name the op', async () => {
    assert.throws(() => new native.NativeKernel('NoSuchOp', {}), { code: 'ERR_NOT_FOUND' });
    assert.throws(() => new native.NativeKernel('Resize', { width: 0, height: 10 }), { code: 'ERR_BAD_ARGUMENT', message: /Resize: expected integer width between 1 and 16384, got 0/ });
    assert.throws(() => new native.NativeKernel('ConvertColor', { conversion: 'COLOR_NOPE' }), { message: /unknown conversion 'COLOR_NOPE'/ });
    assert.throws(() => new native.NativeKernel('Blur', { kernelSize: 4 }), { message: /odd/ });
    const [[gray]] = await run('ConvertColor', { conversion: 'COLOR_RGB2GRAY' }, [[f0]]);
    await assert.rejects(run('ConvertColor', { conversion: 'COLOR_RGB2GRAY' }, [[gray]]), { code: 'ERR_BAD_ARGUMENT', message: /ConvertColor/ });
    await assert.rejects(run('Histogram', {}, [[gray]]), { message: /Histogram: expected a uint8 frame with 3 channels/ });
    await assert.rejects(run('ImageDecoder', {}, [[new Uint8Array([1, 2, 3])]]), { code: 'ERR_DECODE' });
  });
});
