// duoraft watch: the chaos run's checked load (src/harness/chaos: recording clients,
// exactly-once sessions, the end-of-run checks) pointed at a cluster that somebody else
// runs, e.g. the docker compose deployment, whose faults come from outside
// (docker/chaos/*.sh). It reports every write gap as it ends (write-gaps.ts), a progress
// line now and then, and when stopped (SIGTERM, or after its duration) reads every
// checked key back and says whether anything acknowledged was lost or applied twice and
// whether the history is linearizable. Nothing here measures downtime a second way.
import { performance } from 'node:perf_hooks';
import { connect, type DuoraftClient } from '../client/client.js';
import { TimeoutError } from '../common/errors.js';
import { CheckedLoad, type LoadVerdict } from './chaos/index.js';
import type { ClientCredentials } from './chaos/checked-load.js';
import { type WriteGap, WriteGapFollower } from './write-gaps.js';

export interface WatchOptions {
  readonly zk: string;
  readonly cluster: string;
  /** Concurrent clients, each its own connection. */
  readonly clients: number;
  /** Pause between two calls of one client (ms): bounds the history's growth. */
  readonly thinkMs: number;
  /** Report stretches without an acknowledged write at least this long (ms). */
  readonly gapMs: number;
  readonly seed: number;
  /** Stop recording after this many operations (the load goes on, on keys nobody checks). */
  readonly maxRecordedOps: number;
  /** Overall deadline of one client call, retries included (ms). */
  readonly clientDeadlineMs: number;
  /** New registers and counters this often (ms), so each key's history stays quick to check. */
  readonly generationMs: number;
  /** Give up when no write is acknowledged within this long of starting (ms). */
  readonly startTimeoutMs: number;
  /** TLS, token and ZooKeeper credentials of the clients (default: none). */
  readonly security?: ClientCredentials;
}

export interface WatchProgress {
  readonly acknowledged: number;
  readonly unknown: number;
  readonly recorded: number;
  readonly gaps: number;
  readonly longestGapMs: number;
  /** Time since the last acknowledged write. */
  readonly sinceLastWriteMs: number;
}

export interface WatchSummary {
  readonly verdict: LoadVerdict;
  readonly gaps: number;
  readonly longestGapMs: number;
  /** Keys read back for the checks. */
  readonly keysRead: number;
  /** Whether the checks passed: nothing lost, nothing applied twice, no linearizability violation. */
  readonly passed: boolean;
}

/** Stopped before the cluster acknowledged a write: no load ran, nothing to check. */
export class WatchAbortedError extends Error {
  constructor() {
    super('stopped before the cluster acknowledged a write: no load ran');
    this.name = 'WatchAbortedError';
  }
}

const PROBE_KEY = 'watch-probe';
const PROBE_RETRY_MS = 500;

export class ClusterWatch {
  private generation = 0;
  private readonly ticker: NodeJS.Timeout;

  private constructor(
    private readonly load: CheckedLoad,
    private readonly gaps: WriteGapFollower,
    generationMs: number,
  ) {
    this.ticker = setInterval(() => load.setGeneration(++this.generation), generationMs);
  }

  /**
   * Waits until the cluster acknowledges a write, then starts the load and follows its
   * write gaps. `abort` ends the wait (the load has not started then: nothing to check).
   */
  static async start(o: WatchOptions, onGap: (gap: WriteGap) => void, abort?: AbortSignal): Promise<ClusterWatch> {
    await waitWritable(o, abort);
    const load = await CheckedLoad.start({
      zk: o.zk,
      cluster: o.cluster,
      clients: o.clients,
      seed: o.seed,
      thinkMs: o.thinkMs,
      clientDeadlineMs: o.clientDeadlineMs,
      maxRecordedOps: o.maxRecordedOps,
      ...(o.security ? { security: o.security } : {}),
    });
    return new ClusterWatch(load, new WriteGapFollower(load.acks, o.gapMs, onGap), o.generationMs);
  }

  progress(): WatchProgress {
    const n = this.load.counts();
    const g = this.gaps.stats();
    return {
      acknowledged: n.acknowledged,
      unknown: n.unknown,
      recorded: n.recorded,
      gaps: g.gaps,
      longestGapMs: g.longestMs,
      sinceLastWriteMs: Math.round(this.gaps.sinceLastWriteMs()),
    };
  }

  /** Stops the clients, reads every checked key back and runs the checks. */
  async stop(): Promise<WatchSummary> {
    clearInterval(this.ticker);
    try {
      await this.gaps.stop();
      await this.load.stop();
      const keysRead = await this.load.readBack();
      const verdict = this.load.verdict();
      const g = this.gaps.stats();
      const passed = verdict.lost === 0 && verdict.duplicated === 0 && verdict.linearizability.violation === undefined;
      return { verdict, gaps: g.gaps, longestGapMs: g.longestMs, keysRead, passed };
    } finally {
      await this.load.close();
    }
  }
}

/** Until one write is acknowledged: a load started with the cluster (compose) may come up first. */
async function waitWritable(o: WatchOptions, abort?: AbortSignal): Promise<void> {
  const deadline = performance.now() + o.startTimeoutMs;
  let lastProblem = 'nothing answered';
  for (;;) {
    if (abort?.aborted) throw new WatchAbortedError();
    const left = deadline - performance.now();
    if (left <= 0) throw new TimeoutError(`no write was acknowledged within ${o.startTimeoutMs} ms of starting (last: ${lastProblem}); is the cluster ${o.cluster} at ${o.zk} running?`);
    let client: DuoraftClient | null = null;
    try {
      client = await connect({ ...o.security, zk: o.zk, cluster: o.cluster, deadlineMs: Math.max(1, Math.min(o.clientDeadlineMs, Math.round(left))), zkConnectTimeoutMs: Math.max(100, Math.min(5_000, Math.round(left))) });
      await client.put(PROBE_KEY, String(Date.now()));
      return;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
      await new Promise((resolve) => setTimeout(resolve, Math.min(PROBE_RETRY_MS, Math.max(0, deadline - performance.now()))));
    } finally {
      await client?.close().catch(() => undefined);
    }
  }
}
