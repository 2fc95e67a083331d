// Strict reading of numbers from the command line, the environment and config files.
// JavaScript's Number() takes "", " 12 ", "0x10", "1e3" and "Infinity"; yargs turns
// "abc" into NaN. A setting wants exactly a decimal integer (or a decimal number), so
// anything else is refused with the range the setting accepts.

export interface Range {
  readonly min: number;
  readonly max: number;
  /** Said after the range: "ms", "bytes". */
  readonly unit?: string;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;

/** "an integer from 1 to 3600000 (ms)": what a setting accepts, for messages and help. */
export function describeIntegerRange(r: Range): string {
  return `an integer from ${r.min} to ${r.max}${r.unit ? ` (${r.unit})` : ''}`;
}

export function describeNumberRange(r: Range): string {
  return `a number from ${r.min} to ${r.max}${r.unit ? ` (${r.unit})` : ''}`;
}

/** The integer in `raw` if it is one within the range, else null. Accepts a number (from a config file) or its decimal text. */
export function readInteger(raw: unknown, r: Range): number | null {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && INTEGER.test(raw.trim())) n = Number(raw.trim());
  else return null;
  if (!Number.isSafeInteger(n) || n < r.min || n > r.max) return null;
  return n;
}

/** The number in `raw` if it is a finite decimal within the range, else null. */
export function readNumber(raw: unknown, r: Range): number | null {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && DECIMAL.test(raw.trim())) n = Number(raw.trim());
  else return null;
  if (!Number.isFinite(n) || n < r.min || n > r.max) return null;
  return n;
}
