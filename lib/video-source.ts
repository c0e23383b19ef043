/**
 * One decodable video: a native decoder (on its own engine thread) over a packet index
 * and the file holding the packets. Shared by stored streams and VideoReader.
 *
 * Requests are sorted and deduplicated before they reach the engine, which decodes each
 * keyframe interval holding a requested row once; results come back in the order asked.
 *
 * Decode lanes: a request whose rows lie in several keyframe intervals that each need a fresh
 * start is spread over two native decoders (two lanes, each on its own engine thread), which
 * decode their intervals at the same time. Frame threads alone parallelise a short run from a
 * keyframe poorly (the keyframe is decoded mostly alone, and every run fills and drains the
 * pipeline), so sparse reads gain most. Rows that continue where a lane stopped stay on that
 * lane (sequential reading uses one), and under a decode schedule (plan()) each interval stays
 * with the lane that opened it, so it is still decoded once. `threads: 1` keeps one lane.
 */
import * as os from 'node:os';
import { ClosedError, DecodeError, fromNative } from './errors';
import { Frame } from './frame';
import { native, NativeDecodeResult, NativeDecoder, NativeIndexInfo } from './native';

/** Decode work done for one video so far. */
export interface DecodeStats {
  /** Frames the decoder produced (including those decoded only to reach a wanted frame). */
  framesDecoded: number;
  /** Frames handed back to the caller. */
  framesReturned: number;
  /** Frames left undecoded: no other frame references them and they were not asked for. */
  framesSkipped: number;
  /** Of framesDecoded, the frames NVDEC decoded (on a GPU). */
  framesOnGpu: number;
  /** Times the decoder jumped to a keyframe instead of reading on. */
  seeks: number;
  /** Decoders opened for this video (decode lanes: 1, or 2 once a request spread over two). */
  lanes: number;
  /** RGB conversion path of the last request: 'direct' (swscale, verified byte-identical to the CLI's filter graph on the first frame) or 'graph' (that filter graph). */
  conversion: 'direct' | 'graph' | 'none';
}

/**
 * Decoded frames a decode schedule may keep ahead of their request: 1/16 of the machine's
 * memory, at most 1 GiB. Beyond it, the frames asked for latest are decoded again when asked.
 */
export const DEFAULT_PLAN_BYTES = Math.min(2 ** 30, Math.floor(os.totalmem() / 16));

/** Most decoders one video's requests are spread over (see the file comment). */
export const DECODE_LANES = 2;
/** Rows a lane may skip forward and still continue (rather than a fresh start elsewhere). */
const CONTINUE_GAP = 16;

interface Lane {
  decoder: NativeDecoder;
  /** The last row this lane decoded (-1: none): rows just after it continue here. */
  lastRow: number;
  /** The current schedule given to this lane (undefined: not yet, or none in force). */
  planned?: Promise<void>;
}

type DecoderOptions = Record<string, number | boolean>;

export class VideoSource {
  readonly info: NativeIndexInfo;
  readonly label: string;
  private readonly lanes: Lane[];
  private readonly maxLanes: number;
  private readonly index: Uint8Array;
  private readonly dataPath: string;
  private readonly decoderOptions: DecoderOptions;
  private keyRows?: Int32Array;
  /** The decode schedule in force (plan()), given to every lane that joins. */
  private schedule?: { rows: Int32Array; budgetBytes: number };
  /** Under a schedule: keyframe interval (its index in keyRows) → the lane that opened it. */
  private readonly owner = new Map<number, number>();
  private times?: Float64Array;
  private closed = false;
  /** Totals since open: frames the codec produced versus frames handed out. */
  readonly stats: DecodeStats = { framesDecoded: 0, framesOnGpu: 0, framesReturned: 0, framesSkipped: 0, seeks: 0, lanes: 1, conversion: 'none' };

  /** Brings the packet bytes a decode of these rows reads into `dataPath` (a remote packet file's cache). */
  private readonly prefetch?: (rows: ArrayLike<number>) => Promise<void>;
  private readonly onClose?: () => Promise<void>;
  /**
   * Brings in everything a decode of these rows may read (a remote packet file); true when
   * something was missing. Rows that failed are then decoded again by a fresh decoder.
   */
  private readonly widen?: (rows: ArrayLike<number>) => Promise<boolean>;

  constructor(index: Uint8Array, dataPath: string, label: string, opts: { threads?: number; gpu?: number; maxSize?: [number, number]; keepRecent?: boolean; maxPixels?: number; rotate?: boolean; skipNonReference?: boolean; prefetch?: (rows: ArrayLike<number>) => Promise<void>; widen?: (rows: ArrayLike<number>) => Promise<boolean>; onClose?: () => Promise<void> } = {}) {
    this.label = label;
    this.prefetch = opts.prefetch;
    this.widen = opts.widen;
    this.onClose = opts.onClose;
    this.index = index;
    this.dataPath = dataPath;
    this.decoderOptions = {
      threads: opts.threads ?? 0,
      maxWidth: opts.maxSize?.[0] ?? 0,
      maxHeight: opts.maxSize?.[1] ?? 0,
      keepRecent: opts.keepRecent ?? true,
      rotate: opts.rotate ?? true,
      // VIDGRAPH_SKIP_DISPOSABLE=0 decodes every packet on the way (benchmarks' no-skipping baselines).
      skipDisposable: opts.skipNonReference ?? process.env.VIDGRAPH_SKIP_DISPOSABLE !== '0',
      ...(opts.maxPixels !== undefined && { maxPixels: opts.maxPixels }),
      ...(opts.gpu !== undefined && { gpu: opts.gpu }),
    };
    // One lane for one thread (or one core); VIDGRAPH_DECODE_LANES=1 keeps one lane anyway
    // (benchmarks' single-decoder baselines).
    const threads = opts.threads ?? 0;
    const cores = threads === 0 ? os.availableParallelism() : threads;
    this.maxLanes = cores < 2 || process.env.VIDGRAPH_DECODE_LANES === '1' ? 1 : DECODE_LANES;
    this.lanes = [this.newLane()];
    this.info = this.lanes[0]!.decoder.info();
  }

  private newLane(): Lane {
    try {
      return { decoder: new (native().NativeDecoder)(this.index, this.dataPath, this.decoderOptions), lastRow: -1 };
    } catch (err) {
      throw fromNative(err, this.label);
    }
  }

  private get decoder(): NativeDecoder {
    return this.lanes[0]!.decoder;
  }

  get frameCount(): number {
    return this.info.frames;
  }

  /** Seconds since the first frame, per row. */
  rowTimes(): Float64Array {
    this.times ??= this.decoder.rowTimes();
    return this.times;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  keyframeRows(): Int32Array {
    return this.decoder.keyframeRows();
  }

  /**
   * Decodes `rows` (any order, repeats allowed) and returns a map row → Frame.
   * Damaged rows reject the whole request with a DecodeError naming them.
   */
  async decodeRows(rows: readonly number[]): Promise<Map<number, Frame<'uint8'>>> {
    if (this.closed) throw new ClosedError(`${this.label}: the video is closed`);
    const unique = Int32Array.from(new Set(rows)).sort();
    const out = new Map<number, Frame<'uint8'>>();
    if (unique.length === 0) return out;
    if (this.prefetch) await this.prefetch(unique);
    const parts = this.maxLanes === 1 ? [unique] : this.split(unique);
    const settled = await Promise.allSettled(parts.map(async (part, i) => {
      if (part.length === 0) return undefined;
      const lane = await this.lane(i);
      return lane.decoder.decode(part);
    }));
    const results: NativeDecodeResult[] = [];
    const failedRows: number[] = [];
    let failure = '';
    for (const [i, s] of settled.entries()) {
      if (s.status === 'rejected') {
        // A request in flight when close() ran is cancelled at its next packet.
        if (this.closed) throw new ClosedError(`${this.label}: the video was closed while decoding`, { cause: s.reason });
        throw fromNative(s.reason, this.label);
      }
      const result = s.value;
      if (!result) continue;
      results.push(result);
      this.stats.framesDecoded += result.framesDecoded;
      this.stats.framesOnGpu += result.framesOnGpu;
      this.stats.framesSkipped += result.packetsSkipped;
      this.stats.seeks += result.seeks;
      if (result.conversion !== 'none') this.stats.conversion = result.conversion;
      if (result.failedRows.length > 0) {
        failedRows.push(...result.failedRows);
        failure ||= result.failure;
      }
    }
    if (failedRows.length > 0 && this.widen && (await this.widen(failedRows))) {
      // The planned bytes did not cover what the decoder read (it started at an earlier
      // keyframe than the plan): with everything it may read now present, a fresh decoder
      // decodes those rows as it would from a local file.
      const retry = this.newLane();
      try {
        const again = await retry.decoder.decode(Int32Array.from(new Set(failedRows)).sort());
        this.stats.framesDecoded += again.framesDecoded;
        this.stats.framesOnGpu += again.framesOnGpu;
        this.stats.seeks += again.seeks;
        results.push({ ...again, failedRows: [] });
        failedRows.length = 0;
        failedRows.push(...again.failedRows);
        failure = again.failure;
      } catch (err) {
        throw fromNative(err, this.label);
      } finally {
        await retry.decoder.close();
      }
      const retried = new Set(results.at(-1)!.frames.map((f) => f.row));
      for (const r of results.slice(0, -1)) r.frames = r.frames.filter((f) => !retried.has(f.row));
    }
    if (failedRows.length > 0) {
      failedRows.sort((a, b) => a - b);
      const shown = failedRows.slice(0, 20).join(', ') + (failedRows.length > 20 ? ', …' : '');
      throw new DecodeError(`${this.label}: cannot decode row(s) ${shown}: ${failure}`, failedRows);
    }
    for (const result of results) {
      for (const f of result.frames) out.set(f.row, Frame.from(new Uint8Array(f.data), f.height, f.width, 3));
      this.stats.framesReturned += result.frames.length;
    }
    return out;
  }

  /**
   * Which lane decodes which of `rows` (sorted, distinct): one part per lane, most of them
   * empty. Rows are grouped by keyframe interval; a group that continues where a lane stopped,
   * or (under a schedule) whose interval a lane opened, goes to that lane; the others, which
   * start afresh at a keyframe, go to the least loaded lane, largest first, by the frames each
   * must decode from its keyframe.
   */
  private split(rows: Int32Array): Int32Array[] {
    const keys = (this.keyRows ??= Int32Array.from(this.decoder.keyframeRows()).sort());
    const intervalOf = (row: number): number => {
      let lo = 0;
      let hi = keys.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (keys[mid]! <= row) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const groups: { interval: number; from: number; to: number; cost: number; lane: number }[] = [];
    for (let i = 0; i < rows.length; i++) {
      const interval = intervalOf(rows[i]!);
      const g = groups.at(-1);
      if (g && g.interval === interval) g.to = i + 1;
      else groups.push({ interval, from: i, to: i + 1, cost: 0, lane: -1 });
    }
    const load = new Array<number>(this.maxLanes).fill(0);
    const laneInterval = this.lanes.map((l) => (l.lastRow >= 0 ? intervalOf(l.lastRow) : -1));
    const fresh: typeof groups = [];
    for (const g of groups) {
      const first = rows[g.from]!;
      const last = rows[g.to - 1]!;
      const owned = this.schedule ? this.owner.get(g.interval) : undefined;
      const continues = this.lanes.findIndex((l, i) => l.lastRow >= 0 && l.lastRow < first &&
        (first - l.lastRow <= CONTINUE_GAP || laneInterval[i] === g.interval));
      g.lane = owned ?? (continues >= 0 ? continues : -1);
      if (g.lane >= 0) {
        g.cost = last - Math.max(keys[g.interval]!, this.lanes[g.lane]!.lastRow);
        load[g.lane] += g.cost;
      } else {
        g.cost = last - keys[g.interval]! + 1;
        fresh.push(g);
      }
    }
    fresh.sort((a, b) => b.cost - a.cost);
    for (const g of fresh) {
      let best = 0;
      for (let l = 1; l < this.maxLanes; l++) if (load[l]! < load[best]!) best = l;
      g.lane = best;
      load[best] += g.cost;
    }
    if (this.schedule) for (const g of groups) this.owner.set(g.interval, g.lane);
    // Where each lane will stand: the next request (often sent before this one ends) continues there.
    for (const g of groups) {
      while (this.lanes.length <= g.lane) this.lanes.push(this.newLane());
      this.lanes[g.lane]!.lastRow = rows[g.to - 1]!;
    }
    this.stats.lanes = this.lanes.length;
    const lanes = new Set(groups.map((g) => g.lane));
    const parts: Int32Array[] = Array.from({ length: Math.max(...lanes) + 1 }, () => new Int32Array(0));
    if (lanes.size === 1) {
      parts[groups[0]!.lane] = rows;
      return parts;
    }
    const byLane = parts.map(() => [] as number[]);
    for (const g of groups) for (let i = g.from; i < g.to; i++) byLane[g.lane]!.push(rows[i]!);
    return byLane.map((p) => Int32Array.from(p));
  }

  /** Lane `i` (opened by split()), given the schedule in force when it joins. */
  private async lane(i: number): Promise<Lane> {
    const lane = this.lanes[i]!;
    if (this.schedule) await (lane.planned ??= lane.decoder.plan(this.schedule.rows, this.schedule.budgetBytes));
    return lane;
  }

  /**
   * Tells the decoder which rows the requests that follow will ask for, in the order they will
   * ask (repeats allowed; see VideoDecoder::plan): each request then also decodes the planned
   * rows of the keyframe intervals it opens, and their frames are kept (in the codec's pixel
   * format, at most `budgetBytes`) until asked for, so each interval is decoded once. Rows past
   * the end are refused (ERR_BAD_ARGUMENT). An empty list ends the schedule.
   */
  async plan(rows: readonly number[], budgetBytes = DEFAULT_PLAN_BYTES): Promise<void> {
    if (this.closed) throw new ClosedError(`${this.label}: the video is closed`);
    const planRows = Int32Array.from(rows);
    if (this.prefetch && planRows.length > 0) await this.prefetch(planRows);
    // The budget is shared by the lanes; each interval's kept frames are in the lane that opened it.
    const perLane = Math.floor(budgetBytes / this.maxLanes);
    try {
      const given = this.lanes.map((l) => l.decoder.plan(planRows, perLane));
      this.owner.clear();
      this.schedule = planRows.length > 0 ? { rows: planRows, budgetBytes: perLane } : undefined;
      this.lanes.forEach((l, i) => { l.planned = this.schedule ? given[i] : undefined; });
      await Promise.all(given);
    } catch (err) {
      this.schedule = undefined; // refused (ERR_BAD_ARGUMENT) by every lane alike
      for (const l of this.lanes) l.planned = undefined;
      if (this.closed) throw new ClosedError(`${this.label}: the video was closed while planning`, { cause: err });
      throw fromNative(err, this.label);
    }
  }

  /** Cancels decoding at the next packet and frees the decoder on its own thread (never blocks the event loop). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await Promise.all(this.lanes.map((l) => l.decoder.close()));
    } finally {
      await this.onClose?.();
    }
  }
}

/**
 * Decoded bytes a sequential read keeps ahead of its consumer: the requests queued on the
 * engine and the frames they returned that were not handed out yet. Each frame also stays
 * alive until the consumer drops it and V8 collects it, so this is kept to a few frames at
 * 1080p (6 MiB each); small frames go in larger requests, which keeps the per-request cost
 * (a thread hop and a promise) negligible.
 */
export const SEQUENTIAL_AHEAD_BYTES = 16 * 2 ** 20;
/** Most rows in one sequential request (small frames). */
const MAX_SEQUENTIAL_CHUNK = 16;

/**
 * Yields frames for `rows` in the order asked, decoding a bounded amount ahead: requests of
 * `chunk` rows, two of them outstanding (the engine starts the next one as soon as it finishes
 * one, while the caller consumes), sized so that both together hold about
 * SEQUENTIAL_AHEAD_BYTES of frames of `frameBytes` each (default: the video's full RGB size).
 */
export async function* framesInOrder(source: VideoSource, rows: readonly number[], frameBytes = source.info.width * source.info.height * 3): AsyncGenerator<{ row: number; frame: Frame<'uint8'> }> {
  const ahead = 2;
  const chunk = Math.min(MAX_SEQUENTIAL_CHUNK, Math.max(1, Math.floor(SEQUENTIAL_AHEAD_BYTES / ahead / Math.max(frameBytes, 1))));
  const queued: { start: number; end: number; frames: Promise<Map<number, Frame<'uint8'>>> }[] = [];
  let submitted = 0;
  const submit = (): void => {
    const start = submitted;
    const end = Math.min(start + chunk, rows.length);
    const frames = source.decodeRows(rows.slice(start, end));
    frames.catch(() => undefined); // its error surfaces when awaited
    queued.push({ start, end, frames });
    submitted = end;
  };
  while (queued.length < ahead && submitted < rows.length) submit();
  while (queued.length > 0) {
    const { start, end, frames } = queued.shift()!;
    const got = await frames;
    // Keep the engine busy while the caller consumes this request.
    if (submitted < rows.length) submit();
    for (let i = start; i < end; i++) yield { row: rows[i]!, frame: got.get(rows[i]!)! };
  }
}
