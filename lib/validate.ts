import { BadArgumentError } from './errors';

/** How a value is shown in an error message: '640px' (string), 1.5 (number), undefined. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}' (string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${String(value)} (${typeof value})`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return `a value of type ${typeof value}`;
}

function fail(where: string, expected: string, value: unknown): never {
  throw new BadArgumentError(`${where}: expected ${expected}, got ${describe(value)}`);
}

export function integer(where: string, name: string, value: unknown, opts: { min?: number; max?: number } = {}): number {
  const range =
    opts.min !== undefined && opts.max !== undefined ? ` between ${opts.min} and ${opts.max}`
      : opts.min !== undefined ? (opts.min === 0 ? ' >= 0' : opts.min === 1 ? ' > 0' : ` >= ${opts.min}`)
        : opts.max !== undefined ? ` <= ${opts.max}` : '';
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(where, `integer ${name}${range}`, value);
  if ((opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) fail(where, `integer ${name}${range}`, value);
  return value;
}

export function finiteNumber(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(where, `a finite number for ${name}`, value);
  return value;
}

export function nonEmptyString(where: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) fail(where, `a non-empty string for ${name}`, value);
  return value;
}

export function optionalBoolean(where: string, name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') fail(where, `a boolean for ${name}`, value);
  return value;
}

export function plainObject(where: string, name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, `an options object for ${name}`, value);
  return value as Record<string, unknown>;
}

/** Rejects option names the function does not know (a typo should not pass silently). */
export function knownKeys(where: string, options: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new BadArgumentError(`${where}: unknown option '${key}' (expected one of: ${allowed.join(', ')})`);
    }
  }
}
