// Disposable packets (kPacketDisposable, index format 3): which packets no other frame
// references, checked packet by packet against what the ffmpeg CLI reads from the same bytes
// (trace_headers: nal_ref_idc, nal_unit_type/temporal_id, refresh_frame_flags; ffprobe's
// pict_type for MPEG-4 Part 2), and against decodes by the CLI of the stream with those packets
// removed: every other frame must come out the same.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as vg from 'vidgraph';
import { fixture, makeClip, oracle } from './helpers/corpus.mjs';
import { indexLayout } from './helpers/index-layout.mjs';
import { assertSameFrame, seededRandom, tempDir } from './helpers/util.mjs';

const native = createRequire(import.meta.url)('../dist/native.js').native();
const execFileP = promisify(execFile);
const DISPOSABLE = 8;
const KEY = 1;

// ---------------------------------------------------------------------------
// the index's side: flags and rows read from the serialized index (test/helpers/index-layout.mjs)

function packetTable(index) {
  const b = Buffer.from(index.buffer, index.byteOffset, index.byteLength);
  const L = indexLayout(b);
  const packets = [];
  for (let i = 0; i < L.packets; i++) {
    const at = L.packetTable + i * 40;
    packets.push({ offset: Number(b.readBigInt64LE(at + 24)), size: b.readInt32LE(at + 32), flags: b.readUInt32LE(at + 36) });
  }
  const rowsAt = L.packetTable + L.packets * 40;
  const rows = [];
  for (let r = 0; r < Number(b.readBigUInt64LE(rowsAt)); r++) rows.push(b.readInt32LE(rowsAt + 8 + 4 * r));
  return { version: b.readUInt32LE(4), packets, rows, layout: L };
}

async function scanned(file) {
  const dir = tempDir();
  const data = path.join(dir, 'packets.bin');
  const scan = await native.scan(file, { copyTo: data });
  return { ...packetTable(scan.index), index: Buffer.from(scan.index), info: scan.info, data };
}

const disposableOf = (t) => t.packets.map((p) => (p.flags & DISPOSABLE) !== 0);

/** The same index as format 2 wrote it: version 2, no disposable bits. */
function asFormat2(index) {
  const b = Buffer.from(index);
  const L = indexLayout(b);
  b.writeUInt32LE(2, 4);
  for (let i = 0; i < L.packets; i++) {
    const at = L.packetTable + i * 40 + 36;
    b.writeUInt32LE(b.readUInt32LE(at) & ~DISPOSABLE, at);
  }
  return b;
}

// ---------------------------------------------------------------------------
// the oracles

/** trace_headers' report per packet: { key, lines } in decode order. */
async function tracePackets(file) {
  const { stderr } = await execFileP('ffmpeg', ['-nostdin', '-nostats', '-v', 'trace', '-i', file, '-map', '0:v:0', '-c', 'copy', '-copyinkf', '-bsf:v', 'trace_headers', '-f', 'null', '-'],
    { maxBuffer: 512 * 1024 * 1024 });
  const packets = [];
  for (const line of stderr.split('\n')) {
    const at = line.indexOf('[trace_headers @');
    if (at < 0) continue;
    const text = line.slice(line.indexOf(']', at) + 2);
    const m = /^Packet: \d+ bytes(, key frame)?/.exec(text);
    if (m) packets.push({ key: Boolean(m[1]), lines: [] });
    else if (packets.length) packets.at(-1).lines.push(text);
  }
  return packets;
}

/** H.264: a picture whose slices all have nal_ref_idc 0, in a packet carrying no parameter sets or SEI. */
function h264Oracle(packets) {
  return packets.map((p) => {
    const nals = p.lines.map((l) => /^nal_unit_type: (\d+)\(.*\), nal_ref_idc: (\d)$/.exec(l)).filter(Boolean).map((m) => ({ type: +m[1], ref: +m[2] }));
    const slices = nals.filter((n) => n.type >= 1 && n.type <= 5);
    return !p.key && slices.length > 0 && slices.every((n) => n.type !== 5 && n.ref === 0) && nals.every((n) => [1, 2, 3, 4, 9, 12].includes(n.type));
  });
}

/** HEVC: pictures of sub-layer non-reference types (even types 0..14) at the stream's highest temporal_id. */
function hevcOracle(packets) {
  const per = packets.map((p) => p.lines.map((l) => /^nal_unit_type: (\d+)\(\w*\), nuh_layer_id: (\d+), temporal_id: (\d+)$/.exec(l)).filter(Boolean)
    .map((m) => ({ type: +m[1], layer: +m[2], tid: +m[3] })));
  const top = Math.max(...per.flat().filter((n) => n.type < 32).map((n) => n.tid));
  return per.map((nals, i) => {
    const slices = nals.filter((n) => n.type < 32);
    return !packets[i].key && slices.length > 0 && slices.every((n) => n.type <= 14 && n.type % 2 === 0 && n.tid === top && n.layer === 0) &&
      nals.every((n) => n.type < 32 || n.type === 35 || n.type === 38);
  });
}

/**
 * VP9: every frame of the packet refreshes no reference slot, and the next packet starts with a
 * key frame or an error resilient one (which resets what such a frame leaves behind: its motion
 * vectors, probability contexts, loop filter deltas and segmentation), or nothing follows.
 */
function vp9Oracle(packets) {
  const frames = packets.map((p) => {
    const out = [];
    for (const l of p.lines) {
      const m = /^\d+\s+(\w+)\s+[01]+ = (\d+)$/.exec(l);
      if (!m) continue;
      if (m[1] === 'frame_marker') out.push({});
      else if (out.length) out.at(-1)[m[1]] = +m[2];
    }
    return out;
  });
  const candidate = frames.map((fs) => fs.length > 0 && fs.every((f) => f.show_existing_frame === 0 && f.frame_type === 1 && f.refresh_frame_flags === 0));
  const resets = frames.map((fs) => fs.length > 0 && (fs[0].frame_type === 0 || fs[0].error_resilient_mode === 1));
  return candidate.map((c, i) => c && !packets[i].key && (i + 1 === packets.length || resets[i + 1]));
}

/**
 * AV1: every frame header of the temporal unit reads refresh_frame_flags 0 (a shown key frame,
 * whose flags are implied, and show_existing_frame are not); no OBU but temporal delimiters,
 * frame headers, tile groups and padding.
 */
function av1Oracle(packets) {
  return packets.map((p) => {
    const obus = [];
    for (const l of p.lines) {
      const m = /^\d+\s+(\w+)\s+[01]+ = (\d+)$/.exec(l);
      if (!m) continue;
      if (m[1] === 'obu_type') obus.push({ type: +m[2] });
      else if (obus.length && !(m[1] in obus.at(-1))) obus.at(-1)[m[1]] = +m[2];
    }
    const frames = obus.filter((o) => o.type === 3 || o.type === 6);
    return !p.key && frames.length > 0 && frames.every((f) => f.show_existing_frame === 0 && f.refresh_frame_flags === 0) &&
      obus.every((o) => [2, 3, 4, 6, 7, 15].includes(o.type));
  });
}

/** MPEG-4 Part 2: packets whose frame ffprobe reports as a B picture. */
async function mpeg4Oracle(file) {
  const probe = async (what, entries) => JSON.parse((await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', what, '-show_entries', entries, '-of', 'json', file],
    { maxBuffer: 64 * 1024 * 1024 })).stdout);
  const { packets } = await probe('-show_packets', 'packet=pos,flags');
  const { frames } = await probe('-show_frames', 'frame=pkt_pos,pict_type');
  const typeAt = new Map(frames.map((f) => [f.pkt_pos, f.pict_type]));
  return packets.map((p) => !p.flags.startsWith('K') && typeAt.get(p.pos) === 'B');
}

function assertSamePackets(got, expected, what) {
  assert.equal(got.length, expected.length, `${what}: packet count`);
  const differ = got.map((g, i) => (g === expected[i] ? -1 : i)).filter((i) => i >= 0);
  assert.deepEqual(differ, [], `${what}: packets classified unlike the oracle (disposable: ours ${got.filter(Boolean).length}, oracle ${expected.filter(Boolean).length})`);
}

// ---------------------------------------------------------------------------
// decoding without the disposable packets, by the ffmpeg CLI

const IVF = { vp8: 'VP80', vp9: 'VP90', av1: 'AV01' };

/** The stream's packets (all, or those not disposable) as an elementary stream the CLI reads. */
function elementaryStream(t, codec, extradata, keep) {
  const fd = fs.openSync(t.data, 'r');
  const parts = [];
  try {
    if (IVF[codec]) {
      const header = Buffer.alloc(32);
      header.write('DKIF', 0);
      header.writeUInt16LE(32, 6);
      header.write(IVF[codec], 8);
      header.writeUInt32LE(24, 16); // time base 1/24
      header.writeUInt32LE(1, 20);
      parts.push(header);
    } else if (extradata) {
      parts.push(extradata);
    }
    t.packets.forEach((p, i) => {
      if (!keep(i)) return;
      const bytes = Buffer.alloc(p.size);
      fs.readSync(fd, bytes, 0, p.size, p.offset);
      if (IVF[codec]) {
        const frameHeader = Buffer.alloc(12);
        frameHeader.writeUInt32LE(p.size, 0);
        frameHeader.writeBigUInt64LE(BigInt(i), 4);
        parts.push(frameHeader);
      }
      parts.push(bytes);
    });
  } finally {
    fs.closeSync(fd);
  }
  return Buffer.concat(parts);
}

async function frameHashes(file, format) {
  const { stdout } = await execFileP('ffmpeg', ['-nostdin', '-v', 'error', '-threads', '1', '-f', format, '-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'framemd5', '-'],
    { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1).trim());
}

/**
 * Decodes the stream whole and without its disposable packets: the second decode must put out
 * exactly the first's frames less those of the packets left out, bit for bit.
 */
async function assertDisposableDropsCleanly(t, codec, format, extradata) {
  const dir = tempDir();
  const disposable = disposableOf(t);
  const whole = path.join(dir, `whole.${format}`);
  const thinned = path.join(dir, `thinned.${format}`);
  fs.writeFileSync(whole, elementaryStream(t, codec, extradata, () => true));
  fs.writeFileSync(thinned, elementaryStream(t, codec, extradata, (i) => !disposable[i]));
  const all = await frameHashes(whole, format);
  const kept = await frameHashes(thinned, format);
  assert.equal(all.length, t.rows.length, `${codec}: the whole stream decodes to every row`);
  const expected = all.filter((_, row) => !disposable[t.rows[row]]);
  assert.ok(expected.length < all.length, `${codec}: something was left out`);
  assert.deepEqual(kept, expected, `${codec}: frames without the disposable packets differ from the whole decode's`);
}

// ---------------------------------------------------------------------------

const SIZE = { width: 160, height: 120, seconds: 2, fps: 24, gop: 24 };
const x265 = (params) => ['-x265-params', `log-level=error:keyint=24:${params}`];

describe('disposable packets', () => {
  test('H.264 without B-pyramid: exactly the packets whose slices have nal_ref_idc 0 (every B-frame)', async () => {
    const file = await makeClip('ref-h264-flat.mp4', { ...SIZE, extraArgs: ['-bf', '3', '-x264-params', 'b-pyramid=none'] });
    const t = await scanned(file);
    const expected = h264Oracle(await tracePackets(file));
    assertSamePackets(disposableOf(t), expected, 'h264 b-pyramid=none');
    assert.ok(expected.filter(Boolean).length >= 20, 'the clip has non-reference B-frames');
    assert.equal(t.info.disposablePackets, expected.filter(Boolean).length);
    assert.equal(t.info.classified, true);
    assert.equal(t.version, 3);
  });

  test('H.264 with B-pyramid: referenced B-frames (nal_ref_idc > 0) are not disposable, in MP4 (avcC) and MPEG-TS (Annex B)', async () => {
    for (const ext of ['mp4', 'ts']) {
      const file = await makeClip(`ref-h264-pyramid.${ext}`, { ...SIZE, extraArgs: ['-bf', '3', '-x264-params', 'b-pyramid=normal'] });
      const t = await scanned(file);
      const trace = await tracePackets(file);
      assertSamePackets(disposableOf(t), h264Oracle(trace), `h264 b-pyramid=normal .${ext}`);
      // The pyramid's middle B-frames: B slices (slice_type 1 or 6) with nal_ref_idc > 0, kept.
      const bRefs = trace.map((p, i) => (p.lines.some((l) => /slice_type\s+\S+ = [16]$/.test(l)) && p.lines.some((l) => /nal_ref_idc: [123]$/.test(l)) ? i : -1)).filter((i) => i >= 0);
      assert.ok(bRefs.length >= 5, `.${ext}: the clip has referenced B-frames (${bRefs.length})`);
      for (const i of bRefs) assert.equal(disposableOf(t)[i], false, `.${ext}: referenced B-frame packet ${i}`);
    }
  });

  test('packets that are no row (edit list discards, the leading packets of a stream cut mid-GOP) are never disposable: they may hold part of another row', async () => {
    let rowlessNonRef = 0;
    for (const name of ['editlist.mp4', 'midgop_cut.ts']) {
      const file = await fixture(name);
      const t = await scanned(file);
      const rowed = new Set(t.rows);
      const expected = h264Oracle(await tracePackets(file)).map((d, i) => d && rowed.has(i));
      assertSamePackets(disposableOf(t), expected, name);
      rowlessNonRef += h264Oracle(await tracePackets(file)).filter((d, i) => d && !rowed.has(i)).length;
    }
    assert.ok(rowlessNonRef > 0, 'some packets without a row are non-reference pictures');
  });

  test('H.264 (Annex B): the CLI decodes every other frame identically without the disposable packets', async () => {
    const file = await makeClip('ref-h264-pyramid.ts', { ...SIZE, extraArgs: ['-bf', '3', '-x264-params', 'b-pyramid=normal'] });
    await assertDisposableDropsCleanly(await scanned(file), 'h264', 'h264');
  });

  test('HEVC: sub-layer non-reference pictures are disposable when the stream has one sub-layer', async () => {
    const file = await makeClip('ref-hevc.mkv', { ...SIZE, codec: 'libx265', extraArgs: x265('bframes=4:b-pyramid=1') });
    const t = await scanned(file);
    const expected = hevcOracle(await tracePackets(file));
    assertSamePackets(disposableOf(t), expected, 'hevc');
    assert.ok(expected.filter(Boolean).length >= 10, 'the clip has non-reference pictures');
  });

  test('HEVC with temporal layers: only the top sub-layer\'s non-reference pictures; RASL_N at TemporalId 0 stays a reference', async () => {
    const file = await makeClip('ref-hevc-layers.hevc', { ...SIZE, codec: 'libx265', extraArgs: [...x265('bframes=4:b-pyramid=1:temporal-layers=1'), '-f', 'hevc'] });
    const t = await scanned(file);
    const trace = await tracePackets(file);
    assertSamePackets(disposableOf(t), hevcOracle(trace), 'hevc temporal layers');
    const lowNonRef = trace.map((p, i) => (p.lines.some((l) => /^nal_unit_type: (0|2|4|6|8|10|12|14)\(\w+\), nuh_layer_id: 0, temporal_id: 0$/.test(l)) ? i : -1)).filter((i) => i >= 0);
    assert.ok(lowNonRef.length > 0, 'the clip has sub-layer non-reference pictures below the top sub-layer');
    for (const i of lowNonRef) assert.equal(disposableOf(t)[i], false, `packet ${i}: a non-reference picture of a lower sub-layer`);
    assert.ok(disposableOf(t).filter(Boolean).length >= 10);
    await assertDisposableDropsCleanly(t, 'hevc', 'hevc');
  });

  test('VP9: frames refreshing no slot before an error resilient frame are disposable; alt-ref streams keep everything the next frame builds on', async () => {
    const layers = ['-ts-parameters', 'ts_number_layers=2:ts_target_bitrate=150,300:ts_rate_decimator=2,1:ts_periodicity=2:ts_layering_mode=2'];
    const cases = [
      { name: 'ref-vp9-layers-er.webm', args: [...layers, '-error-resilient', 'default'], min: 20 },
      { name: 'ref-vp9-layers.webm', args: layers, min: 0 },
      { name: 'ref-vp9-altref.webm', args: ['-deadline', 'good', '-cpu-used', '4', '-auto-alt-ref', '1', '-lag-in-frames', '16', '-b:v', '200k'], min: 0 },
    ];
    for (const c of cases) {
      const file = await makeClip(c.name, { ...SIZE, codec: 'libvpx-vp9', extraArgs: c.args });
      const t = await scanned(file);
      const expected = vp9Oracle(await tracePackets(file));
      assertSamePackets(disposableOf(t), expected, c.name);
      assert.ok(expected.filter(Boolean).length >= c.min, `${c.name}: ${expected.filter(Boolean).length} disposable`);
    }
    // Without error resilience the next frame predicts from the previous one's motion vectors:
    // the top layer's frames refresh nothing, yet only those before a key frame (or at the end) are disposable.
    const plain = await scanned(await makeClip('ref-vp9-layers.webm', { ...SIZE, codec: 'libvpx-vp9', extraArgs: layers }));
    const kept = disposableOf(plain).map((d, i) => (d ? i : -1)).filter((i) => i >= 0);
    assert.ok(kept.length > 0 && kept.length <= 3, String(kept));
    for (const i of kept) assert.ok(i === plain.packets.length - 1 || plain.packets[i + 1].flags & KEY, `packet ${i}`);
    const er = await scanned(await makeClip('ref-vp9-layers-er.webm', { ...SIZE, codec: 'libvpx-vp9', extraArgs: [...layers, '-error-resilient', 'default'] }));
    await assertDisposableDropsCleanly(er, 'vp9', 'ivf');
  });

  test('VP8: frames refreshing and copying into no slot and keeping no probability update are disposable when the next frame does not build on their other state', async () => {
    // No trace_headers for VP8 in the CLI: the oracle is its decode without those packets.
    const layers = ['-ts-parameters', 'ts_number_layers=2:ts_target_bitrate=150,300:ts_rate_decimator=2,1:ts_periodicity=2:ts_layering_mode=2'];
    const er = await scanned(await makeClip('ref-vp8-layers-er.webm', { ...SIZE, codec: 'libvpx', extraArgs: [...layers, '-error-resilient', 'default'] }));
    // The top layer: every other frame after the key frame.
    assert.deepEqual(disposableOf(er).map((d, i) => (d ? i : -1)).filter((i) => i >= 0), Array.from({ length: 24 }, (_, k) => 2 * k + 1));
    await assertDisposableDropsCleanly(er, 'vp8', 'ivf');
    // Without error resilience the top layer's frames keep their probability updates: references.
    const plain = await scanned(await makeClip('ref-vp8-layers.webm', { ...SIZE, codec: 'libvpx', extraArgs: layers }));
    assert.equal(plain.info.disposablePackets, 0);
  });

  test('AV1: temporal units whose frames all refresh no reference slot are disposable; hidden frames and shown existing frames are not', async () => {
    const cases = [
      ['ref-av1-svt.mkv', { codec: 'libsvtav1', extraArgs: ['-preset', '12'] }, 8],
      ['ref-av1-aom.mp4', { codec: 'libaom-av1', extraArgs: ['-lag-in-frames', '16', '-b:v', '200k'] }, 0],
    ];
    for (const [name, opts, min] of cases) {
      const file = await makeClip(name, { ...SIZE, ...opts });
      const t = await scanned(file);
      const expected = av1Oracle(await tracePackets(file));
      assertSamePackets(disposableOf(t), expected, name);
      assert.ok(expected.filter(Boolean).length >= min, `${name}: ${expected.filter(Boolean).length} disposable`);
      if (min > 0) await assertDisposableDropsCleanly(t, 'av1', 'ivf');
    }
  });

  test('MPEG-4 Part 2: B-VOPs (ffprobe pict_type B) are disposable, I- and P-VOPs are not', async () => {
    const file = await makeClip('ref-mpeg4.avi', { ...SIZE, codec: 'mpeg4', extraArgs: ['-bf', '2'] });
    const t = await scanned(file);
    const expected = await mpeg4Oracle(file);
    assertSamePackets(disposableOf(t), expected, 'mpeg4');
    assert.ok(expected.filter(Boolean).length >= 20);
    // The elementary stream starts with the VOL header the AVI keeps as extradata.
    const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=extradata', '-show_data', '-of', 'json', file]);
    const hex = (JSON.parse(stdout).streams[0].extradata ?? '').split('\n').map((l) => l.slice(10, 50).replace(/\s/g, '')).join('');
    await assertDisposableDropsCleanly(t, 'mpeg4', 'm4v', Buffer.from(hex, 'hex'));
  });

  test('MPEG-4 Part 2: a packet holding a P- and a B-VOP (packed bitstream), an N-VOP and a cut B-VOP header are references', async () => {
    const t = await scanned(await makeClip('ref-mpeg4.avi', { ...SIZE, codec: 'mpeg4', extraArgs: ['-bf', '2'] }));
    const fd = fs.openSync(t.data, 'r');
    const read = (p) => {
      const b = Buffer.alloc(p.size);
      fs.readSync(fd, b, 0, p.size, p.offset);
      return b;
    };
    const disposable = disposableOf(t);
    const b = t.packets.findIndex((_, i) => disposable[i]);
    const p = t.packets.findIndex((pk, i) => i < b && !(pk.flags & KEY) && !disposable[i]);
    assert.ok(p > 0 && b > p, 'the clip has a P-VOP before its first B-VOP');
    const bVop = read(t.packets[b]);
    const packed = Buffer.concat([read(t.packets[p]), bVop]);
    fs.closeSync(fd);
    // The N-VOP: the B-VOP with vop_coded cleared. After the start code: vop_coding_type (2),
    // modulo_time_base (ones, then a zero), a marker, vop_time_increment (5 bits: ffmpeg's
    // encoder declares a resolution of 24 here), a marker, vop_coded.
    const nVop = Buffer.from(bVop);
    const bit = (k) => (nVop[4 + (k >> 3)] >> (7 - (k & 7))) & 1;
    let k = 2;
    while (bit(k) === 1) k++;
    k += 1 + 1 + 5 + 1;
    assert.equal(bit(k), 1, 'the B-VOP is coded');
    nVop[4 + (k >> 3)] &= ~(0x80 >> (k & 7));
    const cases = [[packed, false, 'P-VOP and B-VOP in one packet'], [bVop, true, 'one B-VOP'], [nVop, false, 'an N-VOP (vop_coded 0)'],
      [bVop.subarray(0, 5), false, 'a B-VOP header cut short'], [Buffer.concat([bVop, bVop]), true, 'two B-VOPs']];
    const dir = tempDir();
    const data = path.join(dir, 'packets.bin');
    fs.writeFileSync(data, Buffer.concat(cases.map((c) => c[0])));
    // The index's packets after the key packet point at the cases, the rest at the B-VOP.
    const index = asFormat2(t.index);
    for (let i = 0; i < t.packets.length; i++) {
      const c = i >= 1 && i <= cases.length ? cases[i - 1] : cases[1];
      const offset = i >= 1 && i <= cases.length ? cases.slice(0, i - 1).reduce((n, x) => n + x[0].length, 0) : cases[0][0].length;
      index.writeBigInt64LE(BigInt(offset), t.layout.packetTable + i * 40 + 24);
      index.writeInt32LE(c[0].length, t.layout.packetTable + i * 40 + 32);
    }
    const got = disposableOf(packetTable(await native.classifyIndex(index, data)));
    cases.forEach(([, expected, what], c) => assert.equal(got[c + 1], expected, what));
  });

  test('an index of format 2 loads unclassified, classifies to the same flags from its packets, and a stream stored with it decodes as the oracle', async () => {
    const file = await makeClip('ref-h264-flat.mp4', { ...SIZE, extraArgs: ['-bf', '3', '-x264-params', 'b-pyramid=none'] });
    const sc = new vg.Client({ db: tempDir() });
    const stream = new vg.NamedVideoStream(sc, 'old', { path: file });
    await stream.ingest();
    const dir = (await sc.ready()).streamDir('old');
    const stored = fs.readFileSync(path.join(dir, 'index.vgix'));
    assert.equal(packetTable(stored).version, 3);
    assert.ok(native.indexInfo(stored).disposablePackets >= 20);
    const v2 = asFormat2(stored);
    const info = native.indexInfo(v2);
    assert.equal(info.classified, false);
    assert.equal(info.disposablePackets, 0);
    // Reclassified from the packet file: the format 3 index, byte for byte.
    const upgraded = Buffer.from(await native.classifyIndex(v2, path.join(dir, 'packets.bin')));
    assert.ok(upgraded.equals(stored), 'the format 2 index classified equals the one ingest wrote');
    // Stored as format 2, the stream still reads as the CLI decodes it (its index is upgraded at open).
    fs.writeFileSync(path.join(dir, 'index.vgix'), v2);
    const o = await oracle(file);
    const rows = [0, 2, 3, 13, 30, 47];
    let k = 0;
    for await (const f of stream.load({ rows })) {
      assertSameFrame(f, o.frame(rows[k]), `row ${rows[k]}`);
      k++;
    }
    assert.equal(k, rows.length);
    // The first open wrote the classified index over the old one: later opens skip the pass.
    assert.ok(fs.readFileSync(path.join(dir, 'index.vgix')).equals(stored), 'the stored index was upgraded in place to format 3');
  });

  test('a reader index cache entry of format 2 is rebuilt and written over with format 3', async () => {
    const file = await makeClip('ref-h264-cache.mp4', { ...SIZE, extraArgs: ['-bf', '3', '-x264-params', 'b-pyramid=none'] });
    const cache = tempDir();
    const first = await vg.VideoReader.open(file, { indexCache: cache });
    assert.equal(first.indexSource, 'scan');
    await first.close();
    const [entry] = fs.readdirSync(cache).filter((n) => n.endsWith('.vgix'));
    const written = fs.readFileSync(path.join(cache, entry));
    assert.equal(packetTable(written).version, 3);
    fs.writeFileSync(path.join(cache, entry), asFormat2(written));
    const second = await vg.VideoReader.open(file, { indexCache: cache });
    assert.equal(second.indexSource, 'scan', 'a format 2 entry is not used');
    await second.close();
    assert.ok(fs.readFileSync(path.join(cache, entry)).equals(written), 'the entry is rewritten as format 3');
    const third = await vg.VideoReader.open(file, { indexCache: cache });
    assert.equal(third.indexSource, 'cache');
    await third.close();
  });

  test('damaged packets never crash the classifier and truncated length-prefixed packets are references', async () => {
    const clips = [
      await makeClip('ref-h264-flat.mp4', { ...SIZE, extraArgs: ['-bf', '3', '-x264-params', 'b-pyramid=none'] }),
      await makeClip('ref-hevc.mkv', { ...SIZE, codec: 'libx265', extraArgs: x265('bframes=4:b-pyramid=1') }),
      await makeClip('ref-vp9-layers-er.webm', { ...SIZE, codec: 'libvpx-vp9', extraArgs: ['-ts-parameters', 'ts_number_layers=2:ts_target_bitrate=150,300:ts_rate_decimator=2,1:ts_periodicity=2:ts_layering_mode=2', '-error-resilient', 'default'] }),
      await makeClip('ref-mpeg4.avi', { ...SIZE, codec: 'mpeg4', extraArgs: ['-bf', '2'] }),
      await makeClip('ref-vp8-layers-er.webm', { ...SIZE, codec: 'libvpx', extraArgs: ['-ts-parameters', 'ts_number_layers=2:ts_target_bitrate=150,300:ts_rate_decimator=2,1:ts_periodicity=2:ts_layering_mode=2', '-error-resilient', 'default'] }),
      await makeClip('ref-av1-svt.mkv', { ...SIZE, codec: 'libsvtav1', extraArgs: ['-preset', '12'] }),
    ];
    const random = seededRandom(7);
    for (const file of clips) {
      const t = await scanned(file);
      const v2 = asFormat2(t.index);
      // Every packet one byte short: the NAL lengths (avcC, hvcC) no longer tile it.
      if (/\.(mp4|mkv)$/.test(file)) {
        const short = Buffer.from(v2);
        for (let i = 0; i < t.packets.length; i++) short.writeInt32LE(t.packets[i].size - 1, t.layout.packetTable + i * 40 + 32);
        const got = packetTable(await native.classifyIndex(short, t.data));
        assert.equal(got.packets.filter((p) => p.flags & DISPOSABLE).length, 0, `${path.basename(file)}: truncated packets`);
      }
      // Random damage to the packet bytes: any answer, no crash, no hang.
      const bytes = fs.readFileSync(t.data);
      for (let round = 0; round < 20; round++) {
        const damaged = Buffer.from(bytes);
        const hits = 1 + Math.floor(random() * 64);
        for (let h = 0; h < hits; h++) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
        if (round % 4 === 3) damaged.fill(round % 8 === 3 ? 0xff : 0, Math.floor(random() * damaged.length));
        const data = path.join(path.dirname(t.data), `damaged-${round}.bin`);
        fs.writeFileSync(data, damaged);
        const got = packetTable(await native.classifyIndex(v2, data));
        assert.equal(got.packets.length, t.packets.length);
        assert.equal(got.version, 3);
      }
      // A data file shorter than the index says: unread packets are references.
      const cut = path.join(path.dirname(t.data), 'cut.bin');
      fs.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
      const got = packetTable(await native.classifyIndex(v2, cut));
      got.packets.forEach((p, i) => {
        if (t.packets[i].offset + t.packets[i].size > bytes.length >> 1) assert.equal(p.flags & DISPOSABLE, 0, `packet ${i} past the cut`);
      });
    }
  });
});
