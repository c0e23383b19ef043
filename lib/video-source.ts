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

/** Yields frames for `rows` in the order asked, decoding one bounded chunk ahead. */
export async function* framesInOrder(source: VideoSource, rows: readonly number[], chunk = 16): AsyncGenerator<{ row: number; frame: Frame }> {
  let next = rows.length > 0 ? source.decodeRows(rows.slice(0, chunk)) : undefined;
  for (let start = 0; start < rows.length; start += chunk) {
    const current = next!;
    const end = Math.min(start + chunk, rows.length);
    // Prefetch the next chunk while the caller consumes this one.
    next = end < rows.length ? source.decodeRows(rows.slice(end, end + chunk)) : undefined;
    next?.catch(() => undefined); // its error surfaces when awaited
    const frames = await current;
    for (let i = start; i < end; i++) yield { row: rows[i]!, frame: frames.get(rows[i]!)! };
  }
}
