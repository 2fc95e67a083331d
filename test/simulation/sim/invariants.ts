// The properties of PROTOCOL.md section 2, checked while a simulation runs:
//   S1  at most one leader per term;
//   S2  an acknowledged write is in ZooKeeper (at its index, with its session and sequence);
//   S3  ZooKeeper's log is gapless, and every entry a node holds at or below its commit
//       index is ZooKeeper's entry at that index; every state machine applies that prefix.
// S4 (linearizability) and S5 (exactly-once) are checked on the history at the end;
// what snapshots make checkable (P1-P3) in snapshot-invariants.ts.
// Liveness, after every event too: a leader holding its lease has its leader znode
// (leader-znode-liveness.ts).
import { ClusterPaths, parseSegmentName } from '../../../src/coordination/layout.js';
import { decodeSegment, decodeTail } from '../../../src/coordination/records.js';
import type { Entry } from '../../../src/core/types.js';
import type { NodeDriver } from '../../../src/server/node-driver.js';
import { decodeCommand } from '../../../src/statemachine/command.js';
import type { ZkModel } from '../zk-model.js';
import { LeaderZnodeLiveness } from './leader-znode-liveness.js';
import type { AckRecord } from './sim-client.js';
import type { SimNode } from './sim-node.js';
import { canonicalState, firstDifference } from './reference-states.js';
import { SnapshotInvariants } from './snapshot-invariants.js';

/** ZooKeeper's log as the model holds it, parsed once per segment znode. */
export class ZkLogView {
  private readonly paths: ClusterPaths;
  private readonly parsed = new Set<string>();
  private readonly entries = new Map<number, Entry>();
  private lastIndex_ = 0;

  constructor(
    private readonly model: ZkModel,
    cluster: string,
  ) {
    this.paths = new ClusterPaths(cluster);
  }

  /**
   * Reads the segments written since the last look by following the chain: the next
   * segment starts right after the last index known (each multi creates one, chained on
   * the tail). O(new segments), so it can run after every event. A segment off the
   * chain (a gap, an overlap) is found by fullScan() at the end.
   */
  refresh(problems: string[]): void {
    for (;;) {
      const path = this.paths.segment(this.lastIndex_ + 1);
      const data = this.model.dataOf(path);
      if (data === null) return;
      if (!this.add(path, data, problems)) return;
    }
  }

  /** Reads every segment znode (once, at the end): catches segments off the chain. */
  fullScan(problems: string[]): void {
    for (const name of this.model.childrenOf(this.paths.wal) ?? []) {
      if (parseSegmentName(name) === null) continue;
      const path = `${this.paths.wal}/${name}`;
      const data = this.model.dataOf(path);
      if (data !== null && !this.parsed.has(path)) this.add(path, data, problems);
    }
  }

  private add(path: string, data: Uint8Array, problems: string[]): boolean {
    this.parsed.add(path);
    try {
      const entries = decodeSegment(path, data).entries;
      for (const e of entries) {
        if (this.entries.has(e.index)) problems.push(`S3: index ${e.index} is in two segments (${path})`);
        this.entries.set(e.index, e);
        if (e.index > this.lastIndex_) this.lastIndex_ = e.index;
      }
      return entries.length > 0;
    } catch (err) {
      problems.push(`S3: segment ${path} does not decode: ${(err as Error).message}`);
      return false;
    }
  }

  entry(index: number): Entry | undefined {
    return this.entries.get(index);
  }

  /** The last index of ZooKeeper's log the checker has read. */
  lastIndex(): number {
    return this.lastIndex_;
  }

  /** The tail znode's last index (0 when absent). */
  tail(): number {
    const data = this.model.dataOf(this.paths.tail);
    return data ? decodeTail(this.paths.tail, data).lastIndex : 0;
  }

  size(): number {
    return this.entries.size;
  }
}

function sameEntry(a: Entry, b: Entry): boolean {
  if (a.index !== b.index || a.term !== b.term || a.type !== b.type || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** What a running node shows (NodeDriver.inspect()), read once per event for every check. */
export type NodeView = ReturnType<NodeDriver['inspect']>;

export class InvariantChecker {
  readonly violations: string[] = [];
  private readonly leaderOfTerm = new Map<number, string>();
  private readonly checkedUpTo = new Map<string, number>();
  private acksChecked = 0;
  readonly zk: ZkLogView;
  private readonly leaderZnode: LeaderZnodeLiveness;
  /** P1-P3 (snapshot-invariants.ts); the simulated nodes tell it what they load and save. */
  readonly snapshots: SnapshotInvariants;

  constructor(model: ZkModel, cluster: string, now: () => number) {
    this.zk = new ZkLogView(model, cluster);
    this.leaderZnode = new LeaderZnodeLiveness(model, cluster);
    this.snapshots = new SnapshotInvariants(this.zk, model, cluster, (m) => this.fail(m), now);
  }

  /** Checks S1 and S3 on every running node, S2 on new acknowledgements, and the leader znode's liveness. */
  step(nodes: readonly SimNode[], acks: readonly AckRecord[], now: number): void {
    const views = nodes.map((n) => (n.driver && n.state !== 'down' ? n.driver.inspect() : null));
    this.leaderZnode.step(nodes, views, now, (message) => this.fail(message));
    for (let k = 0; k < nodes.length; k++) {
      const n = nodes[k]!;
      const v = views[k];
      if (!v) continue;
      // S1
      if (v.softState.role === 'leader') {
        const other = this.leaderOfTerm.get(v.softState.term);
        if (other === undefined) this.leaderOfTerm.set(v.softState.term, n.id);
        else if (other !== n.id) this.fail(`S1: ${other} and ${n.id} both led term ${v.softState.term} (t=${now})`);
      }
      // S3: every newly committed entry matches ZooKeeper's.
      const commit = v.commitIndex;
      let from = this.checkedUpTo.get(n.id) ?? 0;
      if (commit < from) from = commit; // a restarted node starts over
      if (commit > from) {
        this.zk.refresh(this.violations);
        for (let i = from + 1; i <= commit; i++) {
          const mine = v.entryAt(i);
          if (!mine) continue; // compacted away (or not kept in memory)
          const theirs = this.zk.entry(i);
          const who = `${n.id} (${v.softState.role} of term ${v.softState.term}, incarnation ${n.sessionName})`;
          if (!theirs) this.fail(`S3: ${who} committed index ${i} that ZooKeeper does not hold (t=${now})`);
          else if (!sameEntry(mine, theirs)) this.fail(`S3: ${who} holds a different entry at committed index ${i} (term ${mine.term} vs ZooKeeper's ${theirs.term}) (t=${now})`);
        }
        this.checkedUpTo.set(n.id, commit);
      }
      if (v.appliedIndex > commit) this.fail(`S3: ${n.id} applied ${v.appliedIndex} beyond its commit ${commit}`);
    }
    // S2: acknowledged writes are in ZooKeeper, at their index, with their session and sequence.
    if (acks.length > this.acksChecked) {
      this.zk.refresh(this.violations);
      for (; this.acksChecked < acks.length; this.acksChecked++) {
        const a = acks[this.acksChecked]!;
        const e = this.zk.entry(a.index);
        const cmd = e ? decodeCommand(e.data) : null;
        // The entry acknowledged is the one proposed for that attempt (a retry answered with
        // an earlier result still proposed its own copy, with the same session and sequence).
        if (!e || !cmd) this.fail(`S2: a write acknowledged at index ${a.index} (t=${a.at}) is not in ZooKeeper`);
        else if (!cmd.ctx || cmd.ctx.sessionId !== a.sessionId || cmd.ctx.sequence !== a.sequence) {
          this.fail(`S2: index ${a.index} holds another write than the one acknowledged there (t=${a.at})`);
        }
      }
    }
  }

  /**
   * At the end, with everything settled: ZooKeeper's log is gapless; every node's state
   * machine (keys, sessions, remembered results) equals ZooKeeper's log replayed up to
   * the index it applied; and the leader has applied every acknowledged write (so each
   * is in its state, whatever was compacted, wiped and rebuilt on the way).
   */
  final(nodes: readonly SimNode[], acks: readonly AckRecord[]): void {
    this.zk.refresh(this.violations);
    this.zk.fullScan(this.violations);
    const tail = this.zk.tail();
    for (let i = 1; i <= tail; i++) if (!this.zk.entry(i)) this.fail(`S3: ZooKeeper's log has a gap at ${i} (tail ${tail})`);
    for (const n of nodes) {
      const d = n.driver;
      if (!d || n.state === 'down') continue;
      const { kv, softState } = d.inspect();
      const reference = this.snapshots.reference.at(kv.applied());
      const mine = canonicalState(kv);
      if (reference === null) this.fail(`S3: ${n.id} applied ${kv.applied()}, past ZooKeeper's log (tail ${tail})`);
      else if (mine !== reference) this.fail(`S3: ${n.id}'s state machine differs from ZooKeeper's log replayed up to ${kv.applied()}, ${firstDifference(mine, reference)}`);
      if (softState.role === 'leader') {
        const missing = acks.find((a) => a.index > kv.applied());
        if (missing) this.fail(`S2: the leader ${n.id} at the end has applied ${kv.applied()}, not the write acknowledged at index ${missing.index} (t=${missing.at})`);
      }
    }
  }

  private fail(message: string): void {
    if (this.violations.length < 20) this.violations.push(message);
  }
}
