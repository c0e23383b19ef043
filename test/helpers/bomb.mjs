// Decompression bombs for the pixel-limit tests: a tiny H.264 stream whose sequence
// parameter set (SPS) is rewritten to claim a huge picture. The slices stay those of the
// small picture, so the file is a few KB while a decoder that believes the SPS allocates
// frames of the claimed size.
//
//   import { h264Bomb } from './helpers/bomb.mjs';
//   await h264Bomb(dir, { width: 16000, height: 16000 })   // → path of a raw .h264 file
//   await h264Bomb(dir, { width: 16000, height: 16000, prefix: true })
//        // the first GOP is honest (64x64), the second one claims the huge size
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Splits an Annex-B stream into NAL units (without start codes). */
function nalUnits(buf) {
  const starts = [];
  for (let i = 0; i + 3 <= buf.length; i++) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1] - 3 : buf.length;
    while (end > s && buf[end - 1] === 0) end--; // the zero of a 4-byte start code
    return buf.subarray(s, end);
  });
}

function unescape(nal) {
  const out = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]);
  }
  return out;
}

function escape(bytes) {
  const out = [];
  let zeros = 0;
  for (const b of bytes) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

class BitReader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }
  bit() {
    const b = (this.bytes[this.pos >> 3] >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }
  bits(n) {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue() {
    let zeros = 0;
    while (this.bit() === 0) zeros++;
    return 2 ** zeros - 1 + this.bits(zeros);
  }
}

class BitWriter {
  constructor() {
    this.bitsOut = [];
  }
  bits(n, v) {
    for (let i = n - 1; i >= 0; i--) this.bitsOut.push(Math.floor(v / 2 ** i) % 2);
  }
  ue(v) {
    const len = Math.floor(Math.log2(v + 1));
    this.bits(len, 0);
    this.bits(len + 1, v + 1);
  }
  bytes() {
    const b = [...this.bitsOut];
    while (b.length % 8) b.push(0);
    const out = [];
    for (let i = 0; i < b.length; i += 8) out.push(b.slice(i, i + 8).reduce((a, x) => a * 2 + x, 0));
    return out;
  }
}

/** Rewrites a baseline-profile SPS NAL unit to claim width x height (multiples of 16). */
function patchSps(nal, width, height) {
  const rbsp = unescape(nal);
  const r = new BitReader(rbsp);
  const w = new BitWriter();
  const copy = (n) => w.bits(n, r.bits(n));
  const copyUe = () => w.ue(r.ue());
  copy(8); // NAL header
  const profile = r.bits(8);
  if (profile !== 66) throw new Error(`bomb: expected a baseline SPS, got profile ${profile}`);
  w.bits(8, profile);
  copy(16); // constraint flags, level
  copyUe(); // seq_parameter_set_id
  copyUe(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  w.ue(pocType);
  if (pocType === 0) copyUe();
  else if (pocType === 1) throw new Error('bomb: pic_order_cnt_type 1 is not handled');
  copyUe(); // max_num_ref_frames
  copy(1); // gaps_in_frame_num_value_allowed_flag
  r.ue();
  r.ue();
  w.ue(width / 16 - 1);
  w.ue(height / 16 - 1);
  // The rest (frame_mbs_only_flag …) verbatim, without the old trailing bits.
  const total = rbsp.length * 8;
  let last = total - 1;
  while (last >= r.pos && ((rbsp[last >> 3] >> (7 - (last & 7))) & 1) === 0) last--;
  while (r.pos < last) w.bits(1, r.bit());
  w.bits(1, 1); // rbsp_stop_one_bit
  return escape(w.bytes());
}

function encode(dir, name) {
  const file = path.join(dir, name);
  execFileSync('ffmpeg', ['-y', '-v', 'error', '-nostdin', '-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=25:duration=0.4',
    '-c:v', 'libx264', '-profile:v', 'baseline', '-g', '5', '-pix_fmt', 'yuv420p', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264', file]);
  return fs.readFileSync(file);
}

/**
 * A raw H.264 file whose SPS claims width x height. With `prefix`, an honest 64x64 stream
 * comes first (the container's probe sees 64x64) and the huge SPS appears mid-stream.
 * `container: 'mkv'` remuxes it (packets unchanged) into Matroska, which has timestamps:
 * opening then needs no decode pass.
 */
export function h264Bomb(dir, { width, height, prefix = false, container }) {
  const small = encode(dir, 'small.h264');
  const parts = [];
  for (const nal of nalUnits(small)) {
    const type = nal[0] & 0x1f;
    parts.push(Buffer.from([0, 0, 0, 1]), type === 7 ? patchSps(nal, width, height) : nal);
  }
  const bomb = Buffer.concat(parts);
  const file = path.join(dir, `bomb-${width}x${height}${prefix ? '-late' : ''}.h264`);
  fs.writeFileSync(file, prefix ? Buffer.concat([small, bomb]) : bomb);
  if (container !== 'mkv') return file;
  const mkv = file.replace(/\.h264$/, '.mkv');
  execFileSync('ffmpeg', ['-y', '-v', 'error', '-nostdin', '-framerate', '25', '-f', 'h264', '-i', file, '-c', 'copy', mkv]);
  return mkv;
}
