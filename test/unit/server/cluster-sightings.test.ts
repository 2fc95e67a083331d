// What the watches last saw (cluster-sightings.ts): the leader hint clients get (the core's
// leader first, else the leader znode's, with the best address known), and what a fence may
// take as known.
import { describe, expect, it } from 'vitest';
import { ClusterSightings } from '../../../src/server/cluster-sightings.js';

describe('ClusterSightings', () => {
  it("hints the core's leader with the address its member znode published, else the leader znode's", () => {
    const s = new ClusterSightings('b', 'b:7002');
    expect(s.hint('')).toEqual({ leaderId: '', leaderAddress: '' });
    expect(s.hint('b')).toEqual({ leaderId: 'b', leaderAddress: 'b:7002' });
    // The core names a leader whose address nobody published yet.
    expect(s.hint('a')).toEqual({ leaderId: 'a', leaderAddress: '' });
    s.sawMember('a', 'a:7001');
    expect(s.hint('a')).toEqual({ leaderId: 'a', leaderAddress: 'a:7001' });
  });

  it('falls back to the leader znode, and remembers its address', () => {
    const s = new ClusterSightings('b', 'b:7002');
    expect(s.sawLeaderZnode({ id: 'a', term: 3, address: 'a:9001' })).toBeNull();
    expect(s.hint('')).toEqual({ leaderId: 'a', leaderAddress: 'a:9001' });
    // The address stays known after the znode went.
    expect(s.sawLeaderZnode(null)).toEqual({ id: 'a', address: 'a:9001' });
    expect(s.hint('')).toEqual({ leaderId: '', leaderAddress: '' });
    expect(s.hint('a')).toEqual({ leaderId: 'a', leaderAddress: 'a:9001' });
  });

  it('tells a fence the epoch and whether the leader znode exists, as last seen', () => {
    const s = new ClusterSightings('b', 'b:7002');
    expect(s.known(null)).toEqual({ epoch: null, leaderZnodeExists: true, config: null });
    s.sawEpoch({ term: 4, leaderId: 'a', version: 7 });
    s.sawLeaderZnode(null);
    expect(s.epoch).toEqual({ term: 4, leaderId: 'a', version: 7 });
    expect(s.known(null)).toEqual({ epoch: { term: 4, leaderId: 'a', version: 7 }, leaderZnodeExists: false, config: null });
  });
});
