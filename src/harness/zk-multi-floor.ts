// The floor under one writer's latency (issue 12, part 4): a write is acknowledged only
// after the leader's WAL multi returns, and the client reaches the leader over gRPC, so a
// single writer's p50 cannot be below one ZooKeeper multi plus one gRPC round trip. The
// bench measures the multi here, against the same ZooKeeper and in the same run as the
// writer, so the ratio between them is not distorted by this machine's changing load.
//
// The multi has the leader's shape for a batch of one write (wal-mirror.ts): check(epoch),
// create(segment holding one entry, encoded as the leader encodes it), setData(tail, with
// the version the previous multi left). It runs in a scratch folder of its own, created
// before and deleted after, so it touches nothing of the cluster.
import { performance } from 'node:perf_hooks';
import { EntryType, type ChainedEntry } from '../core/types.js';
import { CHAIN_BYTES } from '../core/chain.js';
import { encodeSegment, encodeTail } from '../coordination/records.js';
import { connectZk } from '../coordination/zk-client.js';
import { encodeCommand } from '../statemachine/command.js';
import { percentile } from './failover.js';

export interface ZkMultiFloorResult {
  readonly multis: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

export interface ZkMultiFloorOptions {
  readonly connectString: string;
  readonly durationMs: number;
  readonly valueBytes: number;
  /** Bounds the run whatever the duration: one sample per multi is kept. */
  readonly maxMultis?: number;
}

const CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_MULTIS = 200_000;

/** Sequential multis of the leader's one-write shape for durationMs (at most maxMultis). */
export async function measureZkMultiFloor(o: ZkMultiFloorOptions): Promise<ZkMultiFloorResult> {
  const zk = connectZk({ connectString: o.connectString });
  const root = `/duoraft-multi-floor-${process.pid}-${Math.round(performance.now())}`;
  const maxMultis = o.maxMultis ?? DEFAULT_MAX_MULTIS;
  const created: string[] = [];
  try {
    await zk.waitConnected(CONNECT_TIMEOUT_MS);
    const epoch = `${root}/epoch`;
    const tail = `${root}/tail`;
    await zk.create(root, new Uint8Array(), 'persistent');
    await zk.create(epoch, new Uint8Array([1]), 'persistent');
    await zk.create(tail, encodeTail({ term: 1, lastIndex: 0, segmentFirstIndex: 0 }), 'persistent');
    // Both at version 1, as after a fence: zk-client refuses an expected version of 0 in a multi.
    await zk.setData(epoch, new Uint8Array([1]), -1);
    await zk.setData(tail, encodeTail({ term: 1, lastIndex: 0, segmentFirstIndex: 0 }), -1);
    const data = encodeCommand({ kind: 'put', key: 'bench-0', value: new Uint8Array(o.valueBytes).fill(120) }, Date.now(), { sessionId: 1, sequence: 1, firstOutstanding: 1 });
    const latencies: number[] = [];
    const end = performance.now() + o.durationMs;
    for (let index = 1; index <= maxMultis && performance.now() < end; index++) {
      const entry: ChainedEntry = { index, term: 1, type: EntryType.Normal, data, chain: new Uint8Array(CHAIN_BYTES) };
      const segment = `${root}/seg-${String(index).padStart(20, '0')}`;
      const t = performance.now();
      await zk.multi([
        { type: 'check', path: epoch, version: 1 },
        { type: 'create', path: segment, data: encodeSegment(1, [entry], index - 1), mode: 'persistent' },
        { type: 'setData', path: tail, data: encodeTail({ term: 1, lastIndex: index, segmentFirstIndex: index }), version: index },
      ]);
      latencies.push(performance.now() - t);
      created.push(segment);
    }
    const r = (x: number): number => Math.round(x * 100) / 100;
    return {
      multis: latencies.length,
      latencyMs: { p50: r(percentile(latencies, 50)), p90: r(percentile(latencies, 90)), p99: r(percentile(latencies, 99)), max: r(percentile(latencies, 100)) },
    };
  } finally {
    await removeScratch(zk, root, created).finally(() => zk.close());
  }
}

/** Deletes the scratch folder, a bounded batch per multi; best effort (the ZooKeeper is the bench's own). */
async function removeScratch(zk: ReturnType<typeof connectZk>, root: string, segments: readonly string[]): Promise<void> {
  const BATCH = 500;
  try {
    const all = [...segments, `${root}/epoch`, `${root}/tail`];
    for (let k = 0; k < all.length; k += BATCH) {
      await zk.multi(all.slice(k, k + BATCH).map((path) => ({ type: 'delete' as const, path, version: -1 })));
    }
    await zk.multi([{ type: 'delete', path: root, version: -1 }]);
  } catch {
    // A folder left behind costs the bench's own ZooKeeper some bytes, nothing else.
  }
}
