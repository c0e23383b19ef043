// SlidingFrameGenerator indexing: off the main thread (ready(), create(), first getBatch or
// iteration), index-only (no packet copied, any container), and the same windows as the
// synchronous `length` fallback.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { makeClip } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

let root;
before(async () => {
  root = tempDir();
  fs.mkdirSync(path.join(root, 'walk'));
  fs.mkdirSync(path.join(root, 'bad'));
  // 24 frames (MP4, read in place) and 36 frames (AVI, whose packets a reader copies).
  fs.copyFileSync(await makeClip('gen-index-a.mp4', { width: 64, height: 48, seconds: 1, fps: 24 }), path.join(root, 'walk', 'a.mp4'));
  fs.copyFileSync(await makeClip('gen-index-b.avi', { width: 64, height: 48, seconds: 1.5, fps: 24 }), path.join(root, 'walk', 'b.avi'));
  fs.copyFileSync(path.join(root, 'walk', 'a.mp4'), path.join(root, 'bad', 'a.mp4'));
  fs.writeFileSync(path.join(root, 'bad', 'broken.mp4'), Buffer.alloc(4096, 7));
});

const options = (extra = {}) => ({ globPattern: path.join(root, '{classname}', '*.*'), classes: ['walk'], nbFrames: 4, batchSize: 1, targetShape: [16, 12], shuffle: false, ...extra });

describe('SlidingFrameGenerator indexing', () => {
  test('the constructor does not index: a damaged video rejects ready() and getBatch(), not new', async () => {
    let gen;
    assert.doesNotThrow(() => { gen = new vg.SlidingFrameGenerator(options({ classes: ['bad'] })); });
    const invalid = { code: 'ERR_INVALID_VIDEO', message: /broken\.mp4/ };
    await assert.rejects(gen.ready(), invalid);
    await assert.rejects(gen.getBatch(0), invalid);
    assert.throws(() => gen.length, invalid);
  });

  test('create() counts the windows of MP4 and AVI videos off the main thread, as the synchronous length does', async () => {
    const gen = await vg.SlidingFrameGenerator.create(options());
    assert.ok(gen instanceof vg.SlidingFrameGenerator);
    // 24 + 36 frames → 21 + 33 windows of 4 consecutive frames.
    assert.equal(gen.length, 21 + 33);
    const sync = new vg.SlidingFrameGenerator(options());
    assert.equal(sync.length, gen.length);
    assert.deepEqual(sync.files, gen.files);
    const last = gen.length - 1;
    assert.deepEqual((await gen.getBatch(last)).x, (await sync.getBatch(last)).x, 'the last window of the AVI decodes the same');
  });

  test('ready() indexes once; the first getBatch or iteration indexes by itself', async () => {
    const a = new vg.SlidingFrameGenerator(options({ sequenceTime: 0.5 }));
    await Promise.all([a.ready(), a.ready()]);
    // step = round(24 * 0.5 / 4) = 3, span 10: floor((24 - 10) / 3) + 1 + floor((36 - 10) / 3) + 1
    assert.equal(a.length, 5 + 9);
    const b = new vg.SlidingFrameGenerator(options({ sequenceTime: 0.5 }));
    assert.deepEqual((await b.getBatch(4)).x, (await a.getBatch(4)).x);
    const c = new vg.SlidingFrameGenerator(options({ sequenceTime: 0.5 }));
    let batches = 0;
    for await (const batch of c) batches += batch.xShape[0];
    assert.equal(batches, 14);
  });

  test('the validation generator counts the windows of its own files', async () => {
    const gen = await vg.SlidingFrameGenerator.create(options({ split: 0.5 }));
    const val = gen.getValidationGenerator();
    await val.ready();
    assert.equal(gen.files.length, 1);
    assert.equal(val.files.length, 1);
    assert.notEqual(gen.files[0], val.files[0]);
    const windows = (file) => (file.endsWith('.avi') ? 33 : 21);
    assert.equal(gen.length, windows(gen.files[0]));
    assert.equal(val.length, windows(val.files[0]));
  });
});
