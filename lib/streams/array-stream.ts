import { BadArgumentError } from '../errors';
import { describe } from '../validate';

/**
 * An in-memory input (Scanner's PythonStream): one row per value.
 *
 * @example
 * const sizes = new vg.ArrayStream([new Uint8Array([1]), new Uint8Array([2])]);
 */
export class ArrayStream<T = unknown> {
  /** The rows, as given. */
  readonly values: T[];
  /** One row per value: Frames, Uint8Arrays or JSON values (the first non-null value decides the column type). */
  constructor(values: T[]) {
    if (!Array.isArray(values)) throw new BadArgumentError(`ArrayStream: expected an array of values, got ${describe(values)}`);
    this.values = values;
  }
  /**
   * A name for messages: `array(n)` for n values.
   *
   * @example
   * new vg.ArrayStream([1, 2, 3]).name(); // 'array(3)'
   */
  name(): string {
    return `array(${this.values.length})`;
  }
  /**
   * The number of values (rows).
   *
   * @example
   * const rows = await new vg.ArrayStream([1, 2, 3]).len(); // 3
   */
  async len(): Promise<number> {
    return this.values.length;
  }
}
