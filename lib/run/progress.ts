import { SingleBar } from 'cli-progress';

/** The progress bar a run shows on a TTY: rows done, rows/s, ETA, failed jobs. */
export class ProgressBar {
  private readonly bar: SingleBar;
  private readonly started = performance.now();

  constructor(total: number) {
    this.bar = new SingleBar({
      format: 'vidgraph {bar} {value}/{total} rows | {rate} rows/s | ETA {eta_formatted} | failed jobs: {failed}',
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    });
    this.bar.start(total, 0, { rate: '0', failed: 0 });
  }

  update(done: number, failed: number, total?: number): void {
    if (total !== undefined) this.bar.setTotal(total);
    const secs = (performance.now() - this.started) / 1000;
    this.bar.update(done, { rate: secs > 0 ? (done / secs).toFixed(1) : '0', failed });
  }

  stop(): void {
    this.bar.stop();
  }
}
