// Display rotation (phone videos) and packet side data (palettes), beyond the corpus-wide
// exactness suites: `rotate: false` against `ffmpeg -noautorotate`, the rotation in the
// metadata, scaled output of a turned video, the option on every entry point, and stored
// indexes whose side data is damaged or that predate it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { fixture, makeClip, oracle, rotationArgs, scaledOracle, spliceFlv } from './helpers/corpus.mjs';
import { indexLayout } from './helpers/index-layout.mjs';
import { assertSameFrame, bytesOf, firstDifference, sampleRows, tempDir } from './helpers/util.mjs';

async function loadAll(stream, rows) {
  const out = [];
  for await (const f of stream.load({ rows })) out.push(f);
  return out;
}

const ROTATED = [['rotated90.mp4', 90, [320, 240]], ['rotated270.mp4', 270, [176, 144]]];

describe('rotation', () => {
  for (const [name, degrees, [w, h]] of ROTATED) {
    test(`${name}: frames are turned by default, width and height swapped, rotation ${degrees} reported`, async () => {
      const file = await fixture(name);
      const reader = await vg.VideoReader.open(file);
      try {
        assert.equal(reader.rotation, degrees);
        assert.deepEqual([reader.width, reader.height], [h, w]);
        const x = await reader.frame(5);
        assert.deepEqual([x.image.width, x.image.height], [h, w]);
      } finally {
        await reader.close();
      }
      const sc = new vg.Client({ db: tempDir() });
      const stream = new vg.NamedVideoStream(sc, 'phone', { path: file });
      const meta = await stream.metadata();
      assert.equal(meta.rotation, degrees);
      assert.deepEqual([meta.width, meta.height], [h, w]);
    });

    test(`${name}: rotate: false is byte-identical to ffmpeg -noautorotate (reader and stored stream)`, async () => {
      const file = await fixture(name);
      const o = await oracle(file, { autorotate: false });
      assert.deepEqual([o.width, o.height], [w, h]);
      const rows = sampleRows(o.count, 8, 7);
      const reader = await vg.VideoReader.open(file, { rotate: false, cacheBytes: 0 });
      try {
        assert.deepEqual([reader.width, reader.height], [w, h]);
        assert.equal(reader.rotation, degrees, 'the file still says how it is meant to be shown');
        for (const row of rows) assertSameFrame((await reader.frame(row)).image, o.frame(row), `reader row ${row}`);
      } finally {
        await reader.close();
      }
      const sc = new vg.Client({ db: tempDir() });
      const stream = new vg.NamedVideoStream(sc, 'stored', { path: file, rotate: false });
      const meta = await stream.metadata();
      assert.deepEqual([meta.width, meta.height, meta.rotation], [w, h, degrees]);
      const frames = await loadAll(stream, rows);
      frames.forEach((f, k) => assertSameFrame(f, o.frame(rows[k]), `stream row ${rows[k]}`));
      // The choice is the stream's: a second handle without the option reads it the same way.
      const again = new vg.NamedVideoStream(sc, 'stored');
      assert.deepEqual([(await again.metadata()).width], [w]);
    });
  }

  test('180 degrees is the CLI\'s hflip and vflip: same size, exact', async () => {
    const src = await makeClip('rot180-src.mp4', { width: 160, height: 120, seconds: 1, fps: 12, gop: 6 });
    const file = path.join(tempDir(), 'rot180.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', ...(await rotationArgs(180, src)), '-map', '0:v:0', '-c', 'copy', file]);
    const o = await oracle(file);
    const plain = await oracle(src);
    const reader = await vg.VideoReader.open(file, { cacheBytes: 0 });
    try {
      assert.equal(reader.rotation, 180);
      assert.deepEqual([reader.width, reader.height], [160, 120]);
      for (const row of [0, 7, 11]) {
        const x = await reader.frame(row);
        assertSameFrame(x.image, o.frame(row), `row ${row}`);
        assert.notEqual(firstDifference(bytesOf(x.image), plain.frame(row)), -1, 'turned, not the stored picture');
      }
    } finally {
      await reader.close();
    }
  });

  test('an unrotated video reports rotation 0', async () => {
    const reader = await vg.VideoReader.open(await fixture('h264.mkv'));
    try {
      assert.equal(reader.rotation, 0);
      assert.deepEqual([reader.width, reader.height], [320, 240]);
    } finally {
      await reader.close();
    }
  });

  test('maxSize on a turned video equals the CLI: autorotate, then scale with force_original_aspect_ratio=decrease', async () => {
    const file = await fixture('rotated90.mp4');
    const raw = await scaledOracle(file, [100, 100]);
    const reader = await vg.VideoReader.open(file, { maxSize: [100, 100] });
    try {
      assert.deepEqual([reader.width, reader.height], [75, 100]);
      const size = 75 * 100 * 3;
      assert.equal(raw.length, size * reader.frameCount);
      for (const x of await reader.frames([0, 20, 47])) {
        assertSameFrame(x.image, raw.subarray(x.index * size, (x.index + 1) * size), `scaled frame ${x.index}`);
      }
    } finally {
      await reader.close();
    }
  });

  test('extractFrames writes turned images, and stored-orientation images with rotate: false', async () => {
    const input = await fixture('rotated90.mp4');
    const pngSize = (file) => {
      const b = fs.readFileSync(file);
      return [b.readUInt32BE(16), b.readUInt32BE(20)];
    };
    for (const [opts, dims] of [[{}, [240, 320]], [{ rotate: false }, [320, 240]]]) {
      const out = tempDir();
      const report = await vg.extractFrames({ input, outputDir: out, format: 'png', fps: 2, ...opts });
      assert.equal(report.failed, 0);
      const dir = path.join(out, 'rotated90.mp4');
      const first = fs.readdirSync(dir).sort()[0];
      assert.deepEqual(pngSize(path.join(dir, first)), dims, JSON.stringify(opts));
    }
    await assert.rejects(vg.extractFrames({ input, outputDir: tempDir(), rotate: 'no' }), { code: 'ERR_BAD_ARGUMENT', message: /rotate/ });
  });

  test('generators read turned frames unless rotate: false', async () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'phone'));
    fs.copyFileSync(await fixture('rotated90.mp4'), path.join(root, 'phone', 'a.mp4'));
    const globPattern = path.join(root, '{classname}', '*.mp4');
    const batch = async (rotate) => (await new vg.VideoFrameGenerator({ globPattern, nbFrames: 2, batchSize: 1, targetShape: [24, 32], shuffle: false, rotate }).getBatch(0)).x;
    const turned = await batch(undefined);
    assert.deepEqual(await batch(true), turned);
    assert.notDeepEqual(await batch(false), turned);
    assert.throws(() => new vg.VideoFrameGenerator({ globPattern, rotate: 1 }), { code: 'ERR_BAD_ARGUMENT', message: /rotate/ });
  });

  test('VideoReader.open and NamedVideoStream refuse a rotate that is not a boolean', async () => {
    const file = await fixture('rotated90.mp4');
    await assert.rejects(vg.VideoReader.open(file, { rotate: 'false' }), { code: 'ERR_BAD_ARGUMENT', message: /rotate/ });
    assert.throws(() => new vg.NamedVideoStream(new vg.Client({ db: tempDir() }), 'x', { path: file, rotate: 0 }), { code: 'ERR_BAD_ARGUMENT', message: /rotate/ });
  });
});

// ---- the index's trailer (format version 2): display matrix and side data table ----

/** The side data items of an index: { packet, type, data }. */
function sideItems(b) {
  const { sideTable, sideCount } = indexLayout(b);
  const items = [];
  let pos = sideTable;
  for (let i = 0; i < sideCount; i++) {
    const packet = b.readInt32LE(pos);
    const type = b.readInt32LE(pos + 4);
    const size = b.readUInt32LE(pos + 8);
    items.push({ packet, type, data: b.subarray(pos + 12, pos + 12 + size), at: pos });
    pos += 12 + size;
  }
  return items;
}

function withSideItems(b, items) {
  const { sideTable } = indexLayout(b);
  const parts = [b.subarray(0, sideTable - 8)];
  const count = Buffer.alloc(8);
  count.writeBigUInt64LE(BigInt(items.length));
  parts.push(count);
  for (const it of items) {
    const head = Buffer.alloc(12);
    head.writeInt32LE(it.packet, 0);
    head.writeInt32LE(it.type, 4);
    head.writeUInt32LE(it.data.length, 8);
    parts.push(head, it.data);
  }
  return Buffer.concat(parts);
}

describe('packet side data in the stored index', () => {
  async function palStream() {
    const sc = new vg.Client({ db: tempDir() });
    const stream = new vg.NamedVideoStream(sc, 'pal', { path: await fixture('pal8_changes.avi') });
    await stream.ingest();
    const file = path.join((await sc.ready()).streamDir('pal'), 'index.vgix');
    return { stream, file, good: fs.readFileSync(file) };
  }
  const damaged = { code: 'ERR_CORRUPT', message: /^stream 'pal': its packet index index\.vgix is damaged/ };

  test('a palette video keeps one palette per change, each on the packet after it', async () => {
    const { good } = await palStream();
    const items = sideItems(good);
    const palettes = items.filter((x) => x.type === 0); // AV_PKT_DATA_PALETTE
    // The first from the header, then one 'xxpc' change every 6 frames.
    assert.deepEqual(palettes.map((x) => x.packet), [0, 6, 12, 18, 24, 30, 36]);
    assert.ok(palettes.every((x) => x.data.length === 1024));
  });

  const edits = [
    ['a side data count larger than the file', (b) => { b.writeBigUInt64LE(1n << 40n, indexLayout(b).sideTable - 8); return b; }, /side data count/],
    ['an item naming a packet past the end', (b) => { const [it] = sideItems(b); b.writeInt32LE(indexLayout(b).packets + 5, it.at); return b; }, /names packet/],
    ['an item of an unknown type', (b) => { const [it] = sideItems(b); b.writeInt32LE(9999, it.at + 4); return b; }, /unknown type 9999/],
    ['an item whose size runs past the end', (b) => { const [it] = sideItems(b); b.writeUInt32LE(0x7fffffff, it.at + 8); return b; }, /truncated or corrupt/],
    ['the table cut short', (b) => b.subarray(0, b.length - 300), /truncated or corrupt/],
    ['items out of packet order', (b) => withSideItems(b, sideItems(b).reverse()), /names packet/],
  ];
  for (const [what, edit, why] of edits) {
    test(`${what}: ERR_CORRUPT naming the stream, no decode`, async () => {
      const { stream, file, good } = await palStream();
      fs.writeFileSync(file, edit(Buffer.from(good)));
      await assert.rejects(loadAll(stream, [0, 10]), (err) => {
        assert.equal(err.code, damaged.code);
        assert.match(err.message, damaged.message);
        assert.match(err.message, why);
        return true;
      });
    });
  }

  test('a palette of the wrong size is ignored as the decoder ignores it: frames or ERR_DECODE, never a crash', async () => {
    const { stream, file, good } = await palStream();
    const items = sideItems(good).map((x) => (x.type === 0 ? { ...x, data: x.data.subarray(0, 7) } : x));
    fs.writeFileSync(file, withSideItems(good, items));
    for (const row of [0, 9, 30, 41]) {
      try {
        const [f] = await loadAll(stream, [row]);
        assert.deepEqual([f.width, f.height], [160, 120]);
      } catch (err) {
        assert.equal(err.code, 'ERR_DECODE', String(err));
      }
    }
  });

  test('an index written before side data (format version 1) still loads, byte-identical', async () => {
    const file = await makeClip('v1-index.mp4', { width: 160, height: 120, seconds: 1, fps: 24, gop: 12 });
    const o = await oracle(file);
    const sc = new vg.Client({ db: tempDir() });
    const stream = new vg.NamedVideoStream(sc, 'old', { path: file });
    await stream.ingest();
    const idx = path.join((await sc.ready()).streamDir('old'), 'index.vgix');
    const b = fs.readFileSync(idx);
    const v1 = Buffer.from(b.subarray(0, indexLayout(b).trailer));
    v1.writeUInt32LE(1, 4);
    fs.writeFileSync(idx, v1);
    const rows = [0, 13, 23];
    (await loadAll(stream, rows)).forEach((f, k) => assertSameFrame(f, o.frame(rows[k]), `row ${rows[k]}`));
  });

  test('a packet carrying more than 1 MiB of side data is refused at ingest (ERR_INVALID_VIDEO naming it), never stored', async () => {
    const a = await makeClip('sidedata-a.flv', { width: 160, height: 120, seconds: 1, fps: 24, gop: 12, extraArgs: ['-profile:v', 'high'] });
    const b = await makeClip('sidedata-b.flv', { width: 160, height: 120, seconds: 1, fps: 24, gop: 12, extraArgs: ['-profile:v', 'baseline'] });
    const file = path.join(tempDir(), 'huge-extradata.flv');
    fs.writeFileSync(file, spliceFlv(fs.readFileSync(a), fs.readFileSync(b), 3 << 19));
    const refused = { code: 'ERR_INVALID_VIDEO', message: /packet \d+ carries 15\d{5} bytes of .*more than vidgraph stores/ };
    await assert.rejects(vg.VideoReader.open(file), refused);
    const sc = new vg.Client({ db: tempDir() });
    await assert.rejects(new vg.NamedVideoStream(sc, 'huge', { path: file }).ingest(), refused);
    assert.equal(await new vg.NamedVideoStream(sc, 'huge').exists(), false);
    // The same splice without the padding is an ordinary in-band parameter change.
    fs.writeFileSync(file, spliceFlv(fs.readFileSync(a), fs.readFileSync(b)));
    const reader = await vg.VideoReader.open(file);
    assert.equal(reader.frameCount, 48);
    await reader.close();
  });

  test('palette and extradata-change frames read alone after a fresh open equal the oracle (replayed at the start packet)', async () => {
    for (const name of ['pal8_smc.mov', 'pal8_changes.avi', 'extradata_change.flv']) {
      const file = await fixture(name);
      const o = await oracle(file);
      for (const row of [o.count - 1, Math.floor(o.count / 2) + 1, 7]) {
        const reader = await vg.VideoReader.open(file, { cacheBytes: 0 });
        try {
          assertSameFrame((await reader.frame(row)).image, o.frame(row), `${name} row ${row}`);
        } finally {
          await reader.close();
        }
      }
    }
  });
});
