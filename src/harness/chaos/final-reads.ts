// After the load stopped: one linearizable read of every key the checks need (each
// acknowledged write-once key, every counter and register). The reads join the history
// of recorded keys join the history too, so the checker sees the final state as well (a
// write-once key written after the history cap is only compared with its acknowledged value).
import { performance } from 'node:perf_hooks';
import type { DuoraftClient } from '../../client/client.js';
import type { OpSpace } from './op-mix.js';
import type { HistoryRecorder } from './recorder.js';

const decoder = new TextDecoder();
/** Concurrent readers; each is its own client id in the history (one call outstanding each). */
const LANES = 16;
const ATTEMPTS = 3;

export interface FinalReads {
  /** Key -> value read (null: absent). Keys whose read failed every attempt are missing. */
  readonly values: ReadonlyMap<string, string | null>;
  /** Keys that could not be read, with the last error. */
  readonly unreadable: ReadonlyArray<{ readonly key: string; readonly error: string }>;
}

export async function readFinalState(
  client: DuoraftClient,
  recorder: HistoryRecorder,
  keys: ReadonlyArray<{ readonly key: string; readonly space: OpSpace; readonly inHistory: boolean }>,
  firstClientId: number,
): Promise<FinalReads> {
  const values = new Map<string, string | null>();
  const unreadable: Array<{ key: string; error: string }> = [];
  let next = 0;
  const lane = async (laneId: number): Promise<void> => {
    for (let i = next++; i < keys.length; i = next++) {
      const { key, space, inHistory } = keys[i]!;
      let lastError = '';
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const call = performance.now();
        try {
          const r = await client.get(key);
          const at = performance.now();
          const value = r.found ? decoder.decode(r.value) : null;
          values.set(key, value);
          if (inHistory) recorder.add({
            client: firstClientId + laneId,
            key,
            space,
            call,
            input: { kind: 'get' },
            outcome: { type: 'ok', at, output: value === null ? { kind: 'get', found: false } : { kind: 'get', found: true, value } },
            retriedAfterUnknown: false,
            recorded: true,
          });
          lastError = '';
          break;
        } catch (err) {
          lastError = err instanceof Error ? err.message : String(err);
        }
      }
      if (lastError !== '') unreadable.push({ key, error: lastError });
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, k) => lane(k)));
  return { values, unreadable };
}
