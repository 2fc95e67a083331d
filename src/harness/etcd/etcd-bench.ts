// The etcd side of `duoraft bench --suite --compare etcd`: the same closed-loop writer
// loads as ours (N writers, 256-byte values, each putting its next key when the last one
// was acknowledged) against a three-member etcd on the same machine, and the same failover
// measurement (SIGKILL of the leader under 4 writers; downtime = from the kill to the first
// write acknowledged in a later Raft term, i.e. committed by the new leader).
import { performance } from 'node:perf_hooks';
import { percentile } from '../failover.js';
import { EtcdClient } from './etcd-client.js';
import type { EtcdCluster } from './etcd-cluster.js';

export interface EtcdLoadResult {
  readonly writers: number;
  readonly connections: number;
  readonly seconds: number;
  readonly ops: number;
  readonly opsPerSecond: number;
  readonly errors: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** CPU the load generator (this process) used, in % of one core. */
  readonly clientCpuPercent: number;
}

export interface EtcdFailoverResult {
  readonly count: number;
  readonly downtimeMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly all: readonly number[] };
}

const PUT_TIMEOUT_MS = 5_000;
const PROBE_EVERY_MS = 10;
/** Bound on probe puts in flight (each times out after 2 s). */
const MAX_PROBES_IN_FLIGHT = 400;

/** Writers put to the leader (as our client does: followers would forward each put to it). */
export async function runEtcdWriteLoad(cluster: EtcdCluster, writers: number, connections: number, durationMs: number, valueBytes = 256): Promise<EtcdLoadResult> {
  const leader = await cluster.waitForLeader(10_000);
  const clients = Array.from({ length: connections }, () => new EtcdClient(cluster.endpoint(leader.name)));
  const value = new Uint8Array(valueBytes).fill(120);
  const latencies: number[] = [];
  let errors = 0;
  try {
    // Warm up (connections, JIT).
    await Promise.all(clients.map((c, k) => c.put(`warm-${k}`, value, PUT_TIMEOUT_MS)));
    const cpu = process.cpuUsage();
    const started = performance.now();
    const end = started + durationMs;
    const writer = async (w: number): Promise<void> => {
      const c = clients[w % clients.length]!;
      for (let n = 0; performance.now() < end; n++) {
        const t = performance.now();
        try {
          await c.put(`bench-${(w * 7919 + n) % 10_000}`, value, PUT_TIMEOUT_MS);
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const r = (x: number): number => Math.round(x * 100) / 100;
    return {
      writers,
      connections,
      seconds: r(wallMs / 1000),
      ops: latencies.length,
      opsPerSecond: Math.round(latencies.length / (wallMs / 1000)),
      errors,
      latencyMs: { p50: r(percentile(latencies, 50)), p90: r(percentile(latencies, 90)), p99: r(percentile(latencies, 99)), max: r(percentile(latencies, 100)) },
      clientCpuPercent: Math.round(((used.user + used.system) / 1000 / wallMs) * 100),
    };
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * `count` times: SIGKILL the leader under 4 writers; downtime until a put is acknowledged
 * in a later term; restart the killed member and wait until all three agree on a leader.
 * The writers spread over every member (a follower forwards to the leader) and move to the
 * next member when theirs fails, as etcd's own client does.
 *
 * A put a follower forwarded to the leader that died is never answered (etcd times it out
 * after seconds), so the writers alone would measure their own timeout. From the kill on, a
 * probe therefore also starts a fresh put every PROBE_EVERY_MS on the surviving members,
 * alternately: the downtime is the first put of either kind acknowledged in a later term,
 * the earliest any client could have seen a write go through.
 */
export async function runEtcdFailovers(cluster: EtcdCluster, count: number, say: (line: string) => void): Promise<EtcdFailoverResult> {
  const names = cluster.names();
  const clients = new Map(names.map((n) => [n, new EtcdClient(cluster.endpoint(n))]));
  const value = new Uint8Array(64).fill(120);
  let running = true;
  let waiter: { readonly term: number; readonly resolve: (at: number) => void } | null = null;
  const writer = async (w: number): Promise<void> => {
    let at = w % names.length;
    for (let n = 0; running; n++) {
      const name = names[at]!;
      if (!cluster.running(name)) {
        at = (at + 1) % names.length;
        continue;
      }
      try {
        const r = await clients.get(name)!.put(`fo-${w}-${n}`, value, 2_000);
        if (waiter && r.raftTerm > waiter.term) {
          waiter.resolve(performance.now());
          waiter = null;
        }
      } catch {
        at = (at + 1) % names.length;
        await new Promise((res) => setTimeout(res, 5));
      }
    }
  };
  const loops = Array.from({ length: 4 }, (_, w) => writer(w));
  const downtimes: number[] = [];
  try {
    for (let k = 1; k <= count; k++) {
      await new Promise((r) => setTimeout(r, 700));
      const before = await cluster.waitForLeader(30_000);
      const resumed = new Promise<number>((resolve) => {
        waiter = { term: before.term, resolve };
      });
      const killedAt = performance.now();
      await cluster.kill(before.name);
      const survivors = names.filter((n) => n !== before.name);
      let probing = true;
      let inFlight = 0;
      const probe = async (): Promise<void> => {
        for (let i = 0; probing; i++) {
          if (inFlight < MAX_PROBES_IN_FLIGHT) {
            inFlight++;
            clients
              .get(survivors[i % survivors.length]!)!
              .put(`probe-${k}-${i}`, value, 2_000)
              .then((r) => {
                if (waiter && r.raftTerm > waiter.term) {
                  waiter.resolve(performance.now());
                  waiter = null;
                }
              })
              .catch(() => undefined)
              .finally(() => inFlight--);
          }
          await new Promise((res) => setTimeout(res, PROBE_EVERY_MS));
        }
      };
      const probing$ = probe();
      const at = await Promise.race([resumed, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
      probing = false;
      await probing$;
      if (at === null) throw new Error(`etcd failover ${k}: no write acknowledged in a later term within 30 s`);
      const ms = Math.round(at - killedAt);
      downtimes.push(ms);
      const after = await cluster.waitForLeader(30_000, { not: before.name });
      say(`  etcd ${k}/${count}: ${before.name} -> ${after.name}: ${ms} ms`);
      cluster.startMember(before.name);
      await cluster.waitForLeader(30_000);
    }
  } finally {
    running = false;
    await Promise.all(loops);
    for (const c of clients.values()) c.close();
  }
  return { count: downtimes.length, downtimeMs: { p50: percentile(downtimes, 50), p99: percentile(downtimes, 99), max: percentile(downtimes, 100), all: downtimes } };
}
