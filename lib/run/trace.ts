/**
 * A Chrome trace (chrome://tracing, Perfetto) of a run's stages: one track per stage (input
 * decode, each op, writing), one slice per request.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

export class Trace {
  private readonly events: TraceEvent[] = [];
  private readonly tracks = new Map<string, number>();
  private readonly origin = performance.now();

  private track(name: string): number {
    let id = this.tracks.get(name);
    if (id === undefined) {
      id = this.tracks.size + 1;
      this.tracks.set(name, id);
      this.events.push({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid: id, args: { name } });
    }
    return id;
  }

  /** Times `work` as one slice on `track`. */
  async span<T>(track: string, name: string, args: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.events.push({ name, cat: track, ph: 'X', ts: (start - this.origin) * 1000, dur: (performance.now() - start) * 1000, pid: 1, tid: this.track(track), args });
    }
  }

  async write(file: string): Promise<string> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, JSON.stringify({ traceEvents: this.events, displayTimeUnit: 'ms' }));
    return file;
  }
}
