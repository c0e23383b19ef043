// Training-data generators: shapes, labels, class discovery, splits, seeded shuffling, pixel
// values against OpenCV, sliding windows distinct and complete, and index-based frame counts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { fixture, makeClip, oracle } from './helpers/corpus.mjs';
import { cv } from './helpers/opencv-oracle.mjs';
import { tempDir } from './helpers/util.mjs';

let root;
const clips = {};

before(async () => {
  root = tempDir();
  for (const [cls, seconds] of [['walk', [1, 1.5, 2]], ['run', [1.25, 1.75, 2.25]]]) {
    fs.mkdirSync(path.join(root, cls));
    for (const s of seconds) {
      const src = await makeClip(`gen-${cls}-${s}.mp4`, { width: 160, height: 120, seconds: s, fps: 24, gop: 12 });
      const dst = path.join(root, cls, `${cls}-${s}.mp4`);
      fs.copyFileSync(src, dst);
      clips[dst] = src;
    }
  }
  fs.writeFileSync(path.join(root, 'walk', 'notes.txt'), 'not matched by the pattern');
});

const pattern = () => path.join(root, '{classname}', '*.mp4');

/** The expected tensor for a file's rows: cv2.resize (INTER_LINEAR) of the oracle frames, / 255. */
async function expected(file, rows, [w, h], gray = false) {
  const o = await oracle(file);
  const out = [];
  for (const r of rows) {
    const f = vg.Frame.from(new Uint8Array(o.frame(r)), o.height, o.width, 3);
    const expr = gray ? `cv2.cvtColor(cv2.resize(img, (${w}, ${h})), cv2.COLOR_RGB2GRAY)` : `cv2.resize(img, (${w}, ${h}))`;
    for (const v of cv(expr, f).data) out.push(v / 255);
  }
  return Float32Array.from(out);
}

describe('VideoFrameGenerator', () => {
  test('discovers classes from the pattern and yields batches with explicit shapes and one-hot labels', async () => {
    const gen = new vg.VideoFrameGenerator({ globPattern: pattern(), nbFrames: 4, batchSize: 2, targetShape: [32, 24], shuffle: false });
    assert.deepEqual(gen.classes, ['run', 'walk']);
    assert.equal(gen.classesCount, 2);
    assert.equal(gen.filesCount, 6);
    assert.equal(gen.length, 3);
    const b = await gen.getBatch(0);
    assert.deepEqual(b.xShape, [2, 4, 24, 32, 3]);
    assert.equal(b.x.length, 2 * 4 * 24 * 32 * 3);
    assert.deepEqual(b.yShape, [2, 2]);
    assert.deepEqual(Array.from(b.y), [1, 0, 1, 0]); // the first two files are 'run'
    let n = 0;
    for await (const batch of gen) n += batch.xShape[0];
    assert.equal(n, 6);
  });

  test('pixels: nbFrames spread over the whole video, resized as OpenCV does, rescaled', async () => {
    const gen = new vg.VideoFrameGenerator({ globPattern: pattern(), classes: ['walk'], nbFrames: 3, batchSize: 1, targetShape: [40, 30], shuffle: false });
    const file = gen.files[0];
    const b = await gen.getBatch(0);
    const frames = (await oracle(file)).count;
    const step = Math.floor(frames / 3);
    const want = await expected(file, [0, step, 2 * step], [40, 30]);
    assert.equal(b.x.length, want.length);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(b.x[i] - want[i]) < 1e-6, `value ${i}`);
  });

  test('nbChannel 1 gives gray frames; transform applies to each frame', async () => {
    const gen = new vg.VideoFrameGenerator({ globPattern: pattern(), classes: ['walk'], nbFrames: 2, batchSize: 1, targetShape: [20, 16], nbChannel: 1, shuffle: false });
    const b = await gen.getBatch(0);
    assert.deepEqual(b.xShape, [1, 2, 16, 20, 1]);
    const step = Math.floor((await oracle(gen.files[0])).count / 2);
    const want = await expected(gen.files[0], [0, step], [20, 16], true);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(b.x[i] - want[i]) < 1e-6);
    const inverted = new vg.VideoFrameGenerator({ globPattern: pattern(), classes: ['walk'], nbFrames: 2, batchSize: 1, targetShape: [20, 16], nbChannel: 1, shuffle: false,
      transform: (f) => vg.Frame.from(f.data.map((v) => 255 - v), f.height, f.width, f.channels), rescale: 1 });
    const c = await inverted.getBatch(0);
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(c.x[i] - (255 - Math.round(want[i] * 255))) < 1e-3);
  });

  test('split is taken per class; the validation generator holds those files', () => {
    const gen = new vg.VideoFrameGenerator({ globPattern: pattern(), nbFrames: 2, batchSize: 1, split: 0.34, seed: 3 });
    assert.equal(gen.filesCount, 4);
    const val = gen.getValidationGenerator();
    assert.equal(val.filesCount, 2);
    assert.equal(new Set([...gen.files, ...val.files]).size, 6);
    assert.deepEqual(val.files.map((f) => path.basename(path.dirname(f))).sort(), ['run', 'walk']);
  });

  test('shuffling is deterministic with a seed and changes at each epoch', async () => {
    const order = async (seed, epochs = 1) => {
      const gen = new vg.VideoFrameGenerator({ globPattern: pattern(), nbFrames: 2, batchSize: 1, targetShape: [8, 8], seed });
      const out = [];
      for (let e = 0; e < epochs; e++) {
        const labels = [];
        for (let i = 0; i < gen.length; i++) labels.push((await gen.getBatch(i)).x.reduce((a, v, k) => a + v * ((k % 97) + 1), 0).toFixed(3));
        out.push(labels.join('|'));
        gen.onEpochEnd();
      }
      return out;
    };
    const [a1, a2] = await order(42, 2);
    const [b1] = await order(42);
    assert.equal(a1, b1, 'same seed, same order');
    assert.notEqual(a1, a2, 'a new order for the next epoch');
  });

  test('a video whose header frame count is wrong is counted by the index', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'x'));
    fs.copyFileSync(await fixture('wrong_count.avi'), path.join(dir, 'x', 'v.avi')); // header 48, really 28
    const gen = new vg.VideoFrameGenerator({ globPattern: path.join(dir, '{classname}', '*.avi'), nbFrames: 4, batchSize: 1, targetShape: [16, 12], shuffle: false });
    const b = await gen.getBatch(0);
    const want = await expected(path.join(dir, 'x', 'v.avi'), [0, 7, 14, 21], [16, 12]);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(b.x[i] - want[i]) < 1e-6);
  });
});

describe('globPattern', () => {
  test('reads globs as keras-video\'s glob does, and more: {a,b} alternatives, ? and [...]; class names are literal; dot files are left out', async () => {
    const dir = tempDir();
    const clip = await makeClip('gen-glob.mp4', { width: 32, height: 24, seconds: 0.5, fps: 24 });
    const put = (...p) => {
      fs.mkdirSync(path.join(dir, ...p.slice(0, -1)), { recursive: true });
      fs.copyFileSync(clip, path.join(dir, ...p));
    };
    put('jump', 'v1.mp4'); put('jump', 'v2.avi'); put('jump', 'v10.mp4'); put('jump', 'v3.mkv'); put('jump', '.v4.mp4');
    put('a[1]', 'v1.mp4'); put('{x}', 'v1.avi');
    const files = (globPattern, classes) => new vg.VideoFrameGenerator({ globPattern, classes, nbFrames: 2, batchSize: 1 }).files.map((f) => path.relative(dir, f));
    assert.deepEqual(files(path.join(dir, '{classname}', '*.{avi,mp4}'), ['jump']), ['jump/v1.mp4', 'jump/v10.mp4', 'jump/v2.avi']);
    assert.deepEqual(files(path.join(dir, '{classname}', 'v?.mp4'), ['jump']), ['jump/v1.mp4']);
    assert.deepEqual(files(path.join(dir, '{classname}', 'v[23].*'), ['jump']), ['jump/v2.avi', 'jump/v3.mkv']);
    // Class names with glob syntax in them are matched literally, and discovered like any other.
    assert.deepEqual(files(path.join(dir, '{classname}', '*.{avi,mp4}')).sort(), ['a[1]/v1.mp4', 'jump/v1.mp4', 'jump/v10.mp4', 'jump/v2.avi', '{x}/v1.avi'].sort());
  });
});

describe('SlidingFrameGenerator', () => {
  test('every window is distinct and the windows cover the video, one step apart', async () => {
    const gen = new vg.SlidingFrameGenerator({ globPattern: pattern(), classes: ['walk'], nbFrames: 4, batchSize: 1, targetShape: [16, 12], shuffle: false });
    // walk: 36 + 24 + 48 frames (files sorted: walk-1.5, walk-1, walk-2) → 33 + 21 + 45 windows of 4 consecutive frames.
    assert.equal(gen.length, 33 + 21 + 45);
    const seen = new Set();
    for (let i = 0; i < 33; i++) seen.add((await gen.getBatch(i)).x.join(','));
    assert.equal(seen.size, 33, 'windows are distinct');
    const b = await gen.getBatch(5);
    const want = await expected(gen.files[0], [5, 6, 7, 8], [16, 12]);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(b.x[i] - want[i]) < 1e-6, 'window 5 is rows 5..8');
  });

  test('sequenceTime spreads a window over that many seconds', async () => {
    const gen = new vg.SlidingFrameGenerator({ globPattern: pattern(), classes: ['walk'], nbFrames: 4, batchSize: 1, targetShape: [16, 12], shuffle: false, sequenceTime: 1 });
    // step = round(24 fps * 1 s / 4) = 6; a window spans 19 frames; starts 0, 6, 12, ...
    const windows = (n) => Math.floor((n - 19) / 6) + 1;
    assert.equal(gen.length, windows(24) + windows(36) + windows(48));
    const b = await gen.getBatch(1);
    const want = await expected(gen.files[0], [6, 12, 18, 24], [16, 12]);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(b.x[i] - want[i]) < 1e-6);
  });
});

describe('OpticalFlowGenerator', () => {
  test("'flow' equals OpenCV's Farneback on the same resized frames, with the generator's parameters", async () => {
    const gen = new vg.OpticalFlowGenerator({ globPattern: pattern(), classes: ['walk'], nbFrames: 2, batchSize: 1, targetShape: [48, 36], shuffle: false, method: 'flow', flowLevel: 2, iterations: 4, winSize: 9 });
    const b = await gen.getBatch(0);
    assert.deepEqual(b.xShape, [1, 2, 36, 48, 2]);
    const file = gen.files[0];
    const o = await oracle(file);
    const step = Math.floor(o.count / 3);
    const frame = (r) => vg.Frame.from(new Uint8Array(o.frame(r)), o.height, o.width, 3);
    const small = (v) => `cv2.cvtColor(cv2.resize(${v}, (48, 36)), cv2.COLOR_RGB2GRAY)`;
    const ref = cv(`cv2.calcOpticalFlowFarneback(${small('img')}, ${small('img2')}, None, 0.5, 2, 9, 4, 5, 1.2, 0)`, frame(step), frame(2 * step));
    const got = new Float32Array(b.x.buffer, b.x.byteOffset + 36 * 48 * 2 * 4, 36 * 48 * 2);
    const want = new Float32Array(ref.data.buffer, ref.data.byteOffset, 36 * 48 * 2);
    assert.deepEqual(Array.from(got), Array.from(want));
  });

  test("'absDiff' is the absolute difference of consecutive resized frames", async () => {
    const gen = new vg.OpticalFlowGenerator({ globPattern: pattern(), classes: ['run'], nbFrames: 3, batchSize: 1, targetShape: [24, 18], shuffle: false, method: 'absDiff' });
    const b = await gen.getBatch(0);
    assert.deepEqual(b.xShape, [1, 3, 18, 24, 3]);
    const o = await oracle(gen.files[0]);
    const step = Math.floor(o.count / 4);
    const frame = (r) => vg.Frame.from(new Uint8Array(o.frame(r)), o.height, o.width, 3);
    const ref = cv('cv2.absdiff(cv2.resize(img, (24, 18)), cv2.resize(img2, (24, 18)))', frame(0), frame(step));
    for (let i = 0; i < ref.data.length; i++) assert.ok(Math.abs(b.x[i] - ref.data[i] / 255) < 1e-6);
  });

  test('bad methods are refused', () => {
    assert.throws(() => new vg.OpticalFlowGenerator({ globPattern: pattern(), method: 'magic' }), { code: 'ERR_BAD_ARGUMENT', message: /method/ });
  });

});

describe('generator defaults (issue 10, item 9)', () => {
  test("without globPattern the keras-video default './videos/{classname}/*.avi' is used; no videos is ERR_NOT_FOUND, an epoch without batches says so", async () => {
    const dir = tempDir();
    const cwd = process.cwd();
    const clip = await makeClip('gen-default.mp4', { width: 64, height: 48, seconds: 1, fps: 12 });
    process.chdir(dir);
    try {
      assert.throws(() => new vg.VideoFrameGenerator(), { code: 'ERR_NOT_FOUND', message: /no videos found: directory '.*videos' \(from globPattern '\.\/videos\/\{classname\}\/\*\.avi'\) does not exist/ });
      fs.mkdirSync(path.join('videos', 'a'), { recursive: true });
      fs.mkdirSync(path.join('videos', 'b'));
      fs.copyFileSync(clip, path.join('videos', 'a', 'x.mp4')); // not matched by *.avi
      assert.throws(() => new vg.VideoFrameGenerator({ batchSize: 1 }), { code: 'ERR_NOT_FOUND', message: /no file matches '\.\/videos\/\{classname\}\/\*\.avi' in the 2 class\(es\) 'a', 'b'/ });
      for (const f of [['a', '1.avi'], ['a', '2.avi'], ['b', '1.avi']]) fs.copyFileSync(clip, path.join('videos', ...f)); // the container is probed, not named
      const gen = new vg.VideoFrameGenerator({ batchSize: 1, nbFrames: 2, targetShape: [8, 6], shuffle: false });
      assert.deepEqual(gen.classes, ['a', 'b']);
      assert.equal(gen.length, 3);
      assert.deepEqual((await gen.getBatch(2)).xShape, [1, 2, 6, 8, 3]);
      await gen.close();
      const empty = new vg.VideoFrameGenerator({ batchSize: 16 });
      assert.equal(empty.length, 0);
      await assert.rejects(empty.getBatch(0), { code: 'ERR_BAD_ARGUMENT', message: /the generator has no batches: 3 sample\(s\) \(from 3 file\(s\)\) is fewer than batchSize 16/ });
      const warned = new Promise((resolve) => process.once('warning', resolve));
      let batches = 0;
      for await (const _ of empty) batches++;
      assert.equal(batches, 0);
      const w = await warned;
      assert.equal(w.code, 'VIDGRAPH_GENERATOR');
      assert.match(w.message, /VideoFrameGenerator: the generator has no batches.*the epoch yields nothing/);
    } finally {
      process.chdir(cwd);
    }
  });
});
