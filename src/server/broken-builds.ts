// The deliberately broken builds: each brings back one safety bug that was fixed, so the
// simulator and the chaos run can show they catch it (a checker that passes a broken build
// proves nothing). Reachable only from tests: the simulator, and the test-only entry
// src/cli/broken-node.ts that the chaos harness can start instead of `duoraft node`.
import { ConfigError } from '../common/errors.js';
import type { TestFaults } from './node-config.js';

export const BROKEN_BUILDS = {
  /** Answer a write when it is handed to ZooKeeper, before the multi returns (S2). */
  'ack-before-commit': { ackBeforeCommit: true },
  /**
   * Read ZooKeeper's tail before fencing during a take-over (S3). Since issue 9 the WAL
   * mirror also refuses a tail its own chain cannot have left, which would catch the stale
   * read later; the build takes that check away too, as the code it brings back had neither.
   */
  'read-tail-before-fence': { readTailBeforeFence: true, tailWithoutSync: true },
  /** Issue 9 hole 1: replies before the WAL is durable, and heartbeat commits without the term check (S3). */
  'commit-without-term': { commitWithoutTerm: true },
  /**
   * Issue 9 hole 2 (S3): the take-over reads the tail on a new session without sync(), and
   * takes a tail below its commit index like every other (no ZooKeeper-lost-data refusal); the
   * mirror takes any tail while the epoch is unchanged. Caught under --mix stale-tail-takeover.
   */
  'tail-without-sync': { tailWithoutSync: true },
  /**
   * Issue 13: a follower pushes its listeners the entries it holds past its commit index (an
   * uncommitted suffix, which a take-over may cut). Caught by the listener checks under
   * --mix listeners.
   */
  'feed-uncommitted': { feedUncommitted: true },
} as const satisfies Record<string, TestFaults>;

export type BrokenBuild = keyof typeof BROKEN_BUILDS;

export function isBrokenBuild(name: string): name is BrokenBuild {
  return Object.hasOwn(BROKEN_BUILDS, name);
}

/** "a,b" -> the faults of those builds together. */
export function parseBrokenBuilds(list: string): TestFaults {
  let faults: TestFaults = {};
  for (const name of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (!isBrokenBuild(name)) throw new ConfigError(`unknown broken build ${JSON.stringify(name)}: one of ${Object.keys(BROKEN_BUILDS).join(', ')}`);
    faults = { ...faults, ...BROKEN_BUILDS[name] };
  }
  return faults;
}
