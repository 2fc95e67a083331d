// What a listener must never do, and must do once healed (PROTOCOL.md section 9, issue 13),
// checked while a simulation runs:
//   L1  a listener never writes to ZooKeeper anything but its own member znode and its
//       entry in `config`: never epoch, lease, leader, tail or the log (it never fences,
//       never leads); checked on every write it sends, before ZooKeeper sees it;
//   L2  nothing names a listener as leader or voter: the epoch, the lease, the leader znode,
//       and each voter's peer (a voter that counted a listener would send it votes);
//   L3  every entry a listener applies is ZooKeeper's committed entry at that index, and
//       ZooKeeper held it when the listener applied it (never an uncommitted one);
// and at the end (after the healed phase):
//   L4  every running listener has caught up with ZooKeeper's log (its tail) and its state
//       machine equals ZooKeeper's log replayed up to there.
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { decodeEpoch, decodeLeader, decodeLease } from '../../../src/coordination/records.js';
import type { Entry } from '../../../src/core/types.js';
import type { ZkModel } from '../zk-model.js';
import type { ZkLogView } from './invariants.js';
import { canonicalState, firstDifference, type ReferenceStates } from './reference-states.js';
import type { SimListener } from './sim-listener.js';
import type { SimNode } from './sim-node.js';

function sameEntry(a: Entry, b: Entry): boolean {
  if (a.index !== b.index || a.term !== b.term || a.type !== b.type || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

export class ListenerInvariants {
  private readonly paths: ClusterPaths;
  private readonly checkedUpTo = new Map<string, number>();
  private lastZxid = -1n;
  /** Entries the listeners applied and this checker compared with ZooKeeper's (a check that never runs proves nothing). */
  entriesChecked = 0;
  /** Runs in which a listener was seen fed by a voter, by a listener, by ZooKeeper (0 or 1 each). */
  readonly fedBy = { voter: 0, listener: 0, zookeeper: 0 };

  constructor(
    private readonly model: ZkModel,
    cluster: string,
    private readonly zk: ZkLogView,
    private readonly reference: ReferenceStates,
    private readonly ids: ReadonlySet<string>,
    private readonly fail: (message: string) => void,
  ) {
    this.paths = new ClusterPaths(cluster);
  }

  /** L1: called with the paths of every write a listener sends (`who` is its incarnation). */
  zkWrite(who: string, paths: readonly string[]): void {
    const id = who.slice(0, who.indexOf('#'));
    for (const p of paths) {
      if (p === this.paths.member(id) || p === this.paths.config) continue;
      this.fail(`L1: listener ${who} wrote ${p} to ZooKeeper (a listener writes only its member znode and config)`);
    }
  }

  step(listeners: readonly SimListener[], voters: readonly SimNode[], now: number): void {
    // L2, when ZooKeeper changed.
    const zxid = this.model.lastZxid();
    if (zxid !== this.lastZxid) {
      this.lastZxid = zxid;
      const epoch = this.model.dataOf(this.paths.epoch);
      const lease = this.model.dataOf(this.paths.lease);
      const leader = this.model.dataOf(this.paths.leader);
      const named = [
        epoch ? ['epoch', decodeEpoch(this.paths.epoch, epoch).leaderId] : null,
        lease ? ['lease', decodeLease(this.paths.lease, lease).leaderId] : null,
        leader ? ['leader znode', decodeLeader(this.paths.leader, leader).id] : null,
      ];
      for (const n of named) if (n && this.ids.has(n[1]!)) this.fail(`L2: the ${n[0]} names listener ${n[1]} (t=${now})`);
    }
    for (const v of voters) {
      const peer = v.driver && v.state !== 'down' ? v.driver.peerId() : '';
      if (this.ids.has(peer)) this.fail(`L2: voter ${v.id} has listener ${peer} as its peer (t=${now})`);
    }
    // L3
    for (const l of listeners) {
      const parts = l.parts;
      if (!parts || l.state === 'down') continue;
      const up = l.upstream();
      if (up === 'zookeeper') this.fedBy.zookeeper = 1;
      else if (this.ids.has(up)) this.fedBy.listener = 1;
      else if (up !== '') this.fedBy.voter = 1;
      const applied = parts.log.applied();
      let from = this.checkedUpTo.get(l.id) ?? 0;
      if (applied < from) from = applied; // restarted with less
      if (applied === from) continue;
      this.zk.refresh([]);
      for (let i = from + 1; i <= applied; i++) {
        const mine = parts.log.entryAt(i);
        if (!mine) continue; // a snapshot installed past it (P1 checks what it loaded)
        const theirs = this.zk.entry(i);
        this.entriesChecked++;
        if (!theirs) this.fail(`L3: listener ${l.id} (${l.sessionName}) applied index ${i}, which ZooKeeper does not hold: an uncommitted entry (t=${now})`);
        else if (!sameEntry(mine, theirs)) this.fail(`L3: listener ${l.id} (${l.sessionName}) applied another entry at index ${i} than ZooKeeper's (term ${mine.term} vs ${theirs.term}) (t=${now})`);
      }
      this.checkedUpTo.set(l.id, applied);
    }
  }

  /** Whether every running listener has applied ZooKeeper's whole log (`tail`). */
  caughtUp(listeners: readonly SimListener[], tail: number): boolean {
    return listeners.every((l) => l.state === 'up' && l.parts !== null && l.parts.log.applied() >= tail);
  }

  /** L4, at the end. */
  final(listeners: readonly SimListener[], tail: number): void {
    for (const l of listeners) {
      const parts = l.parts;
      if (!parts || l.state !== 'up') {
        this.fail(`L4: listener ${l.id} is ${l.state} after the healed phase`);
        continue;
      }
      const applied = parts.log.applied();
      if (applied < tail) {
        this.fail(`L4: listener ${l.id} applied ${applied}, behind ZooKeeper's tail ${tail} after the healed phase (fed by ${l.upstream() || 'nobody'})`);
        continue;
      }
      const reference = this.reference.at(applied);
      const mine = canonicalState(parts.log.store());
      if (reference === null) this.fail(`L4: listener ${l.id} applied ${applied}, past ZooKeeper's log`);
      else if (mine !== reference) this.fail(`L4: listener ${l.id}'s state machine differs from ZooKeeper's log replayed up to ${applied}, ${firstDifference(mine, reference)}`);
    }
  }
}
