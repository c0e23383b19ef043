/**
 * One decodable video: a native decoder (on its own engine thread) over a packet index
 * and the file holding the packets. Shared by stored streams and VideoReader.
 *
 * Requests are sorted and deduplicated before they reach the engine, which decodes each
 * keyframe interval holding a requested row once; results come back in the order asked.
 */
import * as os from 'node:os';
import { ClosedError, DecodeError, fromNative } from './errors';
import { Frame } from './frame';
import { native, NativeDecoder, NativeIndexInfo } from './native';

export interface DecodeStats {
  framesDecoded: number;
  framesReturned: number;
  /** Frames left undecoded: no other frame references them and they were not asked for. */
  framesSkipped: number;
  seeks: number;
  /** RGB conversion path of the last request: 'direct' (swscale, verified byte-identical to the CLI's filter graph on the first frame) or 'graph' (that filter graph). */
  conversion: 'direct' | 'graph' | 'none';
}

/**
 * Decoded frames a decode schedule may keep ahead of their request: 1/16 of the machine's
 * memory, at most 1 GiB. Beyond it, the frames asked for latest are decoded again when asked.
 */
export const DEFAULT_PLAN_BYTES = Math.min(2 ** 30, Math.floor(os.totalmem() / 16));

export class VideoSource {
  readonly info: NativeIndexInfo;
  readonly label: string;
  private readonly decoder: NativeDecoder;
  private times?: Float64Array;
  private closed = false;
  /** Totals since open: frames the codec produced versus frames handed out. */
  readonly stats: DecodeStats = { framesDecoded: 0, framesReturned: 0, framesSkipped: 0, seeks: 0, conversion: 'none' };

  constructor(index: Uint8Array, dataPath: string, label: string, opts: { threads?: number; maxSize?: [number, number]; keepRecent?: boolean; maxPixels?: number; rotate?: boolean; skipNonReference?: boolean } = {}) {
    this.label = label;
    try {
      this.decoder = new (native().NativeDecoder)(index, dataPath, {
        threads: opts.threads ?? 0,
        maxWidth: opts.maxSize?.[0] ?? 0,
        maxHeight: opts.maxSize?.[1] ?? 0,
        keepRecent: opts.keepRecent ?? true,
        rotate: opts.rotate ?? true,
        // VIDGRAPH_SKIP_DISPOSABLE=0 decodes every packet on the way (benchmarks' no-skipping baselines).
        skipDisposable: opts.skipNonReference ?? process.env.VIDGRAPH_SKIP_DISPOSABLE !== '0',
        ...(opts.maxPixels !== undefined && { maxPixels: opts.maxPixels }),
      });
    } catch (err) {
      throw fromNative(err, label);
    }
    this.info = this.decoder.info();
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
  async decodeRows(rows: readonly number[]): Promise<Map<number, Frame>> {
    if (this.closed) throw new ClosedError(`${this.label}: the video is closed`);
    const unique = Int32Array.from(new Set(rows)).sort();
    const out = new Map<number, Frame>();
    if (unique.length === 0) return out;
    let result;
    try {
      result = await this.decoder.decode(unique);
    } catch (err) {
      // A request in flight when close() ran is cancelled at its next packet.
      if (this.closed) throw new ClosedError(`${this.label}: the video was closed while decoding`, { cause: err });
      throw fromNative(err, this.label);
    }
    this.stats.framesDecoded += result.framesDecoded;
    this.stats.framesSkipped += result.packetsSkipped;
    this.stats.seeks += result.seeks;
    if (result.conversion !== 'none') this.stats.conversion = result.conversion;
    if (result.failedRows.length > 0) {
      const shown = result.failedRows.slice(0, 20).join(', ') + (result.failedRows.length > 20 ? ', …' : '');
      throw new DecodeError(`${this.label}: cannot decode row(s) ${shown}: ${result.failure}`, result.failedRows);
    }
    for (const f of result.frames) {
      out.set(f.row, Frame.from(new Uint8Array(f.data), f.height, f.width, 3));
    }
    this.stats.framesReturned += result.frames.length;
    return out;
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
    try {
      await this.decoder.plan(Int32Array.from(rows), budgetBytes);
    } catch (err) {
      if (this.closed) throw new ClosedError(`${this.label}: the video was closed while planning`, { cause: err });
      throw fromNative(err, this.label);
    }
  }

  /** Cancels decoding at the next packet and frees the decoder on its own thread (never blocks the event loop). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.decoder.close();
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
export async function* framesInOrder(source: VideoSource, rows: readonly number[], frameBytes = source.info.width * source.info.height * 3): AsyncGenerator<{ row: number; frame: Frame }> {
  const ahead = 2;
  const chunk = Math.min(MAX_SEQUENTIAL_CHUNK, Math.max(1, Math.floor(SEQUENTIAL_AHEAD_BYTES / ahead / Math.max(frameBytes, 1))));
  const queued: { start: number; end: number; frames: Promise<Map<number, Frame>> }[] = [];
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
