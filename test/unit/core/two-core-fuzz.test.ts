// Review of issue 9 (hole 1): two real cores against a harsh little world, checking S3
// after every step. Written to attack leaderMatch, commitTerm, forgetMatch and the
// durable-reply rule (R1) directly, without the driver:
// - each node's WAL keeps only what a sync made durable (and syncs come late and partial);
//   a crash restarts the core from exactly that;
// - replies (appendReply, heartbeatReply) leave only once the WAL holds everything written
//   before them, like WalSync.afterDurable; other messages leave at once;
// - the network delays, reorders, duplicates and drops; a drop may be reported as
//   'unreachable' to the sender;
// - ZooKeeper is a log, an epoch and a tail: a leader's batch lands only while its term
//   holds the epoch and it chains onto the tail; batches of a crashed leader may still land;
// - take-overs fence at once (the lease is not modelled: it guards reads, not S3), replay
//   the log, and race with the old leader's appends.
// The property: every entry a node applies, and every entry at or below a node's commit
// index, is ZooKeeper's entry at that index; and, once every fault ends, the pair is live.
import { describe, expect, it } from 'vitest';
import { type CoreConfig, type Entry, type HardState, type Message, RaftCore, type Ready, type RestoredState, SeededRandom, type SnapshotMeta, defaultCoreTicks } from '../../../src/core/index.js';

type Rec = { kind: 'entries'; entries: readonly Entry[] } | { kind: 'truncate'; from: number } | { kind: 'hs'; hs: HardState } | { kind: 'reset'; point: SnapshotMeta };

interface Held {
  readonly m: Message;
  /** Records the WAL must hold durably before this reply may leave. */
  readonly upTo: number;
}

interface NodeState {
  readonly id: string;
  readonly peer: string;
  core: RaftCore;
  incarnation: number;
  wal: Rec[];
  durable: number;
  held: Held[];
  applied: number;
}

interface Batch {
  readonly from: string;
  readonly incarnation: number;
  readonly term: number;
  readonly entries: readonly Entry[];
}

function replay(records: readonly Rec[]): { hardState?: HardState; snapshot?: SnapshotMeta; entries: Entry[] } {
  let entries: Entry[] = [];
  let hs: HardState | undefined;
  let snapshot: SnapshotMeta | undefined;
  for (const r of records) {
    if (r.kind === 'entries') {
      for (const e of r.entries) {
        entries = entries.filter((x) => x.index < e.index);
        entries.push(e);
      }
    } else if (r.kind === 'truncate') {
      entries = entries.filter((x) => x.index < r.from);
    } else if (r.kind === 'reset') {
      // A snapshot installed (perturb): the log starts over after it.
      entries = [];
      snapshot = r.point;
    } else {
      hs = r.hs;
    }
  }
  return { ...(hs ? { hardState: hs } : {}), ...(snapshot ? { snapshot } : {}), entries };
}

/** The old rules of hole 1 (to show this harness finds them): replies at once, heartbeat commits without the term check. */
export interface FuzzOptions {
  readonly oldRules?: boolean;
  /** Only one of the two old rules (to see what each new one guards alone). */
  readonly onlyRepliesBeforeDurable?: boolean;
  readonly onlyCommitWithoutTerm?: boolean;
  /** End with a healed period and check liveness. */
  readonly heal?: boolean;
  /**
   * Builds each core (default: this checkout's RaftCore). scripts/core-differential.sh runs
   * the same seeds on an older commit's core through this and compares the traces.
   */
  readonly makeCore?: (config: CoreConfig, random: SeededRandom, restored: RestoredState) => RaftCore;
  /** Receives a line for every message stepped and its result, and every Ready with the core's status. */
  readonly trace?: (line: string) => void;
  /**
   * Also what the plain run leaves out, for the differential (its seeds differ from the plain
   * run's): forged or altered AppendEntries and heartbeats, senders proved or not, epochs
   * that name their leader, compaction and snapshot installs, hand-overs the lease znode confirms.
   */
  readonly perturb?: boolean;
}

/** JSON with byte arrays as hex (chain values, entry data), for traces. */
function traceJson(v: unknown): string {
  return JSON.stringify(v, (_k: string, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x)) ?? 'undefined';
}

/** An altered copy of `m` (perturb): a forger's entry data, chain value or commit index, or a lower prevLogIndex. */
function alter(m: Message, rnd: SeededRandom): Message {
  const forged = (e: Entry): Entry => ({ ...e, data: new TextEncoder().encode(`forged ${e.index}`) });
  const u = rnd.nextInt(4);
  if (m.type === 'append') {
    if (u === 0 && m.entries.length > 0) return { ...m, entries: m.entries.map((e, k) => (k === m.entries.length - 1 ? forged(e) : e)) };
    if (u === 1 && m.entries.length > 0) return { ...m, entries: m.entries.map(forged) };
    if (u === 2 && m.prevLogChain) return { ...m, prevLogChain: new Uint8Array(m.prevLogChain.length).fill(7) };
    return { ...m, prevLogIndex: Math.max(0, m.prevLogIndex - 1 - rnd.nextInt(3)) };
  }
  if (m.type === 'heartbeat') {
    if (u < 2 && m.commitChain) return { ...m, commitChain: new Uint8Array(m.commitChain.length).fill(9) };
    return { ...m, commit: m.commit + rnd.nextInt(4) };
  }
  return m;
}

export const fuzzStats = { zkEntries: 0, terms: 0, restarts: 0 };

export function runSeed(seed: number, steps: number, o: FuzzOptions = {}): string[] {
  const rnd = new SeededRandom(seed);
  const violations: string[] = [];
  const trace = o.trace;
  const makeCore = o.makeCore ?? ((config: CoreConfig, random: SeededRandom, restored: RestoredState): RaftCore => new RaftCore(config, random, restored));
  const zkLog: Entry[] = [];
  let epochTerm = 0;
  /** Who fenced epochTerm (what the epoch znode names). */
  let epochLeader = '';
  const net: Array<{ m: Message; from: string; incarnation: number }> = [];
  const zkQueue: Batch[] = [];
  const zkReplies: Array<{ b: Batch; landed: boolean }> = [];
  const pendingTakeovers: Array<{ id: string; incarnation: number; term: number; commit: number }> = [];
  let data = 0;
  let phase: 'calm' | 'cut' | 'zkSlow' = 'calm';
  const crashSoon = new Set<string>();

  const mkCore = (id: string, peer: string, restored: RestoredState): RaftCore =>
    makeCore({ ...defaultCoreTicks, genesis: new Uint8Array(16), id, peer, ...(o.oldRules || o.onlyCommitWithoutTerm ? { unsafeCommitWithoutTerm: true } : {}) }, new SeededRandom(rnd.nextUint32()), restored);
  const nodes: NodeState[] = ['a', 'b'].map((id) => {
    const peer = id === 'a' ? 'b' : 'a';
    const n: NodeState = { id, peer, core: mkCore(id, peer, { entries: [] }), incarnation: 1, wal: [], durable: 0, held: [], applied: 0 };
    n.core.observeLease(1);
    return n;
  });
  const byId = (id: string): NodeState => nodes.find((n) => n.id === id)!;

  const check = (n: NodeState, step: number, what: string): void => {
    const commit = n.core.commitIndex();
    for (let i = 1; i <= commit; i++) {
      const mine = n.core.entryAt(i);
      const zk = zkLog[i - 1];
      if (!zk || !mine || mine.term !== zk.term || !sameData(mine, zk)) {
        violations.push(`seed ${seed} step ${step} (${what}): ${n.id} commit ${commit} holds ${fmt(mine)} at ${i}, ZooKeeper ${fmt(zk)}`);
        return;
      }
    }
  };

  const carry = (n: NodeState, rd: Ready, step: number): void => {
    trace?.(`ready ${n.id} ${step} ${traceJson(rd)} ${traceJson(n.core.status())} ${traceJson(n.core.hardState())}`);
    if (rd.logReset) n.wal.push({ kind: 'reset', point: rd.logReset });
    if (rd.truncateFrom !== undefined) {
      n.wal.push({ kind: 'truncate', from: rd.truncateFrom });
      // Aim: a node that just overwrote part of its log is often killed before its fsync.
      if (rnd.nextInt(3) === 0) crashSoon.add(n.id);
    }
    if (rd.entries.length > 0) n.wal.push({ kind: 'entries', entries: rd.entries });
    if (rd.hardState) n.wal.push({ kind: 'hs', hs: rd.hardState });
    for (const m of rd.messages) {
      if (!o.oldRules && !o.onlyRepliesBeforeDurable && (m.type === 'appendReply' || m.type === 'heartbeatReply')) n.held.push({ m, upTo: n.wal.length });
      else net.push({ m, from: n.id, incarnation: n.incarnation });
    }
    for (const e of rd.committed) {
      const zk = zkLog[e.index - 1];
      if (!zk || zk.term !== e.term || !sameData(zk, e)) violations.push(`seed ${seed} step ${step}: ${n.id} applied ${fmt(e)} at ${e.index}, ZooKeeper holds ${fmt(zk)}`);
    }
    if (rd.toMirror.length > 0) zkQueue.push({ from: n.id, incarnation: n.incarnation, term: n.core.softState().term, entries: rd.toMirror });
    // One take-over at a time per process (TakeoverRunner ignores a second request).
    if (rd.takeover && !pendingTakeovers.some((t) => t.id === n.id && t.incarnation === n.incarnation)) {
      pendingTakeovers.push({ id: n.id, incarnation: n.incarnation, term: rd.takeover.term, commit: rd.takeover.commit });
    }
  };

  const drain = (n: NodeState, step: number): void => {
    for (let k = 0; k < 20 && n.core.hasReady(); k++) carry(n, n.core.ready(), step);
    releaseHeld(n);
    check(n, step, 'after ready');
  };

  const releaseHeld = (n: NodeState): void => {
    const out = n.held.filter((h) => h.upTo <= n.durable);
    n.held = n.held.filter((h) => h.upTo > n.durable);
    for (const h of out) net.push({ m: h.m, from: n.id, incarnation: n.incarnation });
  };

  // SIGKILL and restart from what is durable (a random part of the unsynced tail may have
  // reached the disk too).
  const crash = (n: NodeState, step: number): void => {
    crashSoon.delete(n.id);
    const kept = n.durable + (n.wal.length > n.durable ? rnd.nextInt(n.wal.length - n.durable + 1) : 0);
    n.wal = n.wal.slice(0, kept);
    n.durable = kept;
    n.held = [];
    n.incarnation++;
    fuzzStats.restarts++;
    n.core = mkCore(n.id, n.peer, replay(n.wal));
    n.core.observeLease(1);
    drain(n, step);
  };

  // Liveness: every fault ends (no drops, crashes, lapses; fsyncs and ZooKeeper prompt; no
  // lease touches, so a take-over may proceed). Within a bounded time some node leads, a
  // new write commits, and both nodes' commit indexes reach ZooKeeper's tail.
  const heal = (from: number): void => {
    crashSoon.clear();
    const settle = (step: number): void => {
      // Healed: the epoch watch fires on both nodes now and then.
      if (step % 25 === 0) {
        for (const n of nodes) {
          n.core.observeEpoch(epochTerm, epochLeader);
          drain(n, step);
        }
      }
      const item = net.shift();
      if (item) {
        const dst = byId(item.m.to);
        dst.core.step(item.m);
        drain(dst, step);
      }
      for (const n of nodes) {
        n.durable = n.wal.length;
        releaseHeld(n);
      }
      const b = zkQueue.shift();
      if (b) {
        const landed = b.term === epochTerm && b.entries[0]!.index === zkLog.length + 1;
        if (landed) zkLog.push(...b.entries);
        zkReplies.push({ b, landed });
      }
      const z = zkReplies.shift();
      if (z) {
        const n = byId(z.b.from);
        if (n.incarnation === z.b.incarnation) {
          if (z.landed) n.core.mirrorCommitted(z.b.term, z.b.entries[z.b.entries.length - 1]!.index);
          else n.core.mirrorFenced(z.b.term);
          drain(n, step);
        }
      }
      const t = pendingTakeovers.shift();
      if (t && byId(t.id).incarnation === t.incarnation) {
        const n = byId(t.id);
        epochTerm = Math.max(epochTerm, t.term) + 1;
        epochLeader = n.id;
        n.core.takeoverResult({ ok: true, term: epochTerm, entries: zkLog.slice(t.commit), zkLastIndex: zkLog.length });
        drain(n, step);
      }
    };
    let written = -1;
    for (let step = from; step < from + 4000; step++) {
      if (step % 3 === 0) {
        for (const n of nodes) {
          n.core.tick();
          n.core.leaseRenewed(n.core.softState().term);
          drain(n, step);
        }
      }
      if (written < 0 && step > from + 1000) {
        const leader = nodes.find((n) => n.core.softState().role === 'leader');
        if (leader && leader.core.propose([new TextEncoder().encode('after heal')]).ok) {
          written = zkLog.length + 1;
          drain(leader, step);
        }
      }
      settle(step);
    }
    const tail = zkLog.length;
    const commits = nodes.map((n) => `${n.id}: ${n.core.softState().role} commit ${n.core.commitIndex()}`).join(', ');
    if (written < 0 || tail < written || nodes.some((n) => n.core.commitIndex() !== tail)) {
      violations.push(`seed ${seed}: not live after healing (ZooKeeper tail ${tail}, write ${written}; ${commits})`);
    }
  };

  // Perturb: a node compacts what it applied, or installs a snapshot at one of ZooKeeper's
  // entries (its WAL records the reset, so a crash restarts from the snapshot).
  const perturbSnapshots = (n: NodeState, step: number): void => {
    const u = rnd.nextInt(4);
    if (u === 0) {
      const to = n.core.status().applied - rnd.nextInt(3);
      if (to > 0) {
        n.core.compact(to);
        trace?.(`compact ${n.id} ${to}`);
      }
    } else if (u === 1 && zkLog.length > 0) {
      const e = zkLog[rnd.nextInt(zkLog.length)]!;
      if (e.chain) trace?.(`install ${n.id} ${e.index} ${traceJson(n.core.installSnapshot({ index: e.index, term: e.term, chain: e.chain }))}`);
      drain(n, step);
    }
  };

  for (let step = 0; step < steps; step++) {
    for (const id of [...crashSoon]) if (rnd.nextInt(4) === 0) crash(byId(id), step);
    // Phases: calm, the voters' link cut (everything between them lost), ZooKeeper slow.
    if (step % 200 === 0) {
      const p = rnd.nextInt(4);
      phase = p === 0 ? 'cut' : p === 1 ? 'zkSlow' : 'calm';
    }
    const r = rnd.nextInt(100);
    if (r < 30) {
      // deliver (maybe duplicate, maybe drop) a message
      if (net.length === 0) continue;
      const i = rnd.nextInt(Math.min(net.length, 4)); // mostly in order, some reordering
      const item = net[i]!;
      const u = rnd.nextInt(100);
      if (u >= 8) net.splice(i, 1); // else: a duplicate stays in the bag
      if (u >= 92 || phase === 'cut') {
        // dropped; the sender may hear of it
        if (rnd.nextInt(2) === 0) {
          const s = byId(item.from);
          if (s.incarnation === item.incarnation) {
            s.core.step({ type: 'unreachable', from: item.m.to, to: item.from, term: 0 });
            drain(s, step);
          }
        }
        continue;
      }
      const dst = byId(item.m.to);
      if (o.perturb) {
        let m = rnd.nextInt(200) === 0 ? alter(item.m, rnd) : item.m;
        if (m.type === 'timeoutNow' && rnd.nextInt(2) === 0) {
          // The hand-over's fast path: the leader's relinquished lease record, which its
          // TimeoutNow names, is what the follower's lease watch saw (hand-over.ts).
          const version = 1_000_000 + step;
          m = { ...m, leaseVersion: version };
          dst.core.observeLease(version, 0, { term: m.term, holder: m.from, relinquished: true });
          trace?.(`relinquished ${dst.id} ${version}`);
        }
        const proved = rnd.nextInt(3) !== 0;
        trace?.(`step ${dst.id} ${step} ${traceJson(m)} proved ${proved}`);
        const result = dst.core.step(m, proved);
        trace?.(`stepped ${traceJson(result)}`);
      } else {
        dst.core.step(item.m);
      }
      drain(dst, step);
    } else if (r < 55) {
      const n = nodes[rnd.nextInt(2)]!;
      n.core.tick();
      drain(n, step);
    } else if (r < 65) {
      const n = nodes[rnd.nextInt(2)]!;
      if (n.core.softState().role === 'leader') {
        n.core.propose([new TextEncoder().encode(`${n.id}:${n.incarnation}:${data++}`)]);
        drain(n, step);
      }
    } else if (r < 75) {
      // ZooKeeper handles the oldest batch
      if (phase === 'zkSlow' && rnd.nextInt(10) > 0) continue;
      const b = zkQueue.shift();
      if (!b) continue;
      const first = b.entries[0]!.index;
      const landed = b.term === epochTerm && first === zkLog.length + 1;
      if (landed) zkLog.push(...b.entries);
      // The reply reaches the leader later (or never, if it crashed meanwhile).
      zkReplies.push({ b, landed });
    } else if (r < 78) {
      const i = zkReplies.length > 0 ? rnd.nextInt(Math.min(2, zkReplies.length)) : -1;
      if (i < 0) continue;
      const { b, landed } = zkReplies.splice(i, 1)[0]!;
      const n = byId(b.from);
      if (n.incarnation !== b.incarnation) continue;
      // A batch that did not land ends the term (fenced, or a chain the mirror cannot resolve).
      if (landed) n.core.mirrorCommitted(b.term, b.entries[b.entries.length - 1]!.index);
      else n.core.mirrorFenced(b.term);
      drain(n, step);
    } else if (r < 86) {
      // a node's fsync completes, covering a random part of what is unsynced
      const n = nodes[rnd.nextInt(2)]!;
      if (n.durable < n.wal.length) n.durable += 1 + rnd.nextInt(n.wal.length - n.durable);
      releaseHeld(n);
    } else if (r < 90) {
      // a take-over asked for earlier runs now: fence, replay
      const t = pendingTakeovers.shift();
      if (!t) continue;
      const n = byId(t.id);
      if (n.incarnation !== t.incarnation) continue;
      if (rnd.nextInt(4) === 0) {
        n.core.takeoverResult({ ok: false, epochTerm, epochLeader: '', reason: 'fuzz' });
      } else {
        epochTerm = Math.max(epochTerm, t.term) + 1;
        epochLeader = n.id;
        n.core.takeoverResult({ ok: true, term: epochTerm, entries: zkLog.slice(t.commit), zkLastIndex: zkLog.length });
      }
      drain(n, step);
    } else if (r < 93) {
      // the epoch watch fires
      const n = nodes[rnd.nextInt(2)]!;
      n.core.observeEpoch(epochTerm, o.perturb && rnd.nextInt(2) === 0 ? epochLeader : '');
      drain(n, step);
      if (o.perturb) perturbSnapshots(n, step);
    } else if (r < 96) {
      // a follower reads committed entries from ZooKeeper
      const n = nodes[rnd.nextInt(2)]!;
      const from = n.core.commitIndex();
      const upTo = Math.min(zkLog.length, from + 1 + rnd.nextInt(5));
      if (upTo > from) {
        n.core.committedFromZk(zkLog.slice(from, upTo), upTo);
        drain(n, step);
      }
    } else if (r < 97) {
      crash(nodes[rnd.nextInt(2)]!, step);
    } else if (r < 98) {
      // lease version moves (a leader touched it): followers see it
      const n = nodes[rnd.nextInt(2)]!;
      n.core.observeLease(2 + step);
    } else {
      // the leader hands over, lapses (ZooKeeper slow), renews, or abdicates (a long stall)
      const n = nodes[rnd.nextInt(2)]!;
      const term = n.core.softState().term;
      const u = rnd.nextInt(4);
      if (u === 0) n.core.transferLeadership();
      else if (u === 1) n.core.leaseExpired(term);
      else if (u === 2) n.core.leaseRenewed(term);
      else if (rnd.nextInt(4) === 0) n.core.abdicate('fuzz stall');
      drain(n, step);
    }
  }
  if (o.heal) heal(steps);
  fuzzStats.zkEntries += zkLog.length;
  fuzzStats.terms += epochTerm;
  return violations;
}

function sameData(a: Entry, b: Entry): boolean {
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

function fmt(e: Entry | undefined): string {
  return e ? `${e.index}/t${e.term}/${new TextDecoder().decode(e.data)}` : 'nothing';
}

describe('two cores in a harsh world keep S3 (review of issue 9)', () => {
  it('no node commits or applies an entry that is not ZooKeeper\'s', () => {
    const all: string[] = [];
    // DUORAFT_FUZZ_SEEDS=10000 for a long run (about 70 s).
    const count = Number(process.env['DUORAFT_FUZZ_SEEDS'] ?? 300);
    for (let seed = 1; seed <= count && all.length === 0; seed++) all.push(...runSeed(seed, 3000));
    expect(all.slice(0, 5)).toEqual([]);
    // The world did something: entries committed, terms changed hands, nodes restarted.
    expect(fuzzStats.zkEntries).toBeGreaterThan(10_000);
    expect(fuzzStats.terms).toBeGreaterThan(1000);
    expect(fuzzStats.restarts).toBeGreaterThan(1000);
  }, 600_000);

  it('once every fault ends, some node leads, a write commits and both commit indexes reach the tail', () => {
    // No forgetMatch/re-probe loop, no follower that can never commit again.
    const all: string[] = [];
    const count = Number(process.env['DUORAFT_FUZZ_SEEDS'] ?? 100);
    for (let seed = 1; seed <= count && all.length === 0; seed++) all.push(...runSeed(seed, 3000, { heal: true }));
    expect(all.slice(0, 5)).toEqual([]);
  }, 600_000);

  it('finds the old rules of hole 1 (replies before durable, heartbeat commits without the term)', () => {
    // A few seeds in 1,000 or 3,000 hit the window; these did when this was last changed (the
    // runs are deterministic, but a change to the core may move them: the silence window of
    // issue 12 moved them from 580, 1886, 2630 to 57, 129, 254, and the heartbeat a transfer
    // now sends at once (Awaited) to 350 and 746, the only two of seeds 1-3000).
    const found: string[] = [];
    for (const seed of [350, 746]) {
      try {
        found.push(...runSeed(seed, 3000, { oldRules: true }));
      } catch (err) {
        // The phantom suffix, once committed, can trip the core's own invariants first.
        found.push(`seed ${seed}: ${(err as Error).message}`);
      }
    }
    expect(found.length).toBeGreaterThan(0);
  });
});
