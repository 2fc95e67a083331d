// The node driver's wiring on its own (node-driver-wiring.ts), without a running node: a
// local log that resumes past what the state machine starts from is refused before any part
// exists (none subscribed to the ZooKeeper session, the WAL untouched), and the parts it
// builds reach the transport and the driver's loop (here: the leader hint clients get).
import { describe, expect, it } from 'vitest';
import { CorruptWalError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import type { ZkConnectionState } from '../../../src/coordination/zk-api.js';
import type { SoftState } from '../../../src/core/raft.js';
import { SeededRandom } from '../../../src/core/random.js';
import { EntryType, type Entry } from '../../../src/core/types.js';
import { defaultLimits, defaultTiming, type NodeConfig } from '../../../src/server/node-config.js';
import { type DriverLoop, wireNodeDriver } from '../../../src/server/node-driver-wiring.js';
import type { WalRecovery } from '../../../src/storage/local-wal.js';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import type { PeerTransport } from '../../../src/transport/transport.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';
import { ManualClock } from './manual-clock.js';

const config: NodeConfig = { id: 'a', cluster: 't', advertise: 'a:1', voters: ['a', 'b'], timing: defaultTiming, limits: defaultLimits };
const paths = new ClusterPaths('t');
const identity = { cluster: 't', clusterId: 'c1', createdAtMs: 0 };

/** A session that counts who listens to its state. */
class CountingZk extends ScriptedZk {
  subscribers = 0;
  override onStateChange(listener: (state: ZkConnectionState) => void): () => void {
    this.subscribers++;
    return super.onStateChange(listener);
  }
}

/** A transport that records where the wiring told it peers are; nothing is sent here. */
function recordingTransport(addresses: string[]): PeerTransport {
  return {
    send: () => undefined,
    setHandler: () => undefined,
    setPeerAddress: (id, address) => void addresses.push(`${id}=${address}`),
    onPeerDisconnected: () => undefined,
    close: () => Promise.resolve(),
  };
}

const entry = (index: number): Entry => ({ index, term: 1, type: EntryType.Normal, data: new Uint8Array() });

function loopWith(soft: SoftState, scheduled: { count: number }): DriverLoop {
  return {
    soft: () => soft,
    stopped: () => false,
    schedule: () => void scheduled.count++,
    catchUpTicks: () => undefined,
    onTickTimer: () => undefined,
    hint: () => ({ leaderId: 'b', leaderAddress: 'b:1' }),
    confirmLeadership: () => Promise.resolve(),
    waitForRoleChange: () => Promise.resolve(),
    knownCluster: () => {
      throw new Error('no take-over here');
    },
    fail: () => undefined,
    fenced: () => undefined,
    watches: () => null,
  };
}

function depsWith(recovery: WalRecovery, zk: CountingZk, wal: MemoryWal, addresses: string[]) {
  return { config, clock: new ManualClock(), random: new SeededRandom(1), logger: silentLogger, zk, transport: recordingTransport(addresses), wal, recovery };
}

describe('wireNodeDriver', () => {
  it('refuses a local log that resumes past index 1 before any part subscribes to the session', () => {
    const zk = new CountingZk();
    const wal = new MemoryWal();
    const truncated: number[] = [];
    wal.truncateFrom = (from) => void truncated.push(from);
    const recovery: WalRecovery = { hardState: null, entries: [entry(3), entry(4)], warnings: [] };
    const scheduled = { count: 0 };
    const wire = () => wireNodeDriver(depsWith(recovery, zk, wal, []), ['a', 'b'], identity, paths, loopWith({ role: 'follower', term: 0, leaderId: '' }, scheduled));
    expect(wire).toThrow(CorruptWalError);
    expect(wire).toThrow(/resumes at index 3, but the snapshot it starts from covers only up to 0/);
    expect(zk.subscribers).toBe(0);
    expect(truncated).toEqual([]);
  });

  it('builds the parts from the recovered log, and client calls get the leader hint from the loop', async () => {
    const zk = new CountingZk();
    const wal = new MemoryWal();
    const recovery: WalRecovery = { hardState: { term: 4, commit: 0 }, entries: [entry(1), entry(2)], warnings: [] };
    const scheduled = { count: 0 };
    const loopSoft: SoftState = { role: 'leader', term: 9, leaderId: 'a' };
    const addresses: string[] = [];
    const parts = wireNodeDriver(depsWith(recovery, zk, wal, addresses), ['a', 'b'], identity, paths, loopWith(loopSoft, scheduled));
    // The core starts from the recovered log and term; `soft` is its role as built.
    expect(parts.core.status().lastIndex).toBe(2);
    expect(parts.soft).toEqual(parts.core.softState());
    expect(parts.soft.term).toBe(4);
    // The member znode's keeper is the one part that listens to the session.
    expect(zk.subscribers).toBe(1);
    // The peer comes from the voters; a peer member seen reaches the transport.
    expect(parts.voterConfig.peer()).toBe('b');
    parts.voterConfig.onPeerMember('b', 'b:2');
    expect(addresses).toEqual(['b=b:2']);
    // A write on a node with no leader term under way is refused with the loop's leader hint.
    await expect(parts.api.submit({ kind: 'put', key: 'k', value: new Uint8Array() })).rejects.toMatchObject({ code: 'NOT_LEADER', leaderId: 'b', leaderAddress: 'b:1' });
  });
});
