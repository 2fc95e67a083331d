// The commit gate on the snapshot path (fuzz finding 9): installing a snapshot sets the
// commit index to its point, so a follower takes an offer only from a leader whose term
// ZooKeeper vouched for (or whose sender mutual TLS proved). The leader offers a refused
// snapshot again a second later, not at once.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { type SnapshotPoint, zeroChain } from '../../../src/common/snapshot-point.js';
import type { SoftState } from '../../../src/core/raft.js';
import type { NodeId } from '../../../src/core/types.js';
import { defaultSnapshotPolicy, Snapshotter, type SnapshotterHost } from '../../../src/server/snapshotter.js';
import { VoterSnapshotExchange, type VoterSnapshotHost } from '../../../src/server/voter-snapshot-exchange.js';
import { SessionTable } from '../../../src/statemachine/sessions.js';
import { KvStore } from '../../../src/statemachine/kv-store.js';
import { MemorySnapshotStore } from '../../../src/storage/memory-snapshot-store.js';
import type { SnapshotOffer, SnapshotOfferReply, SnapshotRange, SnapshotTransfer, SnapshotTransferHandlers } from '../../../src/transport/snapshot-transfer.js';
import { ManualClock } from './manual-clock.js';

const point = (index: number): SnapshotPoint => ({ index, term: 3, chain: zeroChain() });
const storeAt = (index: number): KvStore => new KvStore({ data: new Map([[`k${index}`, new Uint8Array([index])]]), sessions: new SessionTable(), appliedIndex: index, lastStampMs: 0 });

/** One voter's exchange, with a transfer that records what is asked of it. */
function voter(o: { soft: SoftState; trustedTerm: number; reply?: SnapshotOfferReply }) {
  const clock = new ManualClock();
  let kv = storeAt(1);
  const installs: number[] = [];
  const snapHost: SnapshotterHost = {
    kv: () => kv,
    pointAt: point,
    compactLocal: () => Promise.resolve(),
    leaderEpochVersion: () => null,
    install: (p, store) => {
      installs.push(p.index);
      kv = store;
      return true;
    },
  };
  const storage = new MemorySnapshotStore({ cluster: 'c' });
  const snapshotter = new Snapshotter({ storage, zk: null, host: snapHost, policy: defaultSnapshotPolicy, clock, logger: silentLogger, initial: null });
  let handlers: SnapshotTransferHandlers | null = null;
  const ranges: SnapshotRange[] = [];
  const offers: SnapshotOffer[] = [];
  const transfer: SnapshotTransfer = {
    offer: (offer) => {
      offers.push(offer);
      return Promise.resolve(o.reply ?? { installed: false, index: 0, reason: 'refused' });
    },
    readRange: (_from, range) => {
      ranges.push(range);
      return Promise.reject(new Error('no ranges in this test'));
    },
    serve: (h) => {
      handlers = h;
    },
  };
  const sent: Array<number | null> = [];
  const host: VoterSnapshotHost = {
    id: o.soft.role === 'leader' ? 'a' : 'b',
    peer: () => (o.soft.role === 'leader' ? 'b' : 'a'),
    soft: () => o.soft,
    stopped: () => false,
    commitIndex: () => kv.applied(),
    vouchedFor: (term, authenticated) => authenticated || term <= o.trustedTerm,
    compactedTo: () => 0,
    snapshotSent: (_peer: NodeId, index) => sent.push(index),
  };
  const exchange = new VoterSnapshotExchange({ host, transfer, snapshotter, clock, logger: silentLogger });
  exchange.serve();
  return { clock, exchange, snapshotter, storage, installs, ranges, offers, sent, handlers: () => handlers! };
}

const offerOf = (index: number): SnapshotOffer => ({ from: 'a', to: 'b', term: 3, point: point(index), sizeBytes: 100, sha256: '00' });

describe('the commit gate on snapshot offers', () => {
  it('a follower refuses an offer of a term ZooKeeper has not vouched for, before pulling anything', async () => {
    const b = voter({ soft: { role: 'follower', term: 3, leaderId: 'a' }, trustedTerm: 2 });
    const r = await b.handlers().onOffer(offerOf(50), false);
    expect(r).toMatchObject({ installed: false, index: 1 });
    expect(r.reason).toMatch(/term 3 is not vouched for by ZooKeeper's epoch here yet/);
    expect(b.ranges).toEqual([]);
    expect(b.installs).toEqual([]);
  });

  it('the same offer is pulled once the term is vouched for, or at once from a sender proven by TLS', async () => {
    // The pull's first range read is all this needs (the test's transfer fails it, and the
    // retry waits on a clock that does not move).
    const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
    const vouched = voter({ soft: { role: 'follower', term: 3, leaderId: 'a' }, trustedTerm: 3 });
    void vouched.handlers().onOffer(offerOf(50), false);
    await settle();
    expect(vouched.ranges.length).toBeGreaterThan(0);
    const tls = voter({ soft: { role: 'follower', term: 3, leaderId: 'a' }, trustedTerm: 2 });
    void tls.handlers().onOffer(offerOf(50), true);
    await settle();
    expect(tls.ranges.length).toBeGreaterThan(0);
  });

  it('the leader offers a refused snapshot again after a second, not at once', async () => {
    const a = voter({ soft: { role: 'leader', term: 3, leaderId: 'a' }, trustedTerm: 3 });
    await a.snapshotter.takeNow();
    a.exchange.offer('b');
    await Promise.resolve();
    await Promise.resolve();
    expect(a.offers).toHaveLength(1);
    expect(a.sent).toEqual([]);
    a.clock.run(999, 1);
    expect(a.sent).toEqual([]);
    a.clock.run(1001, 1);
    expect(a.sent).toEqual([null]);
  });
});
