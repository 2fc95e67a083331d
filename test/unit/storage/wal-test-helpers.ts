// Shared fixtures for the storage tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, type Entry } from '../../../src/core/types.js';

/** An entry whose data names its index and term, so mix-ups show in assertions. */
export function entry(index: number, term: number, size?: number): Entry {
  const text = `entry ${index} of term ${term}`;
  const data = new Uint8Array(size ?? text.length);
  data.set(new TextEncoder().encode(text).subarray(0, data.length));
  return { index, term, type: EntryType.Normal, data };
}

export function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

/** [index, term, data as text] per entry: compact and exact to compare. */
export function summary(list: readonly Entry[]): Array<[number, number, string]> {
  return list.map((e) => [e.index, e.term, new TextDecoder().decode(e.data)]);
}

export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

export async function makeTempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'duoraft-wal-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
