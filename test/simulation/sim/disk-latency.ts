// How long one fsync takes on a simulated disk: a heavy-tailed distribution, as measured
// on real disks and cloud volumes (most syncs take a few milliseconds, a few take tens,
// a rare one hundreds, under a queue of other writes, a journal commit or a throttled
// volume). A Pareto tail with alpha = 1 from 1 ms, capped at 300 ms: P(latency >= k ms)
// is about 1/k, so
//   about 80 % of syncs take 1-4 ms, 10 % take 10 ms or more, 2.5 % 40 ms or more,
//   1 % 100 ms or more, and 1 in 300 hits the 300 ms cap.
// Drawn from the run's seeded PRNG: a seed replays the same latencies.
import type { SeededRandom } from '../../../src/core/random.js';

export const FSYNC_MAX_MS = 300;

export function fsyncLatencyMs(random: SeededRandom): number {
  // 1 - nextFloat() is in (0, 1]: never a division by zero.
  const u = 1 - random.nextFloat();
  return Math.min(FSYNC_MAX_MS, Math.floor(1 / u));
}
