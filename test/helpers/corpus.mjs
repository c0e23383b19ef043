// Test-video corpus for vidgraph.
//
// Generates small fixture videos with the ffmpeg CLI at test time (nothing binary
// is committed), caches them in CACHE_DIR, and computes oracle frames by decoding
// with the ffmpeg CLI.  Only node: builtins are used.
//
//   import { fixture, allFixtures, oracle, makeClip, CORPUS } from './helpers/corpus.mjs';
//
// Self-check:  node test/helpers/corpus.mjs   (generates everything, verifies every
// trait each fixture claims, prints a table, exits non-zero if a claim is false).
//
// Every output file is written under a temporary name in the same directory and
// then rename()d into place, so concurrent test processes never observe a
// half-written fixture; an existing file is reused as-is.  To force regeneration
// delete CACHE_DIR (or point VIDGRAPH_TEST_CACHE elsewhere).

import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

export const CACHE_DIR = path.resolve(process.env.VIDGRAPH_TEST_CACHE || path.join(REPO, 'test', '.cache'));

const FFMPEG = 'ffmpeg';
const FFPROBE = 'ffprobe';
const FF = ['-y', '-v', 'error', '-nostdin'];
// SVT-AV1 prints its banner straight to stderr regardless of -v; SVT_LOG=1 keeps it to errors.
const CHILD_ENV = { ...process.env, SVT_LOG: process.env.SVT_LOG || '1' };

// ---------------------------------------------------------------------------
// process helpers

async function run(cmd, args, opts = {}) {
  try {
    return await execFileP(cmd, args, {
      env: CHILD_ENV,
      maxBuffer: 256 * 1024 * 1024,
      encoding: opts.encoding ?? 'utf8',
    });
  } catch (err) {
    const stderr = err.stderr ? String(err.stderr).trim() : '';
    const e = new Error(`${cmd} ${args.join(' ')}\nfailed (${err.code ?? err.signal}): ${stderr || err.message}`);
    e.code = err.code;
    e.stderr = stderr;
    throw e;
  }
}

// Last arg is the output file.  +bitexact keeps muxers from writing random UIDs /
// serials (Matroska, Ogg) and encoder strings, so a regenerated fixture is
// byte-identical to the previous one.
const ffmpeg = (args) => run(FFMPEG, [...FF, ...args.slice(0, -1), '-fflags', '+bitexact', args.at(-1)]);

let tmpSeq = 0;
function tmpName(dir, name) {
  // keep the real extension last: ffmpeg picks the muxer from it
  return path.join(dir, `.tmp-${process.pid}-${Date.now().toString(36)}-${tmpSeq++}-${name}`);
}

async function exists(p) {
  try {
    const st = await fsp.stat(p);
    return st.isFile() && st.size > 0;
  } catch {
    return false;
  }
}

/**
 * Produce `finalPath` atomically: `build(tmpOut, scratch)` must write tmpOut;
 * scratch(name) hands out extra temp paths (removed afterwards).
 */
async function atomicBuild(finalPath, build) {
  if (await exists(finalPath)) return finalPath;
  const dir = path.dirname(finalPath);
  await fsp.mkdir(dir, { recursive: true });
  const temps = [];
  const scratch = (name) => {
    const p = tmpName(dir, name);
    temps.push(p);
    return p;
  };
  const out = scratch(path.basename(finalPath));
  try {
    await build(out, scratch);
    if (!(await exists(out))) throw new Error(`recipe for ${path.basename(finalPath)} produced no output`);
    await fsp.rename(out, finalPath);
  } finally {
    await Promise.all(temps.map((p) => fsp.rm(p, { force: true })));
  }
  return finalPath;
}

// One in-flight promise per key per process (cross-process safety comes from rename()).
const inflight = new Map();
function once(key, fn) {
  let p = inflight.get(key);
  if (!p) {
    p = fn().finally(() => inflight.delete(key));
    inflight.set(key, p);
  }
  return p;
}

// ---------------------------------------------------------------------------
// recipe building blocks

/** lavfi source: moving testsrc2 + temporal noise so that every frame differs. */
function src({ seconds = 2, size = '320x240', fps = 24, post = '', noise = true } = {}) {
  const chain = [`testsrc2=size=${size}:rate=${fps}:duration=${seconds}`];
  if (noise) chain.push('noise=alls=20:allf=t');
  if (post) chain.push(post);
  return ['-f', 'lavfi', '-i', chain.join(',')];
}

const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];

async function truncateFile(from, to, nbytes) {
  const fh = await fsp.open(from, 'r');
  try {
    const buf = Buffer.alloc(nbytes);
    const { bytesRead } = await fh.read(buf, 0, nbytes, 0);
    await fsp.writeFile(to, buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** Walk RIFF/AVI 'movi' chunks and return the end offset of the last chunk ending <= limit. */
function aviChunkBoundary(buf, limit) {
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'AVI ') throw new Error('not an AVI');
  let pos = 12;
  while (pos + 12 <= buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    if (id === 'LIST' && buf.toString('latin1', pos + 8, pos + 12) === 'movi') {
      let p = pos + 12;
      let best = p;
      const end = Math.min(pos + 8 + size, buf.length);
      while (p + 8 <= end) {
        const next = p + 8 + buf.readUInt32LE(p + 4) + (buf.readUInt32LE(p + 4) & 1);
        if (next > limit) break;
        best = next;
        p = next;
      }
      return best;
    }
    pos += 8 + size + (size & 1);
  }
  throw new Error('AVI has no movi list');
}

/** Iterate ISO-BMFF boxes in buf[start, end). */
function* boxes(buf, start, end) {
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let hdr = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(pos + 8));
      hdr = 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < hdr || pos + size > end) throw new Error(`bad box ${type} at ${pos}`);
    yield { type, start: pos, size, hdr, body: pos + hdr, end: pos + size };
    pos += size;
  }
}
const child = (buf, box, type) => [...boxes(buf, box.body, box.end)].find((b) => b.type === type);

/**
 * Insert an empty edit (media_time -1) of `seconds` in front of the existing edit
 * list of the single track of an ffmpeg-written MP4 (moov after mdat, 32-bit box
 * sizes).  The ffmpeg CLI's mov muxer cannot write "empty edit + trimming edit",
 * so this is the only way to get both a non-zero start time and discarded packets.
 */
function prependEmptyEdit(buf, seconds) {
  const top = [...boxes(buf, 0, buf.length)];
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) throw new Error('no moov');
  if (top.some((b) => b.type === 'mdat' && b.start > moov.start)) throw new Error('moov before mdat: offsets would shift');
  const traks = [...boxes(buf, moov.body, moov.end)].filter((b) => b.type === 'trak');
  if (traks.length !== 1) throw new Error(`expected 1 trak, got ${traks.length}`);
  const trak = traks[0];
  const mvhd = child(buf, moov, 'mvhd');
  const tkhd = child(buf, trak, 'tkhd');
  const edts = child(buf, trak, 'edts');
  const elst = edts && child(buf, edts, 'elst');
  if (!mvhd || !tkhd || !elst) throw new Error('missing mvhd/tkhd/elst');
  for (const b of [moov, trak, edts, elst]) if (b.hdr !== 8) throw new Error('64-bit box size not supported');

  const mvV = buf[mvhd.body];
  const timescale = buf.readUInt32BE(mvhd.body + (mvV === 1 ? 20 : 12));
  const dur = Math.round(seconds * timescale);
  const elV = buf[elst.body];
  const entry = Buffer.alloc(elV === 1 ? 20 : 12);
  if (elV === 1) {
    entry.writeBigUInt64BE(BigInt(dur), 0);
    entry.writeBigInt64BE(-1n, 8);
    entry.writeUInt32BE(0x10000, 16);
  } else {
    entry.writeUInt32BE(dur, 0);
    entry.writeInt32BE(-1, 4);
    entry.writeUInt32BE(0x10000, 8);
  }
  const at = elst.body + 8; // version/flags(4) + entry_count(4)
  const out = Buffer.concat([buf.subarray(0, at), entry, buf.subarray(at)]);
  for (const b of [moov, trak, edts, elst]) out.writeUInt32BE(out.readUInt32BE(b.start) + entry.length, b.start);
  out.writeUInt32BE(out.readUInt32BE(elst.body + 4) + 1, elst.body + 4);
  // keep the movie/track durations (movie timescale) consistent with the longer edit list
  const bump = (off, v1) => {
    if (v1) out.writeBigUInt64BE(out.readBigUInt64BE(off) + BigInt(dur), off);
    else out.writeUInt32BE(out.readUInt32BE(off) + dur, off);
  };
  bump(mvhd.body + (mvV === 1 ? 24 : 16), mvV === 1);
  bump(tkhd.body + (buf[tkhd.body] === 1 ? 28 : 20), buf[tkhd.body] === 1);
  return out;
}

/** FLV tags after the file header: { type, ts, start, end } (end includes PreviousTagSize). */
function flvTags(buf) {
  if (buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV');
  const tags = [];
  let pos = buf.readUInt32BE(5) + 4;
  while (pos + 11 <= buf.length) {
    const size = buf.readUIntBE(pos + 1, 3);
    const ts = buf.readUIntBE(pos + 4, 3) | (buf[pos + 7] << 24);
    const end = pos + 11 + size + 4;
    if (end > buf.length) break;
    tags.push({ type: buf[pos], ts, start: pos, end, body: pos + 11, size });
    pos = end;
  }
  return tags;
}

/**
 * `a` then the video tags of `b` (its AVC sequence header included), b's timestamps moved
 * after a's last frame; a's end-of-sequence tag is dropped.  `pad` > 0 appends that many zero
 * bytes to b's sequence header (an oversized in-band extradata).
 */
export function spliceFlv(a, b, pad = 0) {
  const isEos = (buf, t) => t.type === 9 && buf[t.body + 1] === 2;
  const aTags = flvTags(a).filter((t) => !isEos(a, t));
  // FLV tag times are decode times; a frame shows at time + its composition offset (int24).
  const shown = (buf, t) => t.ts + ((buf.readUIntBE(t.body + 2, 3) << 8) >> 8);
  const last = Math.max(...aTags.filter((t) => t.type === 9 && a[t.body + 1] === 1).map((t) => shown(a, t)));
  const parts = [a.subarray(0, a.readUInt32BE(5) + 4), ...aTags.map((t) => a.subarray(t.start, t.end))];
  for (const t of flvTags(b)) {
    if (t.type !== 9 || isEos(b, t)) continue;
    const seqHeader = b[t.body + 1] === 0;
    const extra = seqHeader ? pad : 0;
    const tag = Buffer.concat([b.subarray(t.start, t.body + t.size), Buffer.alloc(extra), Buffer.alloc(4)]);
    tag.writeUIntBE(t.size + extra, 1, 3);
    const ts = t.ts + last + 42;
    tag.writeUIntBE(ts & 0xffffff, 4, 3);
    tag[7] = (ts >>> 24) & 0xff;
    tag.writeUInt32BE(11 + t.size + extra, tag.length - 4);
    parts.push(tag);
  }
  return Buffer.concat(parts);
}

let cliMajor;
/** The ffmpeg CLI's major version (5 for 5.1). */
export async function ffmpegMajor() {
  cliMajor ??= run(FFMPEG, ['-version']).then(({ stdout }) => {
    const m = /ffmpeg version n?(\d+)\./.exec(stdout);
    return m ? Number(m[1]) : 7;
  });
  return cliMajor;
}

/**
 * Input-side arguments that remux `input` with a display matrix turning it `degrees`
 * clockwise on display.  FFmpeg 6+ has the -display_rotation input option (counter-clockwise
 * degrees); 5.1 turns a `rotate` metadata tag on the output stream into the matrix.
 * Either way ffprobe then shows `rotation` -degrees, as for a portrait phone video at 90.
 */
export async function rotationArgs(degrees, input) {
  if ((await ffmpegMajor()) >= 6) return ['-display_rotation', String(-degrees), '-i', input];
  // 5.1 writes a matrix whose counter-clockwise angle is the tag's value: the opposite tag.
  return ['-i', input, '-metadata:s:v:0', `rotate=${(360 - degrees) % 360}`];
}

let av1Encoder;
async function pickAv1Encoder() {
  if (!av1Encoder) {
    av1Encoder = run(FFMPEG, ['-hide_banner', '-encoders']).then(({ stdout }) =>
      /\blibsvtav1\b/.test(stdout) ? 'libsvtav1' : /\blibaom-av1\b/.test(stdout) ? 'libaom-av1' : null,
    );
  }
  return av1Encoder;
}
function av1Args(enc, gop) {
  return enc === 'libsvtav1'
    ? ['-c:v', 'libsvtav1', '-preset', '12', '-g', String(gop), '-pix_fmt', 'yuv420p']
    : ['-c:v', 'libaom-av1', '-usage', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-g', String(gop), '-pix_fmt', 'yuv420p'];
}

// ---------------------------------------------------------------------------
// the corpus
//
// traits vocabulary (each one is verified by the self-check, see TRAIT_CHECKS):
//   bframes            decoded frames include pict_type B (decode order != display order)
//   multi-keyframe     more than one keyframe packet
//   open-gop           a later keyframe is followed (in decode order) by leading
//                      pictures that display before it (they reference the previous GOP)
//   editlist-discard   demuxer flags packets as discard (D) / decodes fewer frames than packets
//   start-time         first video timestamp > 0
//   vfr                frame durations differ
//   odd-dims           odd width and odd height
//   no-pts             demuxed packets carry no pts
//   annexb             raw H.264 elementary stream, no container
//   wrong-header-count header nb_frames != frames actually decodable
//   truncated          file cut short: fewer frames decode than were encoded
//   unaligned          (TS) size is not a multiple of 188
//   full-range         yuvj / pc color range
//   invalid            no decodable video stream (bad: 'ERR_INVALID_VIDEO')
//   rotated            the stream has a display matrix turning it d.rotation degrees clockwise
//   palette            pal8 video (the palette reaches the decoder as packet side data)
//   palette-changes    more than one packet carries a palette
//   new-extradata      a packet carries new extradata (in-band parameter sets)
//   audio-only         only an audio stream
//   mid-gop-start      the first packet is not a keyframe: the stream was cut mid-GOP
//   intra-refresh      keyframes after the first carry a recovery-point SEI, not an IDR

const INPLACE = new Set(['mp4', 'mov', 'mkv', 'webm']);

function entry(name, codec, traits, recipe, extra = {}) {
  const container = path.extname(name).slice(1);
  return {
    name,
    file: name,
    codec,
    container,
    traits,
    inplace: !extra.bad && INPLACE.has(container),
    ...extra,
    recipe,
  };
}

const RECIPES = [
  // Trap: B-frames (reordering) + open GOP: the second I-frame is a non-IDR recovery
  // point and the B-frames right after it in decode order display before it and
  // reference the previous GOP.  Verified: 35 of 48 frames are B, keyframe packets at
  // 0 s and 1 s, leading pictures after the 2nd keyframe.
  entry('h264_bframes_opengop.mp4', 'h264', ['bframes', 'multi-keyframe', 'open-gop'], (out) =>
    ffmpeg([...src({ seconds: 2 }), ...X264, '-bf', '3',
      '-x264-params', 'open-gop=1:keyint=24:min-keyint=24:scenecut=0', out]), { sourceFrames: 48 }),

  // Trap: Matroska timestamps (1 ms timebase, no dts/ctts: the demuxer only has pts) with B-frames.
  entry('h264.mkv', 'h264', ['bframes', 'multi-keyframe'], (out) =>
    ffmpeg([...src({ seconds: 2.5 }), ...X264, '-bf', '3', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', out]),
  { sourceFrames: 60 }),

  // Trap: MPEG-TS: 90 kHz clock, no header frame count, and the muxer's default
  // 1.4 s start offset, i.e. start_time ~1.48 s (1.4 s + B-frame delay).  Verified.
  entry('h264.ts', 'h264', ['bframes', 'multi-keyframe', 'start-time'], (out) =>
    ffmpeg([...src({ seconds: 2 }), ...X264, '-bf', '2', '-g', '24', '-keyint_min', '24', '-sc_threshold', '0', out]),
  { sourceFrames: 48 }),

  // Trap: HEVC in MP4 ('hvc1' tag) with B-frames; x265 defaults to open GOP (CRA).
  entry('hevc.mp4', 'hevc', ['bframes', 'multi-keyframe', 'open-gop'], (out) =>
    ffmpeg([...src({ seconds: 2 }), '-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
      '-bf', '3', '-g', '24', '-x265-params', 'log-level=error:keyint=24:min-keyint=24:scenecut=0:bframes=3',
      '-tag:v', 'hvc1', out]), { sourceFrames: 48 }),

  // Trap: VP9 in WebM (no B-frames; libvpx decoder).
  entry('vp9.webm', 'vp9', ['multi-keyframe'], (out) =>
    ffmpeg([...src({ seconds: 2 }), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8',
      '-g', '30', '-b:v', '400k', '-pix_fmt', 'yuv420p', out]), { sourceFrames: 48 }),

  // Trap: VP8 in WebM.  NB: for VP8 realtime a positive -cpu-used adapts speed to the
  // wall clock (output differs run to run under load); negative = fixed speed, deterministic.
  entry('vp8.webm', 'vp8', ['multi-keyframe'], (out) =>
    ffmpeg([...src({ seconds: 2 }), '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '-8',
      '-g', '30', '-b:v', '400k', '-pix_fmt', 'yuv420p', out]), { sourceFrames: 48 }),

  // Trap: AV1 in Matroska (libsvtav1 preset 12 if available, else libaom realtime).
  entry('av1.mkv', 'av1', ['multi-keyframe'], async (out) =>
    ffmpeg([...src({ seconds: 2 }), ...av1Args(await pickAv1Encoder(), 30), out]), { sourceFrames: 48 }),

  // Trap: Theora in Ogg (granule-position timestamps, headers in extradata).
  entry('theora.ogv', 'theora', ['multi-keyframe'], (out) =>
    ffmpeg([...src({ seconds: 2 }), '-c:v', 'libtheora', '-q:v', '6', '-g', '30', '-pix_fmt', 'yuv420p', out]),
  { sourceFrames: 48 }),

  // Trap: MPEG-4 part 2 in AVI (AVI has no pts; timestamps come from frame index).
  entry('mpeg4.avi', 'mpeg4', ['multi-keyframe'], (out) =>
    ffmpeg([...src({ seconds: 2 }), '-c:v', 'mpeg4', '-bf', '0', '-g', '24', '-q:v', '5', '-pix_fmt', 'yuv420p', out]),
  { sourceFrames: 48 }),

  // Trap: MJPEG, full-range yuvj420p (every frame a keyframe).  Verified pix_fmt yuvj420p.
  entry('mjpeg.avi', 'mjpeg', ['multi-keyframe', 'full-range'], (out) =>
    ffmpeg([...src({ seconds: 1.5 }), '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '5', out]),
  { sourceFrames: 36 }),

  // Trap: MP4 edit list that trims leading packets AND a non-zero start time.
  // Recipe: x264 B-frame MP4 with keyframes at 0/1/2 s; stream-copy from -ss 1.4
  // (copy starts at the 1.0 s keyframe, the mov muxer writes an edit with media_time
  // ~0.4 s+B delay so the demuxer flags the first ~10 packets 'D'); then an empty edit
  // of 5 s is spliced into elst (the CLI muxer cannot write both).  Verified: 48
  // packets, 10 flagged D, 38 decoded frames, start_time 5.0.
  entry('editlist.mp4', 'h264', ['bframes', 'editlist-discard', 'start-time'], async (out, scratch) => {
    const full = scratch('editlist_src.mp4');
    const cut = scratch('editlist_cut.mp4');
    await ffmpeg([...src({ seconds: 3 }), ...X264, '-bf', '3', '-g', '24', '-keyint_min', '24', '-sc_threshold', '0', full]);
    await ffmpeg(['-ss', '1.4', '-i', full, '-map', '0:v:0', '-c', 'copy', cut]);
    await fsp.writeFile(out, prependEmptyEdit(await fsp.readFile(cut), 5));
  }, { sourceFrames: 72 }),

  // Trap: plain non-zero start time written by the ffmpeg mov muxer itself (empty edit
  // of 5 s, no discarded packets).  Verified start_time 5.0, packets == frames.
  entry('starttime.mp4', 'h264', ['bframes', 'start-time'], (out) =>
    ffmpeg([...src({ seconds: 2 }), ...X264, '-bf', '2', '-g', '24', '-output_ts_offset', '5', out]),
  { sourceFrames: 48 }),

  // Trap: variable frame rate.  setpts gives deltas of 1, 1.5, 2 and 2.5 frame periods;
  // passthrough keeps ffmpeg from duplicating frames to a constant rate.  Verified:
  // pts deltas 41/42/83/84/125 ms.  NB: container still advertises r_frame_rate 24/1,
  // and decoding WITHOUT -fps_mode passthrough yields 68 frames instead of 48.
  entry('vfr.mkv', 'h264', ['bframes', 'vfr'], (out) =>
    ffmpeg([...src({ seconds: 2, post: "setpts='(N+0.5*floor(N/2)+floor(N/5))/24/TB'" }),
      ...X264, '-bf', '2', '-g', '30', '-fps_mode', 'passthrough', out]), { sourceFrames: 48 }),

  // Trap: odd width AND height (321x241) with 4:2:0 chroma (chroma planes 161x121,
  // linesize padding).  x264 refuses odd 4:2:0, so VP9 is used.  (testsrc2 silently
  // rounds odd sizes down, hence the scale filter.)  Verified 321x241 yuv420p.
  entry('odd_dims.mkv', 'vp9', ['odd-dims'], (out) =>
    ffmpeg([...src({ seconds: 2, post: 'scale=321:241' }), '-c:v', 'libvpx-vp9', '-deadline', 'realtime',
      '-cpu-used', '8', '-g', '30', '-b:v', '400k', '-pix_fmt', 'yuv420p', out]), { sourceFrames: 48 }),

  // Trap: phone-style portrait video: an MP4 whose track carries a display matrix
  // (rotation), which the CLI applies by default (transpose filters before the rgb24
  // conversion) and so outputs 240x320 frames from a 320x240 stream.  Written as a -c copy
  // remux of an x264 B-frame MP4 (see rotationArgs for the option per CLI version).
  entry('rotated90.mp4', 'h264', ['bframes', 'multi-keyframe', 'rotated'], async (out, scratch) => {
    const base = scratch('rotated90_src.mp4');
    await ffmpeg([...src({ seconds: 2 }), ...X264, '-bf', '2', '-g', '24', base]);
    await ffmpeg([...(await rotationArgs(90, base)), '-map', '0:v:0', '-c', 'copy', out]);
  }, { sourceFrames: 48, rotation: 90 }),
  entry('rotated270.mp4', 'h264', ['bframes', 'multi-keyframe', 'rotated'], async (out, scratch) => {
    const base = scratch('rotated270_src.mp4');
    await ffmpeg([...src({ seconds: 2, size: '176x144' }), ...X264, '-bf', '2', '-g', '24', base]);
    await ffmpeg([...(await rotationArgs(270, base)), '-map', '0:v:0', '-c', 'copy', out]);
  }, { sourceFrames: 48, rotation: 270 }),

  // Trap: palette video in MOV: QuickTime Graphics (smc, pal8) with inter frames.  The
  // palette lives in the sample description; the demuxer hands it to the decoder as side
  // data of the FIRST packet only, so a decode starting at a later keyframe must be given
  // it again (without it the frames are black).  One palette for the clip (palettegen).
  entry('pal8_smc.mov', 'smc', ['palette', 'multi-keyframe'], (out) =>
    ffmpeg([...src({ seconds: 2, size: '160x120', fps: 12 }),
      '-vf', 'split[a][b];[a]palettegen[p];[b][p]paletteuse', '-c:v', 'smc', '-g', '6', out]), { sourceFrames: 24 }),

  // Trap: palette video in AVI: raw pal8 whose palette changes every 6 frames (one palette
  // per 4 fps source frame, each shown 6 times at 24 fps; 42 frames, the fps filter stops at
  // the last source frame).  The AVI carries the first
  // palette in its header and each change as an 'xxpc' chunk, which the demuxer attaches as
  // side data to the next packet: a frame needs the latest change before it.  Every packet
  // is a keyframe, so random access starts right there.
  entry('pal8_changes.avi', 'rawvideo', ['palette', 'palette-changes'], (out) =>
    ffmpeg([...src({ seconds: 2, size: '160x120', fps: 4 }),
      '-vf', 'split[a][b];[a]palettegen=stats_mode=single[p];[b][p]paletteuse=new=1,fps=24', '-c:v', 'rawvideo', '-pix_fmt', 'pal8', out]),
  { sourceFrames: 48 }),

  // Trap: in-band parameter change: an FLV whose H.264 parameter sets change mid-stream.
  // Two x264 encodes (High: CABAC; Baseline: CAVLC) spliced tag by tag; the second AVC
  // sequence header reaches the decoder as NEW_EXTRADATA side data on the packet after it.
  // Without it, the second half decodes with the first half's PPS; a decode starting at a
  // later keyframe of the second half must be given it again.
  entry('extradata_change.flv', 'h264', ['multi-keyframe', 'new-extradata'], async (out, scratch) => {
    const a = scratch('extradata_a.flv');
    const b = scratch('extradata_b.flv');
    await ffmpeg([...src({ seconds: 1 }), ...X264, '-profile:v', 'high', '-bf', '2', '-g', '12', a]);
    await ffmpeg([...src({ seconds: 1, post: 'hflip' }), ...X264, '-profile:v', 'baseline', '-g', '12', b]);
    await fsp.writeFile(out, spliceFlv(await fsp.readFile(a), await fsp.readFile(b)));
  }, { sourceFrames: 48 }),

  // Trap: a transport stream cut at an arbitrary byte mid-GOP (a live capture, a split
  // recording): it starts with 30 packets of a GOP whose keyframe is gone. The CLI's decoder
  // puts out no frame for them, so they are not rows: rows start at the first keyframe.
  // Verified: 120 video packets, 90 decoded frames, first packet not a keyframe.
  entry('midgop_cut.ts', 'h264', ['bframes', 'multi-keyframe', 'mid-gop-start'], async (out, scratch) => {
    const full = scratch('midgop_src.ts');
    await ffmpeg([...src({ seconds: 5, fps: 30 }), ...X264, '-bf', '3', '-g', '60', '-x264-params', 'scenecut=0', full]);
    const buf = await fsp.readFile(full);
    const at = Math.floor((buf.length / 188) * 0.2) * 188 + 61; // inside a TS packet, a fifth of the way in
    await fsp.writeFile(out, buf.subarray(at));
  }),

  // Trap: x264 intra refresh: one IDR at the start, then a column of intra blocks sweeps the
  // picture over each keyint; the keyframes after the first are recovery points (SEI) whose
  // pictures are complete only a refresh period later. A decode starting at such a keyframe
  // puts out no frame until then: random access must start one keyframe earlier.
  // Verified: keyframe packets at 0 and every 30 frames, only the first an IDR.
  entry('intra_refresh.mp4', 'h264', ['bframes', 'multi-keyframe', 'intra-refresh'], (out) =>
    ffmpeg([...src({ seconds: 4, fps: 30 }), ...X264, '-bf', '2',
      '-x264-params', 'intra-refresh=1:keyint=30', out]), { sourceFrames: 120 }),

  // Trap: raw Annex-B H.264 elementary stream with B-frames: no container, no
  // timestamps.  Verified: every packet has pts=N/A (and dts=N/A) in ffprobe 5.1; no
  // header frame count, no duration.
  entry('nopts.h264', 'h264', ['bframes', 'no-pts', 'annexb'], (out) =>
    ffmpeg([...src({ seconds: 2 }), ...X264, '-bf', '3', '-g', '24', '-f', 'h264', out]), { inplace: false, sourceFrames: 48 }),

  // Trap: AVI header (avih/strh) says 48 frames but only ~60 % of the data exists
  // (idx1 index is gone too).  Cut on a 'movi' chunk boundary so every remaining frame
  // is complete: the only lie is the count.  Verified nb_frames 48 vs 28 decoded.
  entry('wrong_count.avi', 'mpeg4', ['wrong-header-count', 'truncated'], async (out, scratch) => {
    const full = scratch('wrong_count_src.avi');
    await ffmpeg([...src({ seconds: 2 }), '-c:v', 'mpeg4', '-bf', '0', '-g', '24', '-q:v', '4', '-pix_fmt', 'yuv420p', full]);
    const buf = await fsp.readFile(full);
    await fsp.writeFile(out, buf.subarray(0, aviChunkBoundary(buf, Math.floor(buf.length * 0.6))));
  }, { sourceFrames: 48 }),

  // Trap: faststart MP4 (moov first, so it still opens) cut to 70 %: sample table
  // promises 48 samples, trailing ones are missing and one is partial (decoder
  // errors "Invalid NAL unit size" / "partial file").  Verified nb_frames 48 vs ~33 decoded.
  entry('truncated.mp4', 'h264', ['bframes', 'truncated', 'wrong-header-count'], async (out, scratch) => {
    const full = scratch('truncated_src.mp4');
    await ffmpeg([...src({ seconds: 2 }), ...X264, '-bf', '3', '-g', '24', '-movflags', '+faststart', full]);
    const { size } = await fsp.stat(full);
    await truncateFile(full, out, Math.floor(size * 0.7));
  }, { sourceFrames: 48 }),

  // Trap: MPEG-TS cut to ~70 % in the middle of a 188-byte packet (last PES incomplete).
  // Verified size % 188 != 0, fewer frames than encoded.
  entry('truncated.ts', 'h264', ['bframes', 'truncated', 'unaligned', 'start-time'], async (out, scratch) => {
    const full = scratch('truncated_src.ts');
    await ffmpeg([...src({ seconds: 2 }), ...X264, '-bf', '2', '-g', '24', full]);
    const { size } = await fsp.stat(full);
    let n = Math.floor(size * 0.7);
    n = n - (n % 188) + 101;
    await truncateFile(full, out, n);
  }, { sourceFrames: 48 }),

  // Trap: .mp4 name, text content (fixed bytes): must be rejected, not crash.
  // Verified ffprobe fails ("moov atom not found").
  entry('not_a_video.mp4', null, ['invalid'], (out) =>
    fsp.writeFile(out, 'vidgraph test fixture: this file is deliberately not a video.\n'.repeat(64)),
  { bad: 'ERR_INVALID_VIDEO' }),

  // Trap: valid media file without any video stream (AAC sine).  Verified: one aac stream.
  entry('audio_only.m4a', null, ['invalid', 'audio-only'], (out) =>
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=1', '-c:a', 'aac', '-b:a', '64k', out]),
  { bad: 'ERR_INVALID_VIDEO' }),
];

const BY_NAME = new Map(RECIPES.map((r) => [r.name, r]));

/** Public descriptors (recipe functions stripped). */
export const CORPUS = Object.freeze(
  RECIPES.map(({ recipe, ...d }) => Object.freeze({ ...d, traits: Object.freeze([...d.traits]) })),
);

// ---------------------------------------------------------------------------
// public API

/** Absolute path of fixture `name`, generating it if missing. */
export async function fixture(name) {
  const r = BY_NAME.get(name);
  if (!r) throw new Error(`unknown fixture ${name}; known: ${[...BY_NAME.keys()].join(', ')}`);
  const dest = path.join(CACHE_DIR, r.file);
  return once(`fixture:${dest}`, () => atomicBuild(dest, r.recipe));
}

/** Generate all fixtures; returns the CORPUS entries with a `path` field. */
export async function allFixtures() {
  const out = [];
  // two at a time: the encoders are mostly single-threaded at these sizes
  const queue = [...CORPUS];
  const worker = async () => {
    for (let d; (d = queue.shift()); ) out.push({ ...d, path: await fixture(d.name) });
  };
  await Promise.all([worker(), worker()]);
  const order = new Map(CORPUS.map((d, i) => [d.name, i]));
  return out.sort((a, b) => order.get(a.name) - order.get(b.name));
}

/** Decoded frame count of the first video stream according to ffprobe -count_frames. */
export async function ffprobeFrameCount(file) {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-count_frames',
    '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]);
  // MPEG-TS prints the stream twice (program section + streams section): take the first line
  const line = stdout.split('\n').map((s) => s.trim().replace(/,+$/, '')).find(Boolean);
  const n = Number.parseInt(line, 10);
  if (!Number.isInteger(n)) throw new Error(`ffprobe gave no frame count for ${file}: ${JSON.stringify(stdout)}`);
  return n;
}

/** The display rotation the CLI applies (its get_rotation): clockwise degrees in [0, 360). */
export async function displayRotation(file) {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0',
    '-show_entries', 'stream_side_data=rotation', '-of', 'json', file]);
  const sd = (JSON.parse(stdout).streams?.[0]?.side_data_list || []).find((x) => x.rotation !== undefined);
  let theta = sd ? -Math.round(Number(sd.rotation)) : 0;
  theta -= 360 * Math.floor(theta / 360 + 0.9 / 360);
  return theta;
}

async function videoDims(file, autorotate = true) {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0',
    '-show_entries', 'stream=width,height', '-of', 'json', file]);
  const s = JSON.parse(stdout).streams?.[0];
  if (!s?.width || !s?.height) throw new Error(`no video stream in ${file}`);
  const theta = autorotate ? await displayRotation(file) : 0;
  // The CLI's autorotate transposes at 90 and 270 degrees.
  if (Math.abs(theta - 90) < 1 || Math.abs(theta - 270) < 1) return { width: s.height, height: s.width };
  return { width: s.width, height: s.height };
}

/**
 * Oracle frames decoded by the ffmpeg CLI as packed rgb24 (autorotate: false adds
 * -noautorotate: the stored orientation):
 *   { width, height, count, frameSize, rawPath, frame(i) -> Buffer(width*height*3) }
 * The raw decode is cached in CACHE_DIR/oracle (keyed by file name + size + mtime +
 * a hash of the absolute path); frame(i) reads just that frame from disk.
 */
export async function oracle(file, { autorotate = true } = {}) {
  const abs = path.resolve(file);
  const st = await fsp.stat(abs);
  const { width, height } = await videoDims(abs, autorotate);
  const frameSize = width * height * 3;
  const key = `${path.basename(abs)}-${st.size}-${Math.floor(st.mtimeMs)}-` +
    createHash('sha1').update(abs).digest('hex').slice(0, 8);
  const rawPath = path.join(CACHE_DIR, 'oracle', `${key}.t1${autorotate ? '' : '.noautorotate'}.rgb`);
  await once(`oracle:${rawPath}`, () => atomicBuild(rawPath, (out) => decodeRaw(abs, out, autorotate)));
  const bytes = (await fsp.stat(rawPath)).size;
  if (bytes % frameSize !== 0) throw new Error(`oracle for ${file}: ${bytes} bytes is not a multiple of ${width}x${height}x3`);
  const count = bytes / frameSize;
  return {
    width,
    height,
    count,
    frameSize,
    rawPath,
    frame(i) {
      if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`frame ${i} out of range 0..${count - 1}`);
      const buf = Buffer.alloc(frameSize);
      const fd = fs.openSync(rawPath, 'r');
      try {
        let off = 0;
        while (off < frameSize) {
          const n = fs.readSync(fd, buf, off, frameSize - off, i * frameSize + off);
          if (n === 0) throw new Error(`short read in ${rawPath}`);
          off += n;
        }
      } finally {
        fs.closeSync(fd);
      }
      return buf;
    },
  };
}

/** ffmpeg ... -f rawvideo - , stdout streamed straight into `out` (never buffered in memory). */
function decodeRaw(input, out, autorotate = true) {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(out, 'w');
    // -threads 1: FFmpeg 5.1's Theora (vp3) decoder is not deterministic with frame threads
    // (the CLI's own output changes from run to run); one thread gives the reference pixels.
    const args = ['-v', 'error', '-nostdin', '-threads', '1', ...(autorotate ? [] : ['-noautorotate']), '-i', input, '-map', '0:v:0', '-fps_mode', 'passthrough',
      '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-'];
    let stderr = '';
    let p;
    try {
      p = spawn(FFMPEG, args, { stdio: ['ignore', fd, 'pipe'], env: CHILD_ENV });
    } catch (e) {
      fs.closeSync(fd);
      reject(e);
      return;
    }
    p.stderr.on('data', (d) => { if (stderr.length < 65536) stderr += d; });
    p.on('error', (e) => { fs.closeSync(fd); reject(e); });
    p.on('close', (code, signal) => {
      fs.closeSync(fd);
      const size = fs.statSync(out).size;
      // Damaged inputs (truncated.*) log decode errors but still exit 0; accept any
      // exit as long as frames came out, fail only if nothing was decoded.
      if (size > 0) resolve();
      else reject(new Error(`ffmpeg ${args.join(' ')} produced no frames (${code ?? signal}): ${stderr.trim()}`));
    });
  });
}

const CODEC_DEFAULTS = {
  libx264: ['-preset', 'veryfast'],
  libx265: ['-preset', 'ultrafast', '-x265-params', 'log-level=error'],
  'libvpx-vp9': ['-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M'],
  libvpx: ['-deadline', 'realtime', '-cpu-used', '-8', '-b:v', '1M'],
  'libaom-av1': ['-usage', 'realtime', '-cpu-used', '8', '-row-mt', '1'],
  libsvtav1: ['-preset', '12'],
  mjpeg: ['-q:v', '5'],
  mpeg4: ['-q:v', '5'],
};

/**
 * Generate (once, cached) a synthetic clip for benchmarks / ad-hoc tests.
 * `name` decides the container by extension (e.g. 'bench_1080p.mp4').  The cached
 * file is CACHE_DIR/clips/<stem>.<hash of options>.<ext>, so changing any option
 * produces a new file instead of silently reusing a stale one.
 * Options: width, height, seconds, fps, codec (ffmpeg encoder, default libx264),
 * gop (keyint), extraArgs (appended after the defaults, so they win),
 * noise (default true; set false for fast encodes of big clips), pixFmt.
 */
/**
 * The oracle for `maxSize: [w, h]`: every frame as `ffmpeg -threads 1` outputs it through
 * `scale=w=W:h=H:force_original_aspect_ratio=decrease:flags=bicubic` (after its autorotate), raw rgb24.
 */
export async function scaledOracle(file, [w, h]) {
  const abs = path.resolve(file);
  const st = await fsp.stat(abs);
  const key = createHash('sha1').update(`${abs}:${st.size}:${Math.floor(st.mtimeMs)}:${w}x${h}`).digest('hex').slice(0, 12);
  const out = path.join(CACHE_DIR, 'oracle', `scaled-${key}.rgb`);
  await once(`scaled:${out}`, () => atomicBuild(out, (tmp) => ffmpeg(['-threads', '1', '-i', abs, '-map', '0:v:0', '-fps_mode', 'passthrough',
    '-vf', `scale=w=${w}:h=${h}:force_original_aspect_ratio=decrease:flags=bicubic`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', tmp])));
  return fsp.readFile(out);
}

export async function makeClip(name, { width = 320, height = 240, seconds = 2, fps = 24, codec = 'libx264', gop,
  extraArgs = [], noise = true, pixFmt } = {}) {
  const ext = path.extname(name);
  if (!ext) throw new Error(`makeClip: ${name} needs an extension (it selects the container)`);
  const opts = { width, height, seconds, fps, codec, gop, extraArgs, noise, pixFmt };
  const hash = createHash('sha1').update(JSON.stringify(opts)).digest('hex').slice(0, 10);
  const dest = path.join(CACHE_DIR, 'clips', `${path.basename(name, ext)}.${hash}${ext}`);
  const pf = pixFmt || (codec === 'mjpeg' ? 'yuvj420p' : 'yuv420p');
  const args = [...src({ seconds, fps, size: `${width}x${height}`, noise }), '-c:v', codec, ...(CODEC_DEFAULTS[codec] || []),
    '-pix_fmt', pf, ...(gop ? ['-g', String(gop)] : []), ...extraArgs];
  return once(`clip:${dest}`, () => atomicBuild(dest, (out) => ffmpeg([...args, out])));
}

// ---------------------------------------------------------------------------
// probing + self-check

/** Everything the self-check needs about the first video stream, from one ffprobe run. */
export async function probe(file) {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-count_frames',
    '-show_packets', '-show_frames', '-show_entries',
    'format=format_name,start_time:stream=codec_name,width,height,pix_fmt,color_range,nb_frames,nb_read_frames,start_time,r_frame_rate,avg_frame_rate:packet=pts,dts,flags:packet_side_data=side_data_type:frame=pict_type,key_frame',
    '-of', 'json', file]);
  const j = JSON.parse(stdout);
  const stream = j.streams?.[0];
  if (!stream) return { video: false, format: j.format };
  return {
    video: true,
    format: j.format,
    stream,
    // with both -show_packets and -show_frames ffprobe interleaves them in one array
    packets: j.packets || (j.packets_and_frames || []).filter((x) => x.type === 'packet'),
    frames: j.frames || (j.packets_and_frames || []).filter((x) => x.type === 'frame'),
    nbReadFrames: Number(stream.nb_read_frames),
    nbFrames: stream.nb_frames === undefined ? null : Number(stream.nb_frames),
    startTime: stream.start_time === undefined ? null : Number(stream.start_time),
  };
}

const num = (v) => (v === undefined || v === 'N/A' ? null : Number(v));

const TRAIT_CHECKS = {
  bframes: (p) => p.frames.some((f) => f.pict_type === 'B'),
  'multi-keyframe': (p) => p.packets.filter((k) => k.flags.includes('K')).length > 1,
  'open-gop': (p) => {
    // decode-order packets: after a non-first keyframe, some packet displays before it
    const pk = p.packets;
    const keys = pk.map((k, i) => (k.flags.includes('K') ? i : -1)).filter((i) => i > 0);
    return keys.some((ki) => pk.slice(ki + 1, ki + 8).some((q) => num(q.pts) !== null && num(q.pts) < num(pk[ki].pts)));
  },
  'editlist-discard': (p) => p.packets.some((k) => k.flags.includes('D')) || p.nbReadFrames < p.packets.length,
  'start-time': (p) => p.startTime > 0,
  vfr: (p) => {
    const pts = p.packets.map((k) => num(k.pts)).filter((x) => x !== null).sort((a, b) => a - b);
    return new Set(pts.slice(1).map((x, i) => x - pts[i])).size > 1;
  },
  'odd-dims': (p) => p.stream.width % 2 === 1 && p.stream.height % 2 === 1,
  'no-pts': (p) => p.packets.some((k) => num(k.pts) === null),
  annexb: (p) => p.format.format_name === 'h264',
  'wrong-header-count': (p) => p.nbFrames !== null && p.nbFrames !== p.nbReadFrames,
  truncated: (p, d) => p.nbReadFrames < d.sourceFrames,
  unaligned: (p, d, st) => st.size % 188 !== 0,
  'full-range': (p) => p.stream.pix_fmt?.startsWith('yuvj') || p.stream.color_range === 'pc',
  invalid: (p) => !p.video,
  rotated: async (p, d) => (await displayRotation(d.path)) === d.rotation,
  palette: (p) => p.stream.pix_fmt === 'pal8',
  'new-extradata': (p) => p.packets.some((k) => (k.side_data_list || []).some((x) => /extradata/i.test(x.side_data_type))),
  'mid-gop-start': (p) => !p.packets[0]?.flags.includes('K') && p.nbReadFrames < p.packets.length,
  'intra-refresh': (p) => p.frames.filter((f) => f.pict_type === 'I').length === 1 && p.packets.filter((k) => k.flags.includes('K')).length > 1,
  'palette-changes': (p) => p.packets.filter((k) => (k.side_data_list || []).some((x) => /palette/i.test(x.side_data_type))).length > 1,
  'audio-only': async (p, d) => {
    const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', d.path]);
    const types = stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    return types.length > 0 && types.every((t) => t === 'audio');
  },
};

async function selfCheck() {
  const t0 = Date.now();
  const all = await allFixtures();
  const genMs = Date.now() - t0;
  const rows = [];
  let failures = 0;
  for (const d of all) {
    const st = await fsp.stat(d.path);
    let p;
    try {
      p = await probe(d.path);
    } catch (e) {
      p = { video: false, error: e.message.split('\n').pop() };
    }
    const bad = [];
    for (const t of d.traits) {
      const check = TRAIT_CHECKS[t];
      if (!check) { bad.push(`${t}?`); continue; }
      let ok;
      try { ok = await check(p, d, st); } catch { ok = false; }
      if (!ok) bad.push(t);
    }
    if (d.bad && p.video) bad.push('bad-but-has-video');
    if (d.codec && p.video && p.stream.codec_name !== d.codec) bad.push(`codec=${p.stream.codec_name}`);
    let oracleCount = '-';
    if (p.video) {
      const o = await oracle(d.path);
      oracleCount = o.count;
      const fc = await ffprobeFrameCount(d.path);
      if (o.count !== fc) bad.push(`oracle ${o.count} != count_frames ${fc}`);
      if (o.frame(0).length !== o.width * o.height * 3) bad.push('frame size');
      if (o.count > 1 && o.frame(0).equals(o.frame(o.count - 1))) bad.push('frames identical');
    }
    failures += bad.length;
    rows.push({
      file: d.file,
      codec: p.video ? p.stream.codec_name : (p.error ? 'ERR' : 'no video'),
      dims: p.video ? `${p.stream.width}x${p.stream.height}` : '-',
      packets: p.video ? p.packets.length : '-',
      count_frames: p.video ? p.nbReadFrames : '-',
      oracle: oracleCount,
      hdr_nb_frames: p.video ? (p.nbFrames ?? 'N/A') : '-',
      bframes: p.video ? (p.frames.some((f) => f.pict_type === 'B') ? 'yes' : 'no') : '-',
      keyframes: p.video ? p.packets.filter((k) => k.flags.includes('K')).length : '-',
      discarded: p.video ? p.packets.filter((k) => k.flags.includes('D')).length : '-',
      no_pts: p.video ? p.packets.filter((k) => num(k.pts) === null).length : '-',
      start_time: p.video ? (p.stream.start_time ?? 'N/A') : '-',
      bytes: st.size,
      check: bad.length ? `FAIL: ${bad.join(', ')}` : 'ok',
    });
  }
  const cols = Object.keys(rows[0]);
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals) => vals.map((v, i) => String(v).padEnd(w[i])).join('  ').trimEnd();
  console.log(`cache: ${CACHE_DIR}  (generation ${genMs} ms)`);
  console.log(line(cols));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
  console.log(failures ? `\n${failures} failed check(s)` : `\nall ${rows.length} fixtures verified`);
  process.exitCode = failures ? 1 : 0;
}

const isMain = (() => {
  try {
    return import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
})();
if (isMain) {
  selfCheck().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
