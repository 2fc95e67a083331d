// ZooKeeper's data over a chaos run, sampled: issue 10 wants a cluster that runs forever to
// keep what it holds in ZooKeeper under a bound (64 MiB of wal/ and snapshots/ by default)
// the whole time, and a soak to show it. Two sources, one cheap and frequent, one exact
// and rare:
//
// - `mntr` (a four-letter word: one TCP exchange, nothing on the voters' path) every
//   second: ZooKeeper's own zk_approximate_data_size (the path and data bytes of every
//   znode in the tree; the run's ZooKeeper holds nothing but this cluster) and
//   zk_znode_count. It counts more than the budget does (paths, sessions, the lease), so
//   it is an upper bound of the budgeted bytes between two exact samples.
// - inspectZk (src/coordination/zk-inspect.ts, what `duoraft zk inspect` shows) every 15 s:
//   the bytes the budget counts, and the segments and snapshots. It costs one exists() per
//   znode, which competes with the voters' commits on the same server, so it runs rarely
//   and with a short deadline.
//
// Both series are bounded: past MAX_SAMPLES, every other sample is dropped and the
// interval doubled, so a week-long soak keeps as many points as a 30-minute one.
import { performance } from 'node:perf_hooks';
import { realClock } from '../../common/real-clock.js';
import { ClusterPaths } from '../../coordination/layout.js';
import { connectZk, type NodeZkSession } from '../../coordination/zk-client.js';
import { inspectZk } from '../../coordination/zk-inspect.js';
import { defaultSnapshotPolicy } from '../../server/snapshotter.js';
import { fourLetterWord } from '../zk-four-letter.js';
import type { ZkServerAddress } from './fault-env.js';

/** The default bound on what a cluster keeps in ZooKeeper (issue 10 point 8): the node's own budget. */
export const DEFAULT_ZK_DATA_BOUND_BYTES = defaultSnapshotPolicy.zkBudgetBytes;
export const MNTR_INTERVAL_MS = 1_000;
export const INSPECT_INTERVAL_MS = 15_000;
/** Points kept per series before thinning. */
export const MAX_SAMPLES = 2_048;
const INSPECT_DEADLINE_MS = 5_000;
const MNTR_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** From mntr: t in seconds since the run started. */
export interface ZkTreeSample {
  readonly t: number;
  readonly approximateDataBytes: number;
  readonly znodes: number;
}

/** From inspectZk. */
export interface ZkBudgetSample {
  readonly t: number;
  /** wal/ and snapshots/ data bytes: what the bound counts. */
  readonly budgetBytes: number;
  readonly walSegments: number;
  readonly snapshots: number;
  /** False when inspectZk's deadline cut the count short (the rest was estimated). */
  readonly complete: boolean;
}

export interface ZkDataSummary {
  readonly boundBytes: number;
  readonly tree: readonly ZkTreeSample[];
  readonly budget: readonly ZkBudgetSample[];
  readonly maxApproximateDataBytes: number;
  readonly maxBudgetBytes: number;
  /** Samples that failed (a ZooKeeper server down or stopped, a deadline): not counted above. */
  readonly missedTree: number;
  readonly missedBudget: number;
  /** Every exact sample was under the bound (and there was at least one). */
  readonly withinBound: boolean;
}

/** A series that keeps at most `max` points: when full, every other point goes and the wanted interval doubles. */
export class ThinningSeries<T> {
  private points: T[] = [];
  private factor = 1;

  constructor(
    private readonly max: number,
    private readonly baseIntervalMs: number,
  ) {}

  get intervalMs(): number {
    return this.baseIntervalMs * this.factor;
  }

  add(point: T): void {
    this.points.push(point);
    if (this.points.length >= this.max) {
      this.points = this.points.filter((_, i) => i % 2 === 0);
      this.factor *= 2;
    }
  }

  all(): readonly T[] {
    return this.points;
  }
}

/** The numbers of a `mntr` answer ("key<TAB>value" lines); non-numeric values are left out. */
export function parseMntr(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.split('\t');
    if (key === undefined || value === undefined) continue;
    const n = Number(value.trim());
    if (value.trim() !== '' && Number.isFinite(n)) out.set(key.trim(), n);
  }
  return out;
}

export interface ZkDataSamplerOptions {
  readonly connectString: string;
  readonly cluster: string;
  /** The servers (the first live one answers mntr). */
  readonly servers: () => readonly ZkServerAddress[];
  /** performance.now() of the run's start: samples are timed from it. */
  readonly origin: number;
  readonly boundBytes: number;
  readonly mntrIntervalMs?: number;
  readonly inspectIntervalMs?: number;
}

export class ZkDataSampler {
  private readonly tree: ThinningSeries<ZkTreeSample>;
  private readonly budget: ThinningSeries<ZkBudgetSample>;
  private missedTree = 0;
  private missedBudget = 0;
  private running = true;
  private readonly loops: Promise<void>[];
  private wake: (() => void)[] = [];

  private constructor(
    private readonly o: ZkDataSamplerOptions,
    private readonly zk: NodeZkSession,
  ) {
    this.tree = new ThinningSeries(MAX_SAMPLES, o.mntrIntervalMs ?? MNTR_INTERVAL_MS);
    this.budget = new ThinningSeries(MAX_SAMPLES, o.inspectIntervalMs ?? INSPECT_INTERVAL_MS);
    this.loops = [this.loop(this.tree, () => this.sampleTree()), this.loop(this.budget, () => this.sampleBudget())];
  }

  static async start(o: ZkDataSamplerOptions): Promise<ZkDataSampler> {
    const zk = connectZk({ connectString: o.connectString });
    try {
      await zk.waitConnected(CONNECT_TIMEOUT_MS);
    } catch (err) {
      await zk.close();
      throw err;
    }
    return new ZkDataSampler(o, zk);
  }

  /** Takes one last exact sample (the end of the run counts too), stops, and summarizes. */
  async stop(): Promise<ZkDataSummary> {
    if (this.running) {
      this.running = false;
      for (const w of this.wake) w();
      await Promise.all(this.loops);
      await this.sampleBudget();
      await this.zk.close().catch(() => undefined);
    }
    return this.summary();
  }

  summary(): ZkDataSummary {
    const tree = this.tree.all();
    const budget = this.budget.all();
    const maxBudgetBytes = Math.max(0, ...budget.map((s) => s.budgetBytes));
    return {
      boundBytes: this.o.boundBytes,
      tree,
      budget,
      maxApproximateDataBytes: Math.max(0, ...tree.map((s) => s.approximateDataBytes)),
      maxBudgetBytes,
      missedTree: this.missedTree,
      missedBudget: this.missedBudget,
      withinBound: budget.length > 0 && maxBudgetBytes <= this.o.boundBytes,
    };
  }

  private async loop<T>(series: ThinningSeries<T>, sample: () => Promise<void>): Promise<void> {
    while (this.running) {
      const started = performance.now();
      await sample();
      const wait = series.intervalMs - (performance.now() - started);
      if (wait > 0 && this.running) await this.pause(wait);
    }
  }

  /** Sleeps, but wakes at once when the sampler stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = this.wake.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.push(done);
    });
  }

  private now(): number {
    return Math.round(performance.now() - this.o.origin) / 1000;
  }

  private async sampleTree(): Promise<void> {
    const server = this.o.servers().find((s) => s.live);
    if (!server) {
      this.missedTree++;
      return;
    }
    try {
      const m = parseMntr(await fourLetterWord(server.host, server.port, 'mntr', MNTR_TIMEOUT_MS));
      const bytes = m.get('zk_approximate_data_size');
      const znodes = m.get('zk_znode_count');
      if (bytes === undefined || znodes === undefined) throw new Error('mntr gave no zk_approximate_data_size');
      this.tree.add({ t: this.now(), approximateDataBytes: bytes, znodes });
    } catch {
      this.missedTree++;
    }
  }

  private async sampleBudget(): Promise<void> {
    const t = this.now();
    try {
      const u = await inspectZk(this.zk, new ClusterPaths(this.o.cluster), { clock: realClock, deadlineMs: INSPECT_DEADLINE_MS });
      this.budget.add({ t, budgetBytes: u.budgetBytes, walSegments: u.wal.segments, snapshots: u.snapshots.filter((s) => s.state === 'complete').length, complete: u.complete });
    } catch {
      this.missedBudget++;
    }
  }
}
