// The fuzz suite's own end-of-run checks, besides the checked load's (lost, duplicated,
// linearizable):
// - forged: no key that only forged peer messages ever wrote is visible (a forgery that
//   became committed state);
// - lost: every acknowledged write of the fuzzer's own reads back with its value;
// - agree: once both voters have applied the same index, each answers every sampled key
//   alike (a stale read of each: the replicas hold the same state).
import type { DuoraftClient } from '../../client/client.js';
import { pb } from '../../common/proto.js';
import type { ProcessCluster } from '../process-cluster.js';
import { ClientCaller } from './client-caller.js';
import { bounded, type FuzzLedger } from './context.js';

const LANES = 8;
/** Keys compared across the replicas, at most. */
const AGREEMENT_SAMPLE = 400;

export interface EndChecks {
  readonly forgedVisible: readonly string[];
  readonly fuzzWritesLost: readonly string[];
  readonly unreadable: readonly string[];
  readonly replicasDisagree: readonly string[];
}

const decoder = new TextDecoder();

export async function checkLedger(client: DuoraftClient, ledger: FuzzLedger): Promise<Pick<EndChecks, 'forgedVisible' | 'fuzzWritesLost' | 'unreadable'>> {
  const forgedVisible: string[] = [];
  const fuzzWritesLost: string[] = [];
  const unreadable: string[] = [];
  const read = async (key: string): Promise<string | null | undefined> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await client.get(key);
        return r.found ? decoder.decode(r.value) : null;
      } catch {
        // retried
      }
    }
    unreadable.push(key);
    return undefined;
  };
  await bounded(
    [...ledger.forgedKeys].map((key) => async () => {
      const v = await read(key);
      if (v !== null && v !== undefined) forgedVisible.push(`${key} = ${JSON.stringify(v)}`);
    }),
    LANES,
  );
  await bounded(
    [...ledger.acknowledged].map(([key, value]) => async () => {
      const v = await read(key);
      if (v !== undefined && v !== value) fuzzWritesLost.push(`${key}: acknowledged ${JSON.stringify(value)}, found ${v === null ? 'nothing' : JSON.stringify(v)}`);
    }),
    LANES,
  );
  return { forgedVisible, fuzzWritesLost, unreadable };
}

async function staleGet(caller: ClientCaller, key: string): Promise<string> {
  const o = await caller.unary('Get', pb.client.GetRequest.encode({ key, consistency: pb.client.Consistency.STALE }).finish(), 3000);
  if (o.code !== 0 || !o.body || o.errorCode !== 0) return `(unanswered: ${o.code}/${o.errorCode})`;
  const r = pb.client.GetResponse.decode(o.body);
  return r.found ? `=${Buffer.from(r.value ?? new Uint8Array(0)).toString('base64')}` : '(absent)';
}

/** Stale reads of `keys` on both voters, once they have applied the same index (the load stopped). */
export async function checkAgreement(cluster: ProcessCluster, keys: readonly string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ss = await cluster.statuses();
    if (ss.length === 2 && ss[0]!.appliedIndex === ss[1]!.appliedIndex && ss[0]!.commitIndex === ss[1]!.commitIndex) break;
    if (Date.now() > deadline) return [`the voters did not reach the same applied index within ${timeoutMs} ms: ${JSON.stringify(ss)}`];
    await new Promise((r) => setTimeout(r, 50));
  }
  const ids = cluster.ids();
  const callers = ids.map((id) => new ClientCaller(cluster.node(id).address));
  const sample = keys.length <= AGREEMENT_SAMPLE ? keys : keys.filter((_, i) => i % Math.ceil(keys.length / AGREEMENT_SAMPLE) === 0);
  const disagree: string[] = [];
  try {
    await bounded(
      sample.map((key) => async () => {
        const [a, b] = await Promise.all(callers.map((c) => staleGet(c, key)));
        if (a !== b) disagree.push(`${key}: ${ids[0]} ${a}, ${ids[1]} ${b}`);
      }),
      LANES,
    );
  } finally {
    for (const c of callers) c.close();
  }
  return disagree;
}
