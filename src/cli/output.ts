// How the CLI prints results and failures: one JSON object (or array) per command with
// --json, a short human line or table without; failures are one line on stderr.
import { DuoraftError } from '../common/errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A value in JSON: `value` when its bytes are UTF-8 text, and `valueBase64` always, so scripts have one field that always works. */
export function valueFields(bytes: Uint8Array): { value?: string; valueBase64: string } {
  const valueBase64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  try {
    return { value: strictUtf8.decode(bytes), valueBase64 };
  } catch {
    return { valueBase64 };
  }
}

/** A value on its own: text and a newline on a terminal, its exact bytes to a pipe or file. */
export function printValue(bytes: Uint8Array): void {
  if (process.stdout.isTTY) printLine(new TextDecoder('utf-8', { fatal: false }).decode(bytes));
  else process.stdout.write(bytes);
}

export function printTable(rows: ReadonlyArray<Record<string, string | number>>, columns: readonly string[]): void {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  printLine(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) printLine(line(columns.map((c) => String(r[c] ?? ''))));
}

/** Exit codes: 0 success, 1 the operation failed, 2 the command line or configuration was wrong (nothing was done). */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export function failureLine(err: unknown): string {
  if (err instanceof DuoraftError) return `duoraft: ${err.code}: ${err.message}`;
  if (err instanceof Error) return `duoraft: error: ${err.message}`;
  return `duoraft: error: ${String(err)}`;
}
