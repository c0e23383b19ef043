import { BadArgumentError } from '../errors';
import { describe } from '../validate';

/**
 * An in-memory input (Scanner's PythonStream): one row per value.
 *
 * @example
 * const sizes = new vg.ArrayStream([new Uint8Array([1]), new Uint8Array([2])]);
 */
export class ArrayStream<T = unknown> {
  readonly values: T[];
  constructor(values: T[]) {
    if (!Array.isArray(values)) throw new BadArgumentError(`ArrayStream: expected an array of values, got ${describe(values)}`);
    this.values = values;
  }
  name(): string {
    return `array(${this.values.length})`;
  }
  async len(): Promise<number> {
    return this.values.length;
  }
}
