// Generates histories that are linearizable by construction: clients issue
// overlapping operations, each takes effect atomically at a random instant inside
// its call..return interval, and outputs come from the reference model applied in
// the order of those instants. Unknown-outcome operations take effect later or never.

import type { KvInput, Operation } from '../../../src/harness/checker/history.js';
import { type KeyState, applyKv } from '../../../src/harness/checker/kv-model.js';
import { Prng } from '../../../src/harness/checker/prng.js';

export type Kind = KvInput['kind'];

const DEFAULT_DELTAS = [-2, -1, 0, 1, 2, 3, 4, 5];

export interface SimulationOptions {
  readonly seed: number;
  readonly clients: number;
  readonly opsPerClient: number;
  readonly keys: number;
  readonly kinds: readonly Kind[];
  /** Chance an operation gets no response (outcome unknown). */
  readonly pUnknown?: number;
  /** Values a put or cas writes are decimal integers below this; unique non-numeric strings when omitted. */
  readonly valuePool?: number;
  /** The deltas incr picks from (default -2..5). */
  readonly incrDeltas?: readonly number[];
  /** Longest operation duration; gaps between a client's operations are up to half of it. */
  readonly maxDuration?: number;
}

interface Draft {
  readonly op: Omit<Operation, 'output'>;
  /** When it takes effect; null = never. */
  readonly at: number | null;
  readonly unknown: boolean;
}

export function simulateHistory(options: SimulationOptions): Operation[] {
  const prng = new Prng(options.seed);
  const maxDuration = options.maxDuration ?? 20;
  const pUnknown = options.pUnknown ?? 0;
  const drafts: Draft[] = [];
  let id = 1;
  let unique = 0;
  const written = new Map<string, string[]>();
  const value = (key: string): string => {
    const v = options.valuePool === undefined ? `v${unique++}` : String(prng.int(options.valuePool));
    written.set(key, [...(written.get(key) ?? []).slice(-4), v]);
    return v;
  };
  // cas mostly expects a value recently written to the key, so it sometimes succeeds.
  const expected = (key: string): string | null => {
    const recent = written.get(key) ?? [];
    return recent.length === 0 || prng.chance(0.2) ? null : prng.pick(recent);
  };
  for (let client = 0; client < options.clients; client++) {
    let t = prng.next() * maxDuration;
    for (let k = 0; k < options.opsPerClient; k++) {
      const key = `key${prng.int(options.keys)}`;
      const kind = prng.pick(options.kinds);
      const input = randomInput(prng, kind, key, value, expected, options.incrDeltas ?? DEFAULT_DELTAS);
      const call = t;
      const duration = prng.next() * maxDuration;
      const ret = call + duration;
      const unknown = prng.chance(pUnknown);
      // A timed-out write may land much later, or not at all.
      const at = unknown ? (prng.chance(0.5) ? call + prng.next() * maxDuration * 10 : null) : call + prng.next() * duration;
      // Half the unknown ones got an error response (ret set, output null), half none at all.
      const recordedRet = unknown && prng.chance(0.5) ? null : ret;
      drafts.push({ op: { id: id++, client, key, call, ret: recordedRet, input }, at, unknown });
      t = ret + prng.next() * (maxDuration / 2);
    }
  }

  const outputs = new Map<number, Operation['output']>();
  const states = new Map<string, KeyState>();
  const effective = drafts.filter((d) => d.at !== null).sort((a, b) => (a.at as number) - (b.at as number));
  for (const { op } of effective) {
    const { next, output } = applyKv(states.get(op.key) ?? null, op.input);
    states.set(op.key, next);
    outputs.set(op.id, output);
  }
  return drafts.map(({ op, unknown }) => ({ ...op, output: unknown ? null : (outputs.get(op.id) ?? null) }));
}

function randomInput(
  prng: Prng,
  kind: Kind,
  key: string,
  value: (key: string) => string,
  expected: (key: string) => string | null,
  deltas: readonly number[],
): KvInput {
  switch (kind) {
    case 'put':
      return { kind, value: value(key) };
    case 'get':
    case 'del':
      return { kind };
    case 'incr':
      return { kind, delta: prng.pick(deltas) };
    case 'cas':
      return { kind, expected: expected(key), next: value(key) };
  }
}
