/**
 * Which bytes of a packet file a decode of some rows reads, planned from the packet index
 * (cpp/video/index.cpp's serialized layout), so that a remote packet file is fetched with one
 * ranged request per run of needed keyframe intervals and never whole for a sparse read.
 *
 * For each needed row the decoder starts at the row's keyframe (VideoIndex::startPacketFor:
 * one keyframe earlier for an open GOP's leading picture) and feeds packets in decode order
 * until the row's frame comes out: past the last packet shown at or before the row, by the
 * codec's reorder delay and the frame threads' delay. The plan covers that with a margin, and
 * never beyond the decoder's own limit (the row's packet + kReorderSlack, then it drains).
 */
import { CorruptError } from '../errors';
import type { ByteRange } from './database';

/** cpp/video/decoder.cpp kReorderSlack: the decoder feeds at most this many packets past a row's own. */
const REORDER_SLACK = 48;
/** cpp/video/decoder.cpp kMaxEarlierKeys: keyframes further back a decode may start from. */
const MAX_EARLIER_KEYS = 3;
/** Packets added to the computed delay, for codecs that hold a frame longer than the index shows. */
const MARGIN = 4;
/** libavcodec's most frame threads. */
const MAX_FRAME_THREADS = 16;
const PACKET_KEY = 1;
const ENTRY_BYTES = 40;

export class PacketPlanner {
  private readonly offsets: Float64Array;
  private readonly sizes: Int32Array;
  private readonly pts: BigInt64Array;
  private readonly rowToPacket: Int32Array;
  private readonly keyPackets: Int32Array;
  /** Per row: the largest decode index of any row shown at or before it. */
  private readonly prefixMax: Int32Array;
  private readonly slack: number;

  /** `threads`: the decoder's frame threads (0: all cores). */
  constructor(index: Uint8Array, label: string, threads: number, cores: number) {
    const b = Buffer.from(index.buffer, index.byteOffset, index.byteLength);
    const corrupt = () => new CorruptError(`${label}: its packet index is damaged (cannot plan which bytes to read)`);
    try {
      let pos = 8;
      const videoDelay = b.readInt32LE(pos + 17 * 4);
      pos += 18 * 4;
      pos += 4 + b.readUInt32LE(pos); // extradata
      pos += 4 * 4 + 8; // time base, frame rate, header frames
      pos += 4 + b.readUInt32LE(pos); // container name
      pos += 2; // flags
      const packets = Number(b.readBigUInt64LE(pos));
      pos += 8;
      if (packets < 0 || pos + packets * ENTRY_BYTES > b.length) throw corrupt();
      this.offsets = new Float64Array(packets);
      this.sizes = new Int32Array(packets);
      this.pts = new BigInt64Array(packets);
      const keys: number[] = [];
      for (let i = 0; i < packets; i++) {
        const e = pos + i * ENTRY_BYTES;
        this.pts[i] = b.readBigInt64LE(e);
        this.offsets[i] = Number(b.readBigInt64LE(e + 24));
        this.sizes[i] = b.readInt32LE(e + 32);
        if (b.readUInt32LE(e + 36) & PACKET_KEY) keys.push(i);
      }
      this.keyPackets = Int32Array.from(keys);
      pos += packets * ENTRY_BYTES;
      const rows = Number(b.readBigUInt64LE(pos));
      pos += 8;
      if (rows < 0 || pos + rows * 4 > b.length) throw corrupt();
      this.rowToPacket = new Int32Array(rows);
      this.prefixMax = new Int32Array(rows);
      let max = -1;
      let delay = Math.max(0, videoDelay);
      for (let r = 0; r < rows; r++) {
        const p = b.readInt32LE(pos + r * 4);
        if (p < 0 || p >= packets) throw corrupt();
        this.rowToPacket[r] = p;
        max = Math.max(max, p);
        this.prefixMax[r] = max;
        delay = Math.max(delay, max - p);
      }
      const frameThreads = Math.min(MAX_FRAME_THREADS, threads > 0 ? threads : cores);
      this.slack = delay + frameThreads + MARGIN;
    } catch (err) {
      if (err instanceof CorruptError) throw err;
      throw corrupt();
    }
  }

  /** The last keyframe at or before `p` in decode order (one earlier for a leading picture). */
  private startPacketFor(p: number): number {
    const keys = this.keyPackets;
    let lo = 0;
    let hi = keys.length; // first key > p
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid]! <= p) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return 0;
    let k = lo - 1;
    if (this.pts[p]! < this.pts[keys[k]!]!) {
      if (k === 0) return 0;
      k--;
    }
    return keys[k]!;
  }

  /** The keyframe `back` keyframes before the one at packet `key` (0 when there are not that many). */
  private earlierKey(key: number, back: number): number {
    const keys = this.keyPackets;
    let i = keys.indexOf(key);
    if (i < 0) return 0;
    i -= back;
    return i < 0 ? 0 : keys[i]!;
  }

  /**
   * Packets [from, to] (decode order) a decode of `rows` reads, merged. `widest`: everything the
   * decoder may read for them, when a decode from the row's keyframe does not come out clean
   * (it then starts up to MAX_EARLIER_KEYS keyframes earlier, and feeds up to REORDER_SLACK
   * packets past the row's own).
   */
  packetRuns(rows: Iterable<number>, widest = false): [number, number][] {
    const n = this.offsets.length;
    const runs: [number, number][] = [];
    for (const r of rows) {
      if (!(r >= 0 && r < this.rowToPacket.length)) continue;
      const p = this.rowToPacket[r]!;
      const start = this.startPacketFor(p);
      const from = widest ? this.earlierKey(start, MAX_EARLIER_KEYS) : start;
      const to = widest ? Math.min(n - 1, p + REORDER_SLACK) : Math.min(n - 1, p + REORDER_SLACK, Math.max(p, this.prefixMax[r]!) + this.slack);
      runs.push([from, to]);
    }
    runs.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const run of runs) {
      const last = merged.at(-1);
      if (last && run[0] <= last[1] + 1) last[1] = Math.max(last[1], run[1]);
      else merged.push([run[0], run[1]]);
    }
    return merged;
  }

  /** Byte ranges of the packet file a decode of `rows` reads, coalesced where they touch. */
  byteRanges(rows: Iterable<number>, widest = false): ByteRange[] {
    const spans: [number, number][] = [];
    for (const [from, to] of this.packetRuns(rows, widest)) {
      for (let p = from; p <= to; p++) {
        const size = this.sizes[p]!;
        if (size <= 0) continue;
        spans.push([this.offsets[p]!, this.offsets[p]! + size]);
      }
    }
    return coalesce(spans);
  }
}

/** Sorted, merged [start, end) spans as ranges (spans that touch or overlap become one). */
export function coalesce(spans: [number, number][]): ByteRange[] {
  spans.sort((a, b) => a[0] - b[0]);
  const out: ByteRange[] = [];
  let cur: [number, number] | undefined;
  for (const [a, b] of spans) {
    if (cur && a <= cur[1]) cur[1] = Math.max(cur[1], b);
    else {
      if (cur) out.push({ offset: cur[0], length: cur[1] - cur[0] });
      cur = [a, b];
    }
  }
  if (cur) out.push({ offset: cur[0], length: cur[1] - cur[0] });
  return out;
}
