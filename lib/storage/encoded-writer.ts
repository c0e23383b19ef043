/**
 * Writes a frame column as H.264 (libx264, on the encoder's engine thread) into a packet file
 * with the same packet index ingest builds, so the stream reads back like an ingested video.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BadArgumentError, fromNative } from '../errors';
import { Frame } from '../frame';
import { native, NativeEncoder, NativeIndexInfo } from '../native';

export interface EncodeSettings {
  quality?: number;
  bitrate?: number;
  keyframeDistance?: number;
  fps: number;
  threads: number;
}

/** Can this frame be stored as H.264 (uint8 RGB, even size)? */
export function encodable(f: Frame): boolean {
  return f.dtype === 'uint8' && f.channels === 3 && f.width % 2 === 0 && f.height % 2 === 0;
}

export class EncodedWriter {
  private encoder?: NativeEncoder;
  private pending: Frame[] = [];
  rows = 0;

  constructor(private readonly dir: string, private readonly settings: EncodeSettings, private readonly stream: string) {}

  async append(f: Frame | null): Promise<void> {
    if (!(f instanceof Frame)) throw new BadArgumentError(`stream '${this.stream}': null rows cannot be stored in an encoded video (use lossless())`);
    if (!this.encoder) {
      const fps = this.settings.fps > 0 ? this.settings.fps : 30;
      const [num, den] = Number.isInteger(fps) ? [fps, 1] : [Math.round(fps * 1001), 1001];
      try {
        this.encoder = new (native().NativeEncoder)(path.join(this.dir, 'packets.bin'), {
          width: f.width, height: f.height, fpsNum: num, fpsDen: den, threads: this.settings.threads,
          crf: this.settings.quality ?? 23, bitrate: this.settings.bitrate ?? 0, gop: this.settings.keyframeDistance ?? 0,
        });
      } catch (err) {
        throw fromNative(err, `stream '${this.stream}'`);
      }
    }
    this.pending.push(f);
    this.rows++;
    if (this.pending.length >= 16) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.encoder || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    await this.encoder.encode(batch).catch((err: unknown) => {
      throw fromNative(err, `stream '${this.stream}'`);
    });
  }

  /** Drains the encoder; writes the packet index; returns the stream facts. */
  async finish(): Promise<NativeIndexInfo> {
    if (!this.encoder) throw new BadArgumentError(`stream '${this.stream}': an encoded video needs at least one frame`);
    await this.flush();
    const { index, info } = await this.encoder.finish().catch((err: unknown) => {
      throw fromNative(err, `stream '${this.stream}'`);
    });
    await fsp.writeFile(path.join(this.dir, 'index.vgix'), index);
    return info;
  }

  async abort(): Promise<void> {
    this.pending = [];
    await this.encoder?.close().catch(() => undefined); // discarded, not drained
  }
}
