// What a voter offers its listeners: its committed entries, while it does not lead. A
// leader feeds no one (its event loop belongs to the ZooKeeper commit path). A follower that
// suspects its leader (pre-candidate, candidate) goes on feeding: what it holds up to its
// commit index stays committed whatever the outcome, and on a loaded machine it suspects
// often without taking over; if it does take over, it drops its listeners as leader.
import type { ChainedEntry } from '../../core/types.js';
import type { NodeDriver } from '../node-driver.js';
import type { TestFaults } from '../node-config.js';
import type { FeedSource } from './feeder.js';

export function voterFeedSource(driver: NodeDriver, genesis: Uint8Array, faults: Pick<TestFaults, 'feedUncommitted'> = {}): FeedSource {
  const entry = (index: number): ChainedEntry | undefined => {
    const e = driver.inspect().entryAt(index);
    return e?.chain ? { index: e.index, term: e.term, type: e.type, data: e.data, chain: e.chain } : undefined;
  };
  return {
    cannotFeed: () => {
      const f = driver.figures();
      if (f.stopped) return 'stopped';
      if (f.role === 'leader') return 'it leads';
      return null;
    },
    depth: () => 0,
    path: () => [],
    committedIndex: () => {
      const i = driver.inspect();
      // TEST-ONLY FAULT feedUncommitted (the broken build feed-uncommitted): everything held.
      if (faults.feedUncommitted) return driver.figures().lastIndex;
      return Math.min(i.commitIndex, driver.figures().lastIndex);
    },
    entryAt: entry,
    chainAt: (index) => (index === 0 ? genesis : entry(index)?.chain),
  };
}
