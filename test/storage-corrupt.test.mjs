// Damaged database files: element streams (rows.bin, rows.idx), stream metadata (meta.json)
// and stored videos (index.vgix, packets.bin). Every load of a damaged row rejects with
// ERR_CORRUPT naming the stream and the row; rows before the damage load intact; no load ever
// returns bytes that were not read from the file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { makeClip } from './helpers/corpus.mjs';
import { indexLayout } from './helpers/index-layout.mjs';
import { tempDir } from './helpers/util.mjs';

const ROWS = 75;
const ROW_BYTES = 192; // a histogram's size: 3 x 16 int32
const rowValue = (r) => Uint8Array.from({ length: ROW_BYTES }, (_, i) => (r * 7 + i * 13 + 1) & 0xff);

const run = (sc, input, out) => sc.run(sc.io.Output(sc.ops.Pass({ input }), [out]), vg.PerfParams.manual(ROWS, ROWS), { showProgress: false });

/** A fresh database holding a committed 75-row bytes stream; returns the client, stream and its directory. */
async function bytesStream(name = 'hist') {
  const sc = new vg.Client({ db: tempDir() });
  const out = new vg.NamedStream(sc, name);
  await run(sc, sc.io.Input([new vg.ArrayStream(Array.from({ length: ROWS }, (_, r) => rowValue(r)))]), out);
  const dir = (await sc.ready()).streamDir(name);
  return { sc, stream: out, dir };
}

async function loadAll(stream, rows) {
  const got = [];
  for await (const v of stream.load(rows ? { rows } : undefined)) got.push(v);
  return got;
}

/** Asserts that loading `rows` rejects with ERR_CORRUPT naming the stream and `row`. */
async function rejectsAt(stream, row, rows) {
  await assert.rejects(loadAll(stream, rows), (err) => {
    assert.ok(err instanceof vg.VidgraphError, `a VidgraphError, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.code, 'ERR_CORRUPT', err.message);
    assert.match(err.message, new RegExp(`stream '${stream.name()}', row ${row}\\b`));
    return true;
  });
}

/** Rows 0..n-1 load and equal what was written. */
async function intactBefore(stream, n) {
  if (n === 0) return;
  const got = await loadAll(stream, Array.from({ length: n }, (_, r) => r));
  got.forEach((v, r) => assert.deepEqual([...v], [...rowValue(r)], `row ${r}`));
}

function editTable(dir, edit) {
  const file = path.join(dir, 'rows.idx');
  const b = fs.readFileSync(file);
  const t = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  edit(t);
  fs.writeFileSync(file, Buffer.from(t.buffer));
}


describe('element streams', () => {
  test('truncated rows.bin: rows before the cut load intact, every row after it is ERR_CORRUPT naming the row', async () => {
    const { stream, dir } = await bytesStream();
    fs.truncateSync(path.join(dir, 'rows.bin'), 50 * ROW_BYTES + 10);
    await intactBefore(stream, 50);
    await rejectsAt(stream, 50);
    await rejectsAt(stream, 50, [50]);
    await rejectsAt(stream, 74, [74]);
    await rejectsAt(stream, 60, [3, 60, 4]);
  });

  test('rows.bin emptied after the table was read: a short read is ERR_CORRUPT, never leftover memory', async () => {
    const { stream, dir } = await bytesStream();
    const it = stream.load()[Symbol.asyncIterator]();
    assert.deepEqual([...(await it.next()).value], [...rowValue(0)]);
    fs.truncateSync(path.join(dir, 'rows.bin'), 2 * ROW_BYTES + 5);
    assert.deepEqual([...(await it.next()).value], [...rowValue(1)]);
    await assert.rejects(it.next(), { code: 'ERR_CORRUPT', message: /stream 'hist', row 2: .*ends after 5 of the row's 192 bytes/ });
  });

  const tableDamage = [
    ['a huge offset', 10, (t) => { t[20] = 1e15; }],
    ['a negative offset', 5, (t) => { t[10] = -192; }],
    ['a row overlapping the previous one', 7, (t) => { t[14] = t[12]; }],
    ['a size past the end of rows.bin', 30, (t) => { t[61] = 2 ** 40; }],
    ['a size below -1', 12, (t) => { t[25] = -5; }],
    ['a fractional offset', 40, (t) => { t[80] += 0.5; }],
    ['NaN', 3, (t) => { t[7] = Number.NaN; }],
  ];
  for (const [what, row, edit] of tableDamage) {
    test(`rows.idx with ${what}: ERR_CORRUPT at row ${row}, earlier rows intact`, async () => {
      const { stream, dir } = await bytesStream();
      editTable(dir, edit);
      await intactBefore(stream, row);
      await rejectsAt(stream, row);
      await rejectsAt(stream, row, [row]);
      await rejectsAt(stream, row + 1, [row + 1]);
    });
  }

  test('rows.idx overwritten with garbage: ERR_CORRUPT at the first damaged row', async () => {
    const { stream, dir } = await bytesStream();
    const file = path.join(dir, 'rows.idx');
    const b = fs.readFileSync(file);
    for (let i = 20 * 16; i < b.length; i++) b[i] = (i * 151 + 17) & 0xff;
    fs.writeFileSync(file, b);
    await intactBefore(stream, 20);
    await rejectsAt(stream, 20);
  });

  test('rows.idx truncated (whole rows or mid-entry): rows it still holds load, the rest are ERR_CORRUPT', async () => {
    for (const bytes of [70 * 16, 70 * 16 + 9]) {
      const { stream, dir } = await bytesStream();
      fs.truncateSync(path.join(dir, 'rows.idx'), bytes);
      await intactBefore(stream, 70);
      await rejectsAt(stream, 70);
      await rejectsAt(stream, 74, [74]);
    }
  });

  test('a missing rows.idx or rows.bin is ERR_CORRUPT naming the stream and the file', async () => {
    for (const file of ['rows.idx', 'rows.bin']) {
      const { stream, dir } = await bytesStream();
      fs.rmSync(path.join(dir, file));
      await assert.rejects(loadAll(stream), { code: 'ERR_CORRUPT', message: new RegExp(`stream 'hist': cannot .*${file.replace('.', '\\.')}`) });
    }
  });

  test('bytes that do not decode as the stream type (Json) are ERR_CORRUPT naming the row', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const out = new vg.NamedStream(sc, 'objects');
    await run(sc, sc.io.Input([new vg.ArrayStream([{ a: 1 }, { b: 2 }, { c: 3 }])]), out);
    const dir = (await sc.ready()).streamDir('objects');
    const data = fs.readFileSync(path.join(dir, 'rows.bin'));
    data[data.length - 2] = 0x7b; // '{' inside the last object
    fs.writeFileSync(path.join(dir, 'rows.bin'), data);
    assert.deepEqual(await loadAll(out, [0, 1]), [{ a: 1 }, { b: 2 }]);
    await rejectsAt(out, 2);
  });

  test('a stored frame whose header does not match its bytes is ERR_CORRUPT naming the row', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const frames = [0, 1, 2].map((k) => vg.Frame.from(new Uint8Array(4 * 6 * 3).fill(k + 1), 4, 6, 3));
    const out = new vg.NamedStream(sc, 'frames');
    await sc.run(sc.io.Output(sc.ops.Pass({ input: sc.io.Input([new vg.ArrayStream(frames)]) }).lossless(), [out]), vg.PerfParams.manual(3, 3), { showProgress: false });
    const dir = (await sc.ready()).streamDir('frames');
    const data = fs.readFileSync(path.join(dir, 'rows.bin'));
    const rowSize = 16 + 4 * 6 * 3;
    data.writeUInt32LE(4000, rowSize * 1); // row 1: height 4000
    data.writeUInt32LE(9, rowSize * 2 + 12); // row 2: unknown element type
    fs.writeFileSync(path.join(dir, 'rows.bin'), data);
    const [f0] = await loadAll(out, [0]);
    assert.deepEqual([f0.height, f0.width, f0.channels, f0.data[0]], [4, 6, 3, 1]);
    await rejectsAt(out, 1, [1]);
    await rejectsAt(out, 2, [2]);
  });
});

describe('stream metadata', () => {
  const metaDamage = [
    ['truncated JSON', (text) => text.slice(0, text.length / 2)],
    ['not an object', () => '[1, 2, 3]'],
    ['rows as a string', (text) => text.replace(/"rows": \d+/, '"rows": "75"')],
    ['negative rows', (text) => text.replace(/"rows": \d+/, '"rows": -1')],
    ['rows past what an index can address (1e12)', (text) => text.replace(/"rows": \d+/, '"rows": 1000000000000')],
    ['another stream name', (text) => text.replace(/"name": "hist"/, '"name": "other"')],
    ['an unknown storage', (text) => text.replace(/"storage": "elements"/, '"storage": "tape"')],
  ];
  for (const [what, edit] of metaDamage) {
    test(`meta.json with ${what}: len() and load() are ERR_CORRUPT naming the stream`, async () => {
      const { stream, dir } = await bytesStream();
      const file = path.join(dir, 'meta.json');
      fs.writeFileSync(file, edit(fs.readFileSync(file, 'utf8')));
      const corrupt = { code: 'ERR_CORRUPT', message: /^stream 'hist': its metadata meta\.json / };
      await assert.rejects(stream.len(), corrupt);
      await assert.rejects(loadAll(stream), corrupt);
    });
  }

  test('meta.json claiming more rows than the row table holds: the extra rows are ERR_CORRUPT', async () => {
    const { stream, dir } = await bytesStream();
    const file = path.join(dir, 'meta.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/"rows": \d+/, '"rows": 80'));
    assert.equal(await stream.len(), 80);
    await intactBefore(stream, ROWS);
    await rejectsAt(stream, 75, [75]);
  });
});

describe('stored videos', () => {
  async function videoStream() {
    const sc = new vg.Client({ db: tempDir() });
    const s = new vg.NamedVideoStream(sc, 'clip', { path: await makeClip('corrupt-src.mp4', { width: 160, height: 120, seconds: 1, fps: 24 }) });
    await s.ingest();
    return { sc, stream: s, dir: (await sc.ready()).streamDir('clip') };
  }
  const corruptVideo = (what) => ({ code: 'ERR_CORRUPT', message: new RegExp(`^stream 'clip': ${what}`) });

  test('a truncated or garbage index.vgix is ERR_CORRUPT naming the stream', async () => {
    const { stream, dir } = await videoStream();
    const file = path.join(dir, 'index.vgix');
    const good = fs.readFileSync(file);
    fs.writeFileSync(file, good.subarray(0, good.length - 100));
    await assert.rejects(loadAll(stream, [0]), corruptVideo('its packet index index\\.vgix is damaged'));
    fs.writeFileSync(file, Buffer.alloc(good.length, 0x5a));
    await assert.rejects(loadAll(stream, [0]), corruptVideo('its packet index index\\.vgix is damaged'));
    fs.rmSync(file);
    await assert.rejects(loadAll(stream, [0]), corruptVideo('cannot read its packet index'));
  });

  test('an index entry with a negative size or offset is ERR_CORRUPT naming the packet', async () => {
    const { stream, dir } = await videoStream();
    const file = path.join(dir, 'index.vgix');
    const good = fs.readFileSync(file);
    const at = indexLayout(good).packetTable + 3 * 40; // packet 3
    const bad = Buffer.from(good);
    bad.writeInt32LE(-5, at + 32); // size
    fs.writeFileSync(file, bad);
    await assert.rejects(loadAll(stream, [0]), corruptVideo('its packet index .*packet 3 has offset \\d+ and size -5'));
    const bad2 = Buffer.from(good);
    bad2.writeBigInt64LE(-1000n, at + 24); // offset
    fs.writeFileSync(file, bad2);
    await assert.rejects(loadAll(stream, [0]), corruptVideo('its packet index .*packet 3 has offset -1000'));
  });

  test('a packets.bin shorter than its index says is ERR_CORRUPT', async () => {
    const { stream, dir } = await videoStream();
    const file = path.join(dir, 'packets.bin');
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    await assert.rejects(loadAll(stream, [0]), corruptVideo('its packet file packets\\.bin has \\d+ bytes but its index points up to byte \\d+'));
    await assert.rejects(stream.saveMp4(path.join(tempDir(), 'out.mp4')), corruptVideo('its packet file packets\\.bin'));
  });

  test('meta.json pointing outside the stream directory is ERR_CORRUPT', async () => {
    const { stream, dir } = await videoStream();
    const file = path.join(dir, 'meta.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"dataFile": "packets.bin"', '"dataFile": "../../x/packets.bin"'));
    await assert.rejects(loadAll(stream, [0]), corruptVideo('its metadata meta\\.json has an invalid dataFile'));
  });
});

describe('reader index cache', () => {
  const damage = [
    ['a packet offset past the end of the video', (b, at, size) => b.writeBigInt64LE(BigInt(size + 1000), at + 24)],
    ['a negative packet size', (b, at) => b.writeInt32LE(-5, at + 32)],
  ];
  for (const [what, edit] of damage) {
    test(`a cache entry with ${what} is rebuilt by a scan, not trusted`, async () => {
      const file = await makeClip('corrupt-src.mp4', { width: 160, height: 120, seconds: 1, fps: 24 });
      const cache = tempDir();
      const first = await vg.VideoReader.open(file, { indexCache: cache });
      const want = Buffer.from((await first.frame(5)).image.data);
      await first.close();
      const [entry] = fs.readdirSync(cache).filter((f) => f.endsWith('.vgix'));
      const b = fs.readFileSync(path.join(cache, entry));
      edit(b, indexLayout(b).packetTable + 3 * 40, fs.statSync(file).size);
      fs.writeFileSync(path.join(cache, entry), b);
      const again = await vg.VideoReader.open(file, { indexCache: cache });
      try {
        assert.equal(again.indexSource, 'scan');
        assert.ok(Buffer.from((await again.frame(5)).image.data).equals(want));
      } finally {
        await again.close();
      }
      const third = await vg.VideoReader.open(file, { indexCache: cache });
      assert.equal(third.indexSource, 'cache', 'the rebuilt entry is used next time');
      await third.close();
    });
  }
});
