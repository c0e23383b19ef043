// Mutators for the fuzz suite (scripts/fuzz.mjs): generic byte damage and targeted
// absurd dimensions in container headers and in the H.264 SPS. Every function is pure
// given its `rand` (a seeded PRNG), so a case name reproduces the same bytes.

const pick = (rand, list) => list[Math.floor(rand() * list.length)];
const int = (rand, lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
/** A range length biased to small values: 1..max, log-uniform. */
const length = (rand, max) => Math.max(1, Math.min(max, Math.floor(Math.exp(rand() * Math.log(Math.max(2, max))))));

// ---------------------------------------------------------------------------
// generic damage: each returns { buf, what } where `what` describes the change

export function bitFlips(buf, rand, region = [0, buf.length]) {
  const out = Buffer.from(buf);
  const n = length(rand, 32);
  const [lo, hi] = region;
  const burst = rand() < 0.3;
  let pos = int(rand, lo, Math.max(lo, hi - 1));
  for (let i = 0; i < n; i++) {
    if (!burst) pos = int(rand, lo, Math.max(lo, hi - 1));
    else pos = Math.min(hi - 1, pos + 1);
    out[pos] ^= 1 << int(rand, 0, 7);
  }
  return { buf: out, what: `${n} bit flips${burst ? ' (burst)' : ''} in [${lo}, ${hi})` };
}

export function truncate(buf, rand) {
  const at = rand() < 0.2 ? int(rand, 0, Math.min(buf.length, 512)) : int(rand, 0, buf.length - 1);
  return { buf: buf.subarray(0, at), what: `truncated to ${at} of ${buf.length} bytes` };
}

export function zeroRange(buf, rand) {
  const out = Buffer.from(buf);
  const len = length(rand, Math.min(8192, buf.length));
  const at = int(rand, 0, buf.length - len);
  out.fill(rand() < 0.8 ? 0 : 0xff, at, at + len);
  return { buf: out, what: `filled ${len} bytes at ${at} with ${out[at] === 0 ? 0 : 0xff}` };
}

export function swapRanges(buf, rand) {
  const out = Buffer.from(buf);
  const len = length(rand, Math.floor(buf.length / 4));
  const a = int(rand, 0, buf.length - 2 * len);
  const b = int(rand, a + len, buf.length - len);
  Buffer.from(buf.subarray(a, a + len)).copy(out, b);
  Buffer.from(buf.subarray(b, b + len)).copy(out, a);
  return { buf: out, what: `swapped ${len} bytes at ${a} and ${b}` };
}

export function duplicateRange(buf, rand) {
  const len = length(rand, Math.min(16384, buf.length));
  const from = int(rand, 0, buf.length - len);
  const to = int(rand, 0, buf.length);
  return { buf: Buffer.concat([buf.subarray(0, to), buf.subarray(from, from + len), buf.subarray(to)]), what: `copied ${len} bytes from ${from} to ${to}` };
}

/** Bit flips confined to where containers keep their headers and indexes. */
export function headerFlips(buf, rand) {
  const region = headerRegion(buf, rand);
  return bitFlips(buf, rand, region);
}

function headerRegion(buf, rand) {
  const moov = isoBoxes(buf, 0, buf.length).find((b) => b.type === 'moov');
  if (moov) return [moov.start, moov.end];
  return rand() < 0.7 ? [0, Math.min(buf.length, 4096)] : [Math.max(0, buf.length - 4096), buf.length];
}

// ---------------------------------------------------------------------------
// ISO-BMFF (MP4/MOV)

export function isoBoxes(buf, start, end) {
  const out = [];
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let hdr = 8;
    if (size === 1 && pos + 16 <= end) { size = Number(buf.readBigUInt64BE(pos + 8)); hdr = 16; }
    else if (size === 0) size = end - pos;
    if (size < hdr || pos + size > end) break;
    out.push({ type, start: pos, size, hdr, body: pos + hdr, end: pos + size });
    pos += size;
  }
  return out;
}

/** The box path moov/trak/mdia/minf/stbl/stsd → first sample entry, with every ancestor. */
function sampleEntryPath(buf) {
  const chain = [];
  let scope = { body: 0, end: buf.length };
  for (const type of ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd']) {
    const box = isoBoxes(buf, scope.body, scope.end).find((b) => b.type === type);
    if (!box) return undefined;
    chain.push(box);
    scope = box;
  }
  const stsd = chain.at(-1);
  const entry = isoBoxes(buf, stsd.body + 8, stsd.end)[0]; // full box header + entry_count
  if (!entry) return undefined;
  chain.push(entry);
  return chain;
}

const HUGE_16_16 = [0, 0xffff0000, 0x7fff0000, 0x3e800000 /* 16000.0 */];
const HUGE_16 = [0, 1, 0xffff, 16000];

/** tkhd width/height (16.16 fixed point, the box's last 8 bytes). */
export function mp4TkhdDims(buf, rand) {
  const moov = isoBoxes(buf, 0, buf.length).find((b) => b.type === 'moov');
  const trak = moov && isoBoxes(buf, moov.body, moov.end).find((b) => b.type === 'trak');
  const tkhd = trak && isoBoxes(buf, trak.body, trak.end).find((b) => b.type === 'tkhd');
  if (!tkhd) return undefined;
  const out = Buffer.from(buf);
  const w = pick(rand, HUGE_16_16);
  const h = pick(rand, HUGE_16_16);
  out.writeUInt32BE(w, tkhd.end - 8);
  out.writeUInt32BE(h, tkhd.end - 4);
  return { buf: out, what: `tkhd width/height = 0x${w.toString(16)}/0x${h.toString(16)} (16.16)` };
}

/** The visual sample entry's (avc1/hvc1/mp4v/jpeg) 16-bit width and height. */
export function mp4SampleEntryDims(buf, rand) {
  const chain = sampleEntryPath(buf);
  if (!chain) return undefined;
  const entry = chain.at(-1);
  const out = Buffer.from(buf);
  const w = pick(rand, HUGE_16);
  const h = pick(rand, HUGE_16);
  out.writeUInt16BE(w, entry.start + 32);
  out.writeUInt16BE(h, entry.start + 34);
  return { buf: out, what: `${entry.type} width/height = ${w}/${h}` };
}

/** Rewrites the SPS inside avcC with absurd dimensions, growing the ancestor boxes to fit (moov after mdat). */
export function mp4AvcCSps(buf, rand) {
  const chain = sampleEntryPath(buf);
  if (!chain || chain.at(-1).type !== 'avc1') return undefined;
  const moov = chain[0];
  if (isoBoxes(buf, 0, buf.length).some((b) => b.type === 'mdat' && b.start > moov.start)) return undefined;
  const entry = chain.at(-1);
  const avcC = isoBoxes(buf, entry.body + 78, entry.end).find((b) => b.type === 'avcC');
  if (!avcC || chain.some((b) => b.hdr !== 8) || avcC.hdr !== 8) return undefined;
  const spsLenAt = avcC.body + 6;
  const spsLen = buf.readUInt16BE(spsLenAt);
  const sps = buf.subarray(spsLenAt + 2, spsLenAt + 2 + spsLen);
  const [w, h] = pick(rand, ABSURD_SPS_DIMS);
  const fresh = rewriteSpsDims(sps, w, h);
  const delta = fresh.length - sps.length;
  const lenField = Buffer.alloc(2);
  lenField.writeUInt16BE(fresh.length);
  const out = Buffer.concat([buf.subarray(0, spsLenAt), lenField, fresh, buf.subarray(spsLenAt + 2 + spsLen)]);
  for (const b of [...chain, avcC]) out.writeUInt32BE(b.size + delta, b.start);
  return { buf: out, what: `avcC SPS rewritten to ${w}x${h}` };
}

// ---------------------------------------------------------------------------
// Matroska/WebM: PixelWidth (0xB0) and PixelHeight (0xBA) inside Video (0xE0)

export function mkvPixelDims(buf, rand) {
  const video = buf.indexOf(Buffer.from([0xe0]), buf.indexOf(Buffer.from([0xae]))); // a Video element after a TrackEntry
  if (video < 0) return undefined;
  const out = Buffer.from(buf);
  const changed = [];
  for (const id of [0xb0, 0xba]) {
    const at = out.indexOf(Buffer.from([id]), video);
    if (at < 0 || at > video + 64) continue;
    const size = out[at + 1] & 0x7f; // 1-byte vint size
    const how = int(rand, 0, 2);
    if (how === 0) { out.fill(0, at + 2, at + 2 + size); changed.push(`${id.toString(16)}=0`); }
    else if (how === 1) { out.fill(0xff, at + 2, at + 2 + size); changed.push(`${id.toString(16)}=max ${size}-byte`); }
    else { out[at + 1] = 0x88; changed.push(`${id.toString(16)} size claims 8 bytes`); }
  }
  return changed.length ? { buf: out, what: `Matroska PixelWidth/PixelHeight: ${changed.join(', ')}` } : undefined;
}

// ---------------------------------------------------------------------------
// AVI: avih dwWidth/dwHeight and the stream format's BITMAPINFOHEADER biWidth/biHeight

const HUGE_I32 = [0, -1, 0x7fffffff, 100000, -100000, 16000];

export function aviDims(buf, rand) {
  const out = Buffer.from(buf);
  const changed = [];
  const avih = buf.indexOf('avih', 0, 'latin1');
  if (avih >= 0 && avih + 48 <= buf.length) {
    const [w, h] = [pick(rand, HUGE_I32), pick(rand, HUGE_I32)];
    out.writeInt32LE(w, avih + 8 + 32);
    out.writeInt32LE(h, avih + 8 + 36);
    changed.push(`avih ${w}x${h}`);
  }
  const strf = buf.indexOf('strf', 0, 'latin1');
  if (strf >= 0 && strf + 20 <= buf.length && rand() < 0.8) {
    const [w, h] = [pick(rand, HUGE_I32), pick(rand, HUGE_I32)];
    out.writeInt32LE(w, strf + 8 + 4);
    out.writeInt32LE(h, strf + 8 + 8);
    changed.push(`strf ${w}x${h}`);
  }
  return changed.length ? { buf: out, what: `AVI dimensions: ${changed.join(', ')}` } : undefined;
}

// ---------------------------------------------------------------------------
// VP9 keyframe header: frame_width_minus_1 / frame_height_minus_1 after the sync code (profile 0)

export function vp9FrameDims(buf, rand) {
  const out = Buffer.from(buf);
  const sync = Buffer.from([0x49, 0x83, 0x42]);
  const [w, h] = [pick(rand, [0xffff, 16000, 0x7fff]), pick(rand, [0xffff, 16000, 0])];
  let n = 0;
  for (let at = out.indexOf(sync); at > 0; at = out.indexOf(sync, at + 3)) {
    const header = out[at - 1];
    if ((header >> 6) !== 2 || ((header >> 4) & 3) !== 0) continue; // frame_marker 2, profile 0
    // after the sync code: color_space (3) + color_range (1), then the two 16-bit sizes
    const bits = new BitPatcher(out, (at + 3) * 8 + 4);
    bits.write(w, 16);
    bits.write(h, 16);
    if (++n >= 4) break;
  }
  return n ? { buf: out, what: `VP9 keyframe size ${w + 1}x${h + 1} in ${n} frames` } : undefined;
}

class BitPatcher {
  constructor(buf, bit) { this.buf = buf; this.bit = bit; }
  write(value, nbits) {
    for (let i = nbits - 1; i >= 0; i--, this.bit++) {
      const byte = this.bit >> 3;
      const mask = 0x80 >> (this.bit & 7);
      if (byte >= this.buf.length) return;
      if ((value >> i) & 1) this.buf[byte] |= mask; else this.buf[byte] &= ~mask;
    }
  }
}

// ---------------------------------------------------------------------------
// MJPEG: the SOF0 height/width of the first frames

export function jpegSofDims(buf, rand) {
  const out = Buffer.from(buf);
  const [w, h] = [pick(rand, HUGE_16), pick(rand, HUGE_16)];
  let n = 0;
  for (let at = out.indexOf(Buffer.from([0xff, 0xc0])); at >= 0 && n < 8; at = out.indexOf(Buffer.from([0xff, 0xc0]), at + 2)) {
    if (at + 9 > out.length) break;
    out.writeUInt16BE(h, at + 5);
    out.writeUInt16BE(w, at + 7);
    n++;
  }
  return n ? { buf: out, what: `JPEG SOF0 ${w}x${h} in ${n} frames` } : undefined;
}

// ---------------------------------------------------------------------------
// H.264 SPS with absurd pic_width_in_mbs / pic_height_in_map_units

export const ABSURD_SPS_DIMS = [[16000, 16000], [32768, 32768], [16, 1 << 20], [1 << 20, 16], [65536, 65536]];

/** Annex B stream: every SPS NAL rewritten to w x h. */
export function annexBSps(buf, rand) {
  const [w, h] = pick(rand, ABSURD_SPS_DIMS);
  const parts = [];
  let last = 0;
  let n = 0;
  for (const nal of annexBNals(buf)) {
    if ((buf[nal.start] & 0x1f) !== 7) continue;
    parts.push(buf.subarray(last, nal.start), rewriteSpsDims(buf.subarray(nal.start, nal.end), w, h));
    last = nal.end;
    n++;
  }
  if (!n) return undefined;
  parts.push(buf.subarray(last));
  return { buf: Buffer.concat(parts), what: `Annex B SPS rewritten to ${w}x${h} (${n} SPS)` };
}

function* annexBNals(buf) {
  const starts = [];
  for (let i = 0; i + 3 <= buf.length; i++) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) { starts.push(i + 3); i += 2; }
  }
  for (let k = 0; k < starts.length; k++) {
    let end = k + 1 < starts.length ? starts[k + 1] - 3 : buf.length;
    while (end > starts[k] && buf[end - 1] === 0) end--; // trailing zero / 4-byte start code
    yield { start: starts[k], end };
  }
}

/** Parses an SPS NAL (header byte included) and writes it back with new picture dimensions. */
export function rewriteSpsDims(nal, width, height) {
  const rbsp = unescapeRbsp(nal.subarray(1));
  const r = new BitReader(rbsp);
  const profile = r.u(8);
  r.u(16); // constraint flags, level
  r.ue(); // seq_parameter_set_id
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    if (r.ue() === 3) r.u(1);
    r.ue(); r.ue(); r.u(1);
    if (r.u(1)) throw new Error('SPS with scaling matrices is not supported by the fuzz rewriter');
  }
  r.ue(); // log2_max_frame_num_minus4
  const poc = r.ue();
  if (poc === 0) r.ue();
  else if (poc === 1) { r.u(1); r.se(); r.se(); const n = r.ue(); for (let i = 0; i < n; i++) r.se(); }
  r.ue(); r.u(1); // max_num_ref_frames, gaps_in_frame_num_allowed
  const before = r.pos;
  r.ue(); r.ue(); // pic_width_in_mbs_minus1, pic_height_in_map_units_minus1
  const after = r.pos;
  let stop = rbsp.length * 8 - 1; // the rbsp_stop_one_bit
  while (stop > after && !r.bitAt(stop)) stop--;
  const w = new BitWriter();
  for (let i = 0; i < before; i++) w.bit(r.bitAt(i));
  w.ue(Math.ceil(width / 16) - 1);
  w.ue(Math.ceil(height / 16) - 1);
  for (let i = after; i < stop; i++) w.bit(r.bitAt(i));
  w.bit(1);
  return Buffer.concat([nal.subarray(0, 1), escapeRbsp(w.bytes())]);
}

class BitReader {
  constructor(buf) { this.buf = buf; this.pos = 0; }
  bitAt(i) { return (this.buf[i >> 3] >> (7 - (i & 7))) & 1; }
  u(n) { let v = 0; for (let i = 0; i < n; i++) v = v * 2 + this.bitAt(this.pos++); return v; }
  ue() { let zeros = 0; while (!this.bitAt(this.pos++)) if (++zeros > 32) throw new Error('bad Exp-Golomb code'); return 2 ** zeros - 1 + this.u(zeros); }
  se() { const k = this.ue(); return k & 1 ? (k + 1) / 2 : -k / 2; }
}

class BitWriter {
  constructor() { this.out = []; this.n = 0; }
  bit(b) { if ((this.n & 7) === 0) this.out.push(0); if (b) this.out[this.out.length - 1] |= 0x80 >> (this.n & 7); this.n++; }
  ue(v) { const x = v + 1; const len = Math.floor(Math.log2(x)); for (let i = 0; i < len; i++) this.bit(0); for (let i = len; i >= 0; i--) this.bit(Math.floor(x / 2 ** i) & 1); }
  bytes() { return Buffer.from(this.out); }
}

function unescapeRbsp(buf) {
  const out = [];
  for (let i = 0; i < buf.length; i++) {
    if (i >= 2 && buf[i] === 3 && buf[i - 1] === 0 && buf[i - 2] === 0 && out.at(-1) === 0 && out.at(-2) === 0) continue;
    out.push(buf[i]);
  }
  return Buffer.from(out);
}

function escapeRbsp(buf) {
  const out = [];
  let zeros = 0;
  for (const b of buf) {
    if (zeros >= 2 && b <= 3) { out.push(3); zeros = 0; }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

// ---------------------------------------------------------------------------
// database files

/** rows.idx: Float64 (offset, size) pairs; one entry set to an absurd value. */
export function rowTableEntry(buf, rand) {
  if (buf.length < 16) return undefined;
  const out = Buffer.from(buf);
  const entries = Math.floor(buf.length / 8);
  const k = int(rand, 0, entries - 1);
  const value = pick(rand, [-2, -1e18, 1e18, 2 ** 53, 2 ** 31, 0.5, NaN, Infinity, 1e9]);
  out.writeDoubleLE(value, k * 8);
  return { buf: out, what: `row table ${k % 2 ? 'size' : 'offset'} of row ${k >> 1} = ${value}` };
}

/** rows.bin of a frame stream: a stored frame's 16-byte header (height, width, channels, dtype) made absurd. */
export function frameHeader(buf, rand, table) {
  const rows = table ? Math.floor(table.length / 16) : 0;
  if (!rows) return undefined;
  const row = int(rand, 0, rows - 1);
  const offset = table.readDoubleLE(row * 16);
  if (!(offset >= 0 && offset + 16 <= buf.length)) return undefined;
  const out = Buffer.from(buf);
  const field = int(rand, 0, 3);
  const value = pick(rand, field === 3 ? [4, 99, 0xffffffff] : [0, 0xffffffff, 0x10000, 0x40000000, 3]);
  out.writeUInt32LE(value, offset + field * 4);
  return { buf: out, what: `frame header of row ${row}: ${['height', 'width', 'channels', 'dtype'][field]} = ${value}` };
}

/** meta.json: one field set to an absurd or ill-typed value. */
export function metaField(buf, rand) {
  let meta;
  try { meta = JSON.parse(buf.toString('utf8')); } catch { return undefined; }
  const edits = [
    ['rows', pick(rand, [-1, 0, 1e12, 2 ** 53, 1.5, 'many', null])],
    ['kind', pick(rand, ['stream', 'video', 'x', 7])],
    ['storage', pick(rand, ['packets', 'elements', 'zip', null])],
    ['type', pick(rand, ['Frame', 'Nope', 'Histogram', 5])],
    ['dataFile', pick(rand, ['/nonexistent/packets.bin', '../../../../etc/passwd', '/dev/zero', '', 42])],
    ['formatVersion', pick(rand, [2, 0, 'x'])],
    ['video', pick(rand, [null, 'x', {}])],
    ['video.width', pick(rand, [0, -1, 1e9, 65536, 'w'])],
    ['video.height', pick(rand, [0, -1, 1e9, 65536])],
    ['video.frames', pick(rand, [0, -1, 1e9])],
    ['video.codec', pick(rand, ['nope', 'h264', 'rawvideo', ''])],
    ['video.pixFmt', pick(rand, ['nope', 'yuv444p16le', ''])],
    ['video.timeBase', pick(rand, [[0, 0], [1, 0], [-1, 1], 'x'])],
    ['video.fps', pick(rand, [0, -1, 1e9, NaN])],
  ];
  const [key, value] = pick(rand, edits);
  const [top, sub] = key.split('.');
  if (sub) { if (meta[top] && typeof meta[top] === 'object') meta[top][sub] = value; else return undefined; }
  else meta[top] = value;
  return { buf: Buffer.from(JSON.stringify(meta, null, 2)), what: `meta.json ${key} = ${JSON.stringify(value)}` };
}
