// The key-value state machine. It changes only by apply(), in log order, from committed
// entries, so every replica that applied the same prefix holds the same map.
import { type Entry, EntryType } from '../core/types.js';
import { decodeCommand, type KvCommand } from './command.js';

export type KvResult =
  | { readonly ok: true; readonly kind: 'put' }
  | { readonly ok: true; readonly kind: 'delete'; readonly deleted: boolean }
  | { readonly ok: true; readonly kind: 'incr'; readonly value: number }
  | { readonly ok: true; readonly kind: 'noop' }
  | { readonly ok: false; readonly code: 'not_integer' | 'overflow' | 'bad_command'; readonly message: string };

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const INTEGER = /^-?[0-9]+$/;

export class KvStore {
  private readonly data = new Map<string, Uint8Array>();
  private appliedIndex = 0;
  /** The log time of the last applied command: a new leader stamps at or after it. */
  private lastStamp = 0;

  /** Applies the next committed entry. Entries must come in index order. */
  apply(entry: Entry): KvResult {
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`state machine: applying ${entry.index} after ${this.appliedIndex}`);
    }
    this.appliedIndex = entry.index;
    if (entry.type === EntryType.Noop) return { ok: true, kind: 'noop' };
    const decoded = decodeCommand(entry.data);
    if (!decoded) return { ok: false, code: 'bad_command', message: `entry ${entry.index} holds no valid command` };
    if (decoded.stampMs > this.lastStamp) this.lastStamp = decoded.stampMs;
    return this.execute(decoded.command);
  }

  get(key: string): Uint8Array | undefined {
    return this.data.get(key);
  }

  applied(): number {
    return this.appliedIndex;
  }

  lastStampMs(): number {
    return this.lastStamp;
  }

  /** Sets the applied index without applying (after restoring a snapshot or at an empty start). */
  resetApplied(index: number): void {
    this.appliedIndex = index;
  }

  size(): number {
    return this.data.size;
  }

  entries(): IterableIterator<[string, Uint8Array]> {
    return this.data.entries();
  }

  clear(): void {
    this.data.clear();
  }

  set(key: string, value: Uint8Array): void {
    this.data.set(key, value);
  }

  private execute(c: KvCommand): KvResult {
    switch (c.kind) {
      case 'put':
        this.data.set(c.key, c.value);
        return { ok: true, kind: 'put' };
      case 'delete':
        return { ok: true, kind: 'delete', deleted: this.data.delete(c.key) };
      case 'incr': {
        const current = this.data.get(c.key);
        let base = 0;
        if (current !== undefined) {
          const text = decoder.decode(current);
          if (!INTEGER.test(text) || !Number.isSafeInteger(Number(text))) {
            return { ok: false, code: 'not_integer', message: `value of ${JSON.stringify(c.key)} is not an integer` };
          }
          base = Number(text);
        }
        const next = base + c.delta;
        if (!Number.isSafeInteger(next)) {
          return { ok: false, code: 'overflow', message: `incr of ${JSON.stringify(c.key)} leaves the safe integer range` };
        }
        this.data.set(c.key, encoder.encode(String(next)));
        return { ok: true, kind: 'incr', value: next };
      }
    }
  }
}
