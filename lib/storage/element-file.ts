/**
 * Column storage for rows that are not packets of a video: one data file with the rows'
 * bytes back to back, and a row table of (offset, size) pairs (size -1: a null row).
 * Frames are stored raw with a 16-byte header (height, width, channels, dtype).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DType, Frame, frameFromEngine } from '../frame';

const DATA = 'rows.bin';
const TABLE = 'rows.idx';
const DTYPES: DType[] = ['uint8', 'uint16', 'float32', 'float64'];

export type StoredValue = Frame | Uint8Array | null;

export class ElementWriter {
  private data?: fsp.FileHandle;
  private offset = 0;
  private readonly table: number[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly dir: string) {}

  get rows(): number {
    return this.table.length / 2;
  }

  async append(value: StoredValue): Promise<void> {
    this.data ??= await fsp.open(path.join(this.dir, DATA), 'w');
    if (value === null) {
      this.table.push(this.offset, -1);
      return;
    }
    let parts: Buffer[];
    if (value instanceof Frame) {
      const header = Buffer.alloc(16);
      header.writeUInt32LE(value.height, 0);
      header.writeUInt32LE(value.width, 4);
      header.writeUInt32LE(value.channels, 8);
      header.writeUInt32LE(DTYPES.indexOf(value.dtype), 12);
      parts = [header, Buffer.from(value.data.buffer, value.data.byteOffset, value.data.byteLength)];
    } else {
      parts = [Buffer.from(value.buffer, value.byteOffset, value.byteLength)];
    }
    const size = parts.reduce((n, p) => n + p.length, 0);
    this.table.push(this.offset, size);
    this.offset += size;
    this.pending.push(...parts);
    this.pendingBytes += size;
    if (this.pendingBytes >= 8 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.data || this.pending.length === 0) return;
    await this.data.writev(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Flushes everything to disk (fsync): a committed stream never points at unwritten bytes. */
  async finish(): Promise<void> {
    this.data ??= await fsp.open(path.join(this.dir, DATA), 'w');
    await this.flush();
    await this.data.sync();
    await this.data.close();
    const table = await fsp.open(path.join(this.dir, TABLE), 'w');
    await table.writeFile(Buffer.from(new Float64Array(this.table).buffer));
    await table.sync();
    await table.close();
  }

  async abort(): Promise<void> {
    await this.data?.close().catch(() => undefined);
  }
}

export class ElementReader {
  private constructor(private readonly file: fsp.FileHandle, private readonly table: Float64Array) {}

  static async open(dir: string): Promise<ElementReader> {
    const t = await fsp.readFile(path.join(dir, TABLE));
    const table = new Float64Array(t.buffer.slice(t.byteOffset, t.byteOffset + t.byteLength));
    return new ElementReader(await fsp.open(path.join(dir, DATA), 'r'), table);
  }

  get rows(): number {
    return this.table.length / 2;
  }

  async read(row: number, asFrame: boolean): Promise<StoredValue> {
    const offset = this.table[row * 2]!;
    const size = this.table[row * 2 + 1]!;
    if (size < 0) return null;
    const buf = Buffer.allocUnsafeSlow(size);
    await this.file.read(buf, 0, size, offset);
    if (!asFrame) return new Uint8Array(buf.buffer, buf.byteOffset, size);
    const height = buf.readUInt32LE(0);
    const width = buf.readUInt32LE(4);
    const channels = buf.readUInt32LE(8);
    const dtype = DTYPES[buf.readUInt32LE(12)]!;
    return frameFromEngine({ height, width, channels, dtype, data: buf.buffer.slice(buf.byteOffset + 16, buf.byteOffset + size) });
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
