// Frame.toMat() / Frame.fromMat() through the optional peer dependency @u4/opencv4nodejs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as vg from 'vidgraph';
import { fixture } from './helpers/corpus.mjs';
import { bytesOf } from './helpers/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const native = createRequire(import.meta.url)('../dist/native.js').native();

describe('Frame and OpenCV', () => {
  test('toMat() and fromMat() round-trip every dtype and channel count', () => {
    const cases = [['uint8', Uint8Array, 3], ['uint8', Uint8Array, 1], ['uint16', Uint16Array, 2], ['float32', Float32Array, 2], ['float64', Float64Array, 4]];
    for (const [dtype, Ctor, channels] of cases) {
      const data = Ctor.from({ length: 3 * 5 * channels }, (_, i) => i * 3 + 1);
      const f = vg.Frame.from(data, 3, 5, channels);
      const mat = f.toMat();
      assert.deepEqual([mat.rows, mat.cols, mat.channels], [3, 5, channels], dtype);
      const back = vg.Frame.fromMat(mat);
      assert.equal(back.dtype, dtype);
      assert.deepEqual(Array.from(back.data), Array.from(data), `${dtype} x${channels}`);
    }
  });

  test('a decoded frame resized by opencv4nodejs equals the engine Resize (both OpenCV)', async () => {
    const reader = await vg.VideoReader.open(await fixture('hevc.mp4'));
    const { image } = await reader.frame(12);
    await reader.close();
    const cv = vg.Frame.opencv();
    const viaJs = vg.Frame.fromMat(image.toMat().resize(120, 160, 0, 0, cv.INTER_LINEAR));
    const k = new native.NativeKernel('Resize', { width: 160, height: 120 });
    const [[viaEngine]] = await k.execute([[image]], 1);
    await k.close();
    assert.deepEqual([viaJs.width, viaJs.height], [160, 120]);
    assert.ok(bytesOf(viaJs).equals(Buffer.from(viaEngine.data)));
  });

  test('without opencv4nodejs, toMat() is a clear ERR_NOT_FOUND saying how to install it', async () => {
    const hide = "const M = require('module'); const r = M._resolveFilename; M._resolveFilename = function (id, ...a) { if (id === '@u4/opencv4nodejs') throw new Error('Cannot find module'); return r.call(this, id, ...a); };";
    const script = `${hide} const vg = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))}); try { vg.Frame.alloc(1, 1, 3).toMat(); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script]);
    const err = JSON.parse(stdout);
    assert.equal(err.code, 'ERR_NOT_FOUND');
    assert.match(err.message, /optional peer dependency @u4\/opencv4nodejs.*OPENCV4NODEJS_DISABLE_AUTOBUILD=1/);
  });
});
