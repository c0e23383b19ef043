/**
 * Column storage for rows that are not packets of a video: one data file with the rows'
 * bytes back to back, and a row table of (offset, size) pairs (size -1: a null row).
 * Frames are stored raw with a 16-byte header (height, width, channels, dtype).
 */
import { constants } from 'node:buffer';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { CorruptError } from '../errors';
import { DType, dtypeBytes, Frame, frameFromEngine } from '../frame';

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

/**
 * Reads rows back, trusting nothing on disk: every table entry is checked before its bytes are
 * read (offsets in range, rows back to back as the writer lays them out, within the data file,
 * the row count as the metadata says), and every read must return all the bytes asked for.
 * Damage is a CorruptError naming the stream and the row; rows before the damage still load.
 */
export class ElementReader {
  /** Rows below this one have table entries that passed every check. */
  private readonly validRows: number;
  /** Why row `validRows` is damaged (when it is below `rows`). */
  private readonly damage: string;

  private constructor(
    private readonly file: fsp.FileHandle,
    private readonly table: Float64Array,
    dataBytes: number,
    private readonly stream: string,
    private readonly rowCount: number,
    tableBytes: number,
  ) {
    const tableRows = table.length / 2;
    if (tableRows > rowCount) {
      [this.validRows, this.damage] = [0, `the row table ${TABLE} has ${tableRows} rows but the metadata says ${rowCount}`];
      return;
    }
    [this.validRows, this.damage] = checkTable(table, dataBytes);
    if (this.validRows === tableRows && tableRows < rowCount) {
      this.damage = `the row table ${TABLE} ends after ${tableRows} of ${rowCount} rows (${tableBytes} bytes: truncated)`;
    }
  }

  /** `rows`: the row count the stream's metadata records. */
  static async open(dir: string, stream: string, rows: number): Promise<ElementReader> {
    const corrupt = (what: string, cause?: unknown) => new CorruptError(`stream '${stream}': ${what}`, { cause });
    const t = await fsp.readFile(path.join(dir, TABLE)).catch((err: NodeJS.ErrnoException) => {
      throw corrupt(`cannot read its row table ${TABLE} (${err.code ?? err.message})`, err);
    });
    // Whole 16-byte entries only: a cut entry is damage reported at its row.
    const whole = t.byteLength - (t.byteLength % 16);
    const table = new Float64Array(t.buffer.slice(t.byteOffset, t.byteOffset + whole));
    const file = await fsp.open(path.join(dir, DATA), 'r').catch((err: NodeJS.ErrnoException) => {
      throw corrupt(`cannot open its row data ${DATA} (${err.code ?? err.message})`, err);
    });
    try {
      const st = await file.stat();
      return new ElementReader(file, table, st.size, stream, rows, t.byteLength);
    } catch (err) {
      await file.close();
      throw corrupt(`cannot read its row data ${DATA}`, err);
    }
  }

  get rows(): number {
    return this.rowCount;
  }

  async read(row: number, asFrame: boolean): Promise<StoredValue> {
    const corrupt = (what: string, cause?: unknown) => new CorruptError(`stream '${this.stream}', row ${row}: ${what}`, { cause });
    if (row >= this.validRows) throw corrupt(row === this.validRows ? this.damage : `rows from ${this.validRows} on are unreadable: ${this.damage}`);
    const offset = this.table[row * 2]!;
    const size = this.table[row * 2 + 1]!;
    if (size < 0) return null;
    const buf = Buffer.allocUnsafeSlow(size);
    let got = 0;
    while (got < size) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.file.read(buf, got, size - got, offset + got));
      } catch (err) {
        throw corrupt(`cannot read ${DATA}`, err);
      }
      if (n === 0) break;
      got += n;
    }
    // Never hand out bytes that did not come from the file (the buffer is uninitialised).
    if (got !== size) throw corrupt(`${DATA} ends after ${got} of the row's ${size} bytes (was it truncated?)`);
    if (!asFrame) return new Uint8Array(buf.buffer, buf.byteOffset, size);
    if (size < 16) throw corrupt(`a stored frame needs a 16-byte header, the row has ${size} bytes`);
    const height = buf.readUInt32LE(0);
    const width = buf.readUInt32LE(4);
    const channels = buf.readUInt32LE(8);
    const dtype = DTYPES[buf.readUInt32LE(12)];
    if (!dtype) throw corrupt(`unknown frame element type ${buf.readUInt32LE(12)} in the frame header`);
    const expected = height * width * channels * dtypeBytes(dtype);
    if (height === 0 || width === 0 || channels === 0 || expected !== size - 16) {
      throw corrupt(`the frame header says ${height}x${width}x${channels} ${dtype} (${expected} bytes) but the row holds ${size - 16}`);
    }
    return frameFromEngine({ height, width, channels, dtype, data: buf.buffer.slice(buf.byteOffset + 16, buf.byteOffset + size) });
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/**
 * How many leading rows of the table are sound, and what is wrong with the first one that is
 * not. The writer lays rows out back to back from offset 0 (a null row: size -1 at the current
 * offset), so each entry must start where the previous one ended and end within the data file.
 */
function checkTable(table: Float64Array, dataBytes: number): [number, string] {
  const rows = table.length / 2;
  let end = 0;
  for (let r = 0; r < rows; r++) {
    const offset = table[r * 2]!;
    const size = table[r * 2 + 1]!;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || size < -1) {
      return [r, `the row table entry is not a valid (offset, size) pair (${offset}, ${size})`];
    }
    if (offset !== end) return [r, `the row table says the row starts at byte ${offset}, but the previous row ends at byte ${end}`];
    if (size > MAX_ROW_BYTES) return [r, `the row table gives the row ${size} bytes, more than a row can hold`];
    if (size > 0 && offset + size > dataBytes) {
      return [r, `the row table says the row ends at byte ${offset + size}, past the end of ${DATA} (${dataBytes} bytes; was it truncated?)`];
    }
    end = offset + Math.max(size, 0);
  }
  return [rows, ''];
}

/** Largest Buffer Node can allocate. */
const MAX_ROW_BYTES = constants.MAX_LENGTH;
