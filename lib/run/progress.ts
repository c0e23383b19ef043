import type * as CliProgress from 'cli-progress';

/** What a bar counts: a run counts rows and failed jobs; the CLI counts frames or videos. */
export interface ProgressLabels {
  unit: string;
  failedLabel: string;
  /** A cli-progress format of its own ({bar}, {value}, {total}, {percentage}, {rate}, {failed}, and the payload's fields). */
  format?: string;
  /** The payload's fields before the first update (those `format` names beyond the standard ones). */
  initial?: Record<string, string | number>;
}

/** The progress bar shown on a TTY (stderr): units done, units/s, ETA, failures. */
export class ProgressBar {
  private readonly bar: CliProgress.SingleBar;
  private readonly started = performance.now();

  constructor(total: number, labels: ProgressLabels = { unit: 'rows', failedLabel: 'failed jobs' }) {
    this.bar = new (require('cli-progress') as typeof CliProgress).SingleBar({ // loaded when a bar is first shown
      format: labels.format ?? `vidgraph {bar} {value}/{total} ${labels.unit} | {rate} ${labels.unit}/s | ETA {eta_formatted} | ${labels.failedLabel}: {failed}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
      forceRedraw: true, // redraw after log() cleared the line
    });
    this.bar.start(total, 0, { rate: '0', failed: 0, ...labels.initial });
  }

  /** `rateOf`: what {rate} counts per second (default: `done`). */
  update(done: number, failed: number, total?: number, payload: Record<string, string | number> = {}, rateOf = done): void {
    if (total !== undefined) this.bar.setTotal(total);
    const secs = (performance.now() - this.started) / 1000;
    this.bar.update(done, { rate: secs > 0 ? (rateOf / secs).toFixed(1) : '0', failed, ...payload });
  }

  /** Prints a line above the bar (on stdout, or stderr) and draws the bar again below it. */
  log(line: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    process.stderr.write('\r\x1b[2K');
    (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`);
    this.bar.render();
  }

  stop(): void {
    this.bar.stop();
  }
}
