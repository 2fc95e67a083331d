import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { SeededRandom } from './src/core/random.js';

// The integration files that take longest, longest first (measured: notes/results.md,
// twelfth session). With two files at a time, a long file started late sets the tier's end:
// without a record of earlier runs (a fresh checkout, as in CI) vitest orders files by size,
// which put the chaos run nineteenth of 39.
const LONGEST_FIRST = [
  'test/integration/chaos.test.ts',
  'test/integration/snapshots.test.ts',
  'test/integration/chaos-short.test.ts',
  'test/integration/zk-budget.test.ts',
  'test/integration/snapshot-integrity.test.ts',
  'test/integration/listeners.test.ts',
  'test/integration/client-protocol.test.ts',
  'test/integration/zk-ensemble-chaos.test.ts',
  'test/integration/cli-config.test.ts',
];

/** Fisher-Yates with the project's seeded generator: the same seed, the same order. */
function seededShuffle<T>(items: T[], seed: number): T[] {
  const random = new SeededRandom(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // A configured sequencer replaces vitest's shuffling one: --sequence.shuffle (used to
    // show the unit tier holds no state across files) shuffles the files here, by its seed,
    // from an order that depends on nothing else (not vitest's cache of earlier runs), so a
    // seed names one order. Only the plain flag: vitest folds --sequence.shuffle.files into
    // the choice of sequencer, which this one replaces.
    const { shuffle, seed } = this.ctx.config.sequence;
    if (shuffle) {
      const key = (f: TestSpecification): string => `${f.project.name}\u0000${f.moduleId}`;
      return seededShuffle([...files].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)), seed ?? Date.now());
    }
    const rank = (f: TestSpecification): number => {
      const i = LONGEST_FIRST.findIndex((name) => f.moduleId.endsWith(name));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the other files keep vitest's own order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

// Integration files whose assertions depend on timing or on the network namespaces: a
// bound on how fast something is noticed (zk-client, transport), at most one change of
// leader and acknowledged writes in every second of a cut (cluster-faults), no false
// failover under latency and loss (netns-*), a cut timed inside a namespace
// (netns-zk-resend). They run one file at a time, after the others, with the machine to
// themselves. The namespace files also share the host's nftables and bridge names.
const INTEGRATION_ALONE = [
  'test/integration/netns-*.test.ts',
  'test/integration/bench-keep-logs.test.ts',
  'test/integration/cluster-faults.test.ts',
  'test/integration/zk-client.test.ts',
  'test/integration/transport.test.ts',
];

// Four groups. unit and simulation are CPU-bound and deterministic. integration starts real
// ZooKeeper servers and node processes and asserts outcomes (nothing lost, nothing applied
// twice, linearizable, an answer and its code), never a tight timing (the few bounds it has,
// such as a command ending within 15 s, say only that it ended): its files run two at a
// time, since much of their time is spent waiting on processes, sessions and faults.
// integration-alone holds the files above. `npm test` runs each group after the one before.
export default defineConfig({
  test: {
    allowOnly: false,
    sequence: { sequencer: LongestFirst },
    // Both cores: the simulation seeds are split over four files so that two run at once.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // The unit files share one module graph per worker rather than each importing it
          // afresh: 56 s -> 17 s for the tier, most of it vitest's per-file import. They hold
          // no state across files (the tier passes shuffled: --sequence.shuffle).
          isolate: false,
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'simulation',
          include: ['test/simulation/**/*.test.ts'],
          testTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: INTEGRATION_ALONE,
          testTimeout: 120_000,
          hookTimeout: 90_000,
        },
      },
      {
        test: {
          name: 'integration-alone',
          include: INTEGRATION_ALONE,
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
