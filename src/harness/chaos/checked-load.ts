// The recorded load of a chaos run, usable on its own: N clients (each its own connection,
// sessions on) running the op mix on fresh keys per generation, every call recorded; at the
// end one linearizable read of every key the checks need, then the checks (lost,
// duplicated, linearizable). The chaos run and the network-namespace tests both use it.
import { connect, type ConnectOptions, type DuoraftClient } from '../../client/client.js';
import { AckTracker } from './ack-tracker.js';
import { ChaosClient } from './chaos-client.js';
import { checkHistory, countLost, type DuplicatedCounter, findDuplicated, type LinearizabilityOutcome, type LostDetail } from './checks.js';
import { type FinalReads, readFinalState } from './final-reads.js';
import { OpChooser, type OpSpace, UNCHECKED_PREFIX } from './op-mix.js';
import { HistoryRecorder, type OpCounts } from './recorder.js';
import { RetryObserver } from './retry-observer.js';
import { withTimeout } from './time.js';

export interface CheckedLoadOptions {
  readonly zk: string;
  readonly cluster: string;
  readonly clients: number;
  readonly seed: number;
  readonly thinkMs: number;
  readonly clientDeadlineMs: number;
  readonly maxRecordedOps: number;
  /** TLS, token and ZooKeeper credentials for every connection (default: none). */
  readonly security?: ClientCredentials;
}

/** How the load's clients authenticate: what a client command passes to connect(). */
export type ClientCredentials = Pick<ConnectOptions, 'tls' | 'token' | 'zkAuth'>;

export interface LoadVerdict {
  readonly ops: OpCounts;
  readonly lost: number;
  readonly lostDetail: LostDetail;
  readonly duplicated: number;
  readonly duplicatedCounters: readonly DuplicatedCounter[];
  readonly linearizability: LinearizabilityOutcome;
  readonly unreadableKeys: readonly string[];
}

export class CheckedLoad {
  readonly recorder: HistoryRecorder;
  readonly acks = new AckTracker();
  private readonly clients: ChaosClient[] = [];
  private generation = 0;
  private finals: FinalReads = { values: new Map(), unreadable: [] };
  private verifier: DuoraftClient | null = null;

  private constructor(private readonly o: CheckedLoadOptions) {
    this.recorder = new HistoryRecorder(o.maxRecordedOps);
  }

  /** Connects the clients and starts them. */
  static async start(o: CheckedLoadOptions): Promise<CheckedLoad> {
    const load = new CheckedLoad(o);
    try {
      for (let id = 0; id < o.clients; id++) {
        const retries = new RetryObserver();
        const client = await connect({ ...o.security, zk: o.zk, cluster: o.cluster, deadlineMs: o.clientDeadlineMs, logger: retries.logger });
        load.clients.push(
          new ChaosClient({
            id,
            client,
            retries,
            chooser: new OpChooser(o.seed, id),
            recorder: load.recorder,
            acks: load.acks,
            generation: () => load.generation,
            thinkMs: o.thinkMs,
          }),
        );
      }
    } catch (err) {
      await load.close();
      throw err;
    }
    for (const c of load.clients) c.start();
    return load;
  }

  /** Calls made from now on use fresh registers and counters (one generation per fault). */
  setGeneration(g: number): void {
    this.generation = g;
  }

  counts(): OpCounts {
    return this.recorder.counts();
  }

  /** Stops the clients after their calls in flight (bounded by their deadline). */
  async stop(): Promise<void> {
    const bound = this.o.clientDeadlineMs + 10_000;
    await withTimeout(Promise.all(this.clients.map((c) => c.stop())), bound, `the clients did not finish their last calls within ${bound} ms`);
  }

  /** One linearizable read of every key the checks need (after stop(), with the cluster whole). */
  async readBack(): Promise<number> {
    this.verifier ??= await connect({ ...this.o.security, zk: this.o.zk, cluster: this.o.cluster, deadlineMs: this.o.clientDeadlineMs });
    const keys = finalKeys(this.recorder);
    this.finals = await readFinalState(this.verifier, this.recorder, keys, this.o.clients);
    return keys.length;
  }

  /** What readBack() read: key -> value (null: absent); the listeners' final state is compared with it. */
  finalValues(): ReadonlyMap<string, string | null> {
    return this.finals.values;
  }

  /** The checks; CPU-bound, best run with the cluster stopped. */
  verdict(): LoadVerdict {
    const linearizability = checkHistory(this.recorder.history());
    const lostDetail = countLost(this.recorder.acknowledgedOnceKeys(), this.recorder.counterTallies(), this.finals.values);
    const duplicatedCounters = findDuplicated(this.recorder.counterTallies(), this.finals.values);
    return {
      ops: this.recorder.counts(),
      lost: lostDetail.writeOnceKeys + lostDetail.counterIncrements,
      lostDetail,
      duplicated: duplicatedCounters.reduce((sum, d) => sum + (d.final - d.acknowledged - d.unknown), 0),
      duplicatedCounters,
      linearizability,
      unreadableKeys: this.finals.unreadable.map((u) => u.key),
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.clients.map((c) => c.close()));
    await this.verifier?.close().catch(() => undefined);
    this.verifier = null;
  }
}

/** Every key a check needs: acknowledged write-once keys, all counters and registers. */
function finalKeys(recorder: HistoryRecorder): Array<{ key: string; space: OpSpace; inHistory: boolean }> {
  return [
    // Keys written after the history cap carry the unchecked prefix (op-mix.ts).
    ...[...recorder.acknowledgedOnceKeys().keys()].map((key) => ({ key, space: 'once' as const, inHistory: !key.startsWith(UNCHECKED_PREFIX) })),
    ...[...recorder.counterTallies().keys()].map((key) => ({ key, space: 'counter' as const, inHistory: true })),
    ...recorder.registerKeys().map((key) => ({ key, space: 'register' as const, inHistory: true })),
  ];
}
