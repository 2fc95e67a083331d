// Review 33: the driver's side of a leadership transfer (NodeDriver.handOver), which the
// simulator never drives: node a leads on the scripted ZooKeeper and a manual clock, and b is
// a bare RaftCore that answers a's messages (it never ticks, so it never takes over here).
// - The TimeoutNow goes only after the relinquished lease record landed, and names exactly
//   the version that record left (the follower fences against it).
// - A relinquished record that did not surely land (CONNECTION_LOSS) sends no TimeoutNow:
//   that transfer, and only it, ends, the lease is taken back (touched again), and the
//   operator's transfer answers 'still-leads'.
// - A relinquish that fails after its transfer ended, and a newer one handed over, leaves the
//   newer one alone (the generation its Ready named goes back to the core).
// - A record whose answer comes after its transfer ended, or after the operator's deadline
//   told it the transfer failed, sends no TimeoutNow, and the lease is taken back (review 35).
// - Such a late answer counts no TimeoutNow against a newer transfer: its answer stays
//   'still-leads' when its own TimeoutNow never left (review 39).
// - A request that comes after the core stepped down, before the loop carried it out, asks
//   both (the wiring's leads()): it answers 'handed-over' and starts nothing (review 39).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { decodeLease } from '../../../src/coordination/records.js';
import { ZkError, type ZkOp, type ZkOpResult } from '../../../src/coordination/zk-api.js';
import type { Message } from '../../../src/core/messages.js';
import { SeededRandom } from '../../../src/core/random.js';
import { RaftCore } from '../../../src/core/raft.js';
import { coreConfigFor, defaultLimits, defaultTiming, type NodeConfig } from '../../../src/server/node-config.js';
import { NodeDriver } from '../../../src/server/node-driver.js';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import type { MessageSender, PeerTransport } from '../../../src/transport/transport.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';
import { track } from './leading-alone.js';
import { ManualClock } from './manual-clock.js';

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
const paths = new ClusterPaths('t');
const config: NodeConfig = { id: 'a', cluster: 't', advertise: 'a:1', voters: ['a', 'b'], timing: defaultTiming, limits: defaultLimits };

const isRelinquish = (op: ZkOp): boolean => op.type === 'setData' && op.path === paths.lease && decodeLease(op.path, op.data).relinquished === true;

/** A session whose relinquished lease writes can be made to fail (sent, reply lost). */
class HandOverZk extends ScriptedZk {
  loseRelinquish = false;
  /** The next relinquished write gets no answer until failHeld() (it did not land). */
  holdRelinquish = false;
  private held: ((err: Error) => void) | null = null;
  relinquishes = 0;
  override multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    if (ops.some(isRelinquish)) {
      this.relinquishes++;
      if (this.loseRelinquish) return Promise.reject(new ZkError('CONNECTION_LOSS', paths.lease, 'scripted: the reply was lost'));
      if (this.holdRelinquishAnswer) {
        this.holdRelinquishAnswer = false;
        const landed = super.multi(ops);
        this.answerGate = new Promise<void>((resolve) => (this.heldAnswer = resolve));
        return this.afterGate(landed);
      }
      if (this.holdRelinquish) {
        this.holdRelinquish = false;
        return new Promise<ZkOpResult[]>((_resolve, reject) => (this.held = reject));
      }
    }
    // ZooKeeper answers a session's requests in the order they were sent: a write sent after
    // a held answer lands, but its answer waits behind the held one (review 35).
    return this.answerGate ? this.afterGate(super.multi(ops)) : super.multi(ops);
  }
  /**
   * The next relinquished write lands at once (ZooKeeper applies a session's requests in
   * order), but its answer, and the answers of the multis sent after it, wait until answerHeld().
   */
  holdRelinquishAnswer = false;
  private heldAnswer: (() => void) | null = null;
  private answerGate: Promise<void> | null = null;
  /** The held answer of a landed relinquished write arrives now (then the ones queued behind it). */
  answerHeld(): void {
    this.heldAnswer?.();
    this.heldAnswer = null;
    this.answerGate = null;
  }
  /** The outcome of a multi that already landed (or failed), delivered once the gate opens. */
  private afterGate(landed: Promise<ZkOpResult[]>): Promise<ZkOpResult[]> {
    const gate = this.answerGate ?? Promise.resolve();
    return landed.then(
      (r) => gate.then(() => r),
      (err: unknown) => gate.then(() => Promise.reject(err instanceof Error ? err : new Error(String(err)))),
    );
  }
  /** The held relinquished write fails now (its request timed out). */
  failHeld(): void {
    this.held?.(new ZkError('TIMEOUT', paths.lease, 'scripted: no answer in time'));
    this.held = null;
  }
}

async function leaderWithFollower() {
  const clock = new ManualClock();
  const zk = new HandOverZk();
  let handler: ((m: Message, s: MessageSender) => void) | null = null;
  const toB: Message[] = [];
  /** What the lease znode held when each TimeoutNow left. */
  const timeoutNows: Array<{ m: Message; leaseVersion: number; relinquished: boolean }> = [];
  const transport: PeerTransport = {
    send: (m) => {
      if (m.type === 'timeoutNow') {
        const node = zk.tree.get(paths.lease);
        timeoutNows.push({ m, leaseVersion: node?.version ?? -1, relinquished: node ? decodeLease(paths.lease, node.data).relinquished === true : false });
      } else toB.push(m);
    },
    setHandler: (h) => (handler = h),
    setPeerAddress: () => undefined,
    onPeerDisconnected: () => undefined,
    close: () => Promise.resolve(),
  };
  let d: NodeDriver | null = null;
  void NodeDriver.start({ config, clock, random: new SeededRandom(1), logger: silentLogger, zk, transport, wal: new MemoryWal(), recovery: { hardState: null, entries: [], warnings: [] } }).then((x) => (d = x));
  for (let i = 0; i < 200 && !d; i++) {
    clock.jump(clock.now() + 1);
    await settle();
  }
  if (!d) throw new Error('the node did not start');
  const node: NodeDriver = d;
  const b = new RaftCore(coreConfigFor({ ...config, id: 'b', advertise: 'b:1' }, 'a', node.identity.clusterId), new SeededRandom(2), { entries: [] });
  /** Delivers a's messages to b and b's answers to a. */
  const pump = (): void => {
    for (let m = toB.shift(); m; m = toB.shift()) b.step(m, true);
    while (b.hasReady()) for (const r of b.ready().messages) handler?.(r, { kind: 'verified', id: 'b' });
  };
  const run = async (ms: number, until: () => boolean = () => false): Promise<void> => {
    const end = clock.now() + ms;
    while (clock.now() < end && !until()) {
      clock.jump(clock.now() + 5);
      pump();
      await settle();
    }
  };
  await run(15_000, () => node.status().role === 'leader' && node.status().commitIndex > 0);
  await run(50);
  if (node.status().role !== 'leader') throw new Error('a did not take over');
  const leaseTouches = (): number => zk.calls.filter((c) => c === `multi check ${paths.epoch}, setData ${paths.lease}`).length;
  /** Hands a message from b to a at once, as the transport does (no turn of the loop after it). */
  const fromB = (m: Message): void => handler?.(m, { kind: 'verified', id: 'b' });
  return { d: node, zk, run, timeoutNows, leaseTouches, fromB };
}

describe('NodeDriver hand-over', () => {
  it('sends TimeoutNow once the relinquished lease record landed, naming its version', async () => {
    const t = await leaderWithFollower();
    let outcome: string | null = null;
    void t.d.transferLeadership(5000).then(
      (ok) => (outcome = ok),
      (err: { code: string }) => (outcome = err.code),
    );
    await t.run(1000, () => t.timeoutNows.length > 0);
    expect(t.zk.relinquishes).toBe(1);
    expect(t.timeoutNows).toHaveLength(1);
    const sent = t.timeoutNows[0]!;
    expect(sent.relinquished).toBe(true);
    expect(sent.m).toMatchObject({ type: 'timeoutNow', to: 'b', leaseVersion: sent.leaseVersion });
    // b never takes over here: the transfer still waits, and stop() ends it. Not UNAVAILABLE,
    // which the client retries at whoever leads by then: b, told to take over, may (review 37).
    expect(outcome).toBeNull();
    await t.d.stop();
    await settle();
    expect(outcome).toBe('UNKNOWN_OUTCOME');
  });

  it('sends no TimeoutNow when the relinquished record did not surely land, and takes the lease back', async () => {
    const t = await leaderWithFollower();
    t.zk.loseRelinquish = true;
    let outcome: string | null = null;
    void t.d.transferLeadership(5000).then((ok) => (outcome = ok));
    await t.run(1000, () => t.zk.relinquishes > 0);
    expect(t.zk.relinquishes).toBe(1);
    // The failure itself ends the transfer: within a few ticks, long before the transfer's
    // own timeout (at least 1 s) would give it up.
    await t.run(50, () => outcome !== null);
    expect(t.timeoutNows).toEqual([]);
    expect(outcome).toBe('still-leads');
    expect(t.d.figures().transferring).toBe(false);
    expect(t.d.status().role).toBe('leader');
    // The lease is touched again, and held: the leader serves lease reads again.
    const touches = t.leaseTouches();
    await t.run(500);
    expect(t.leaseTouches()).toBeGreaterThan(touches);
    expect(t.d.figures().leaseHolds).toBe(true);
    await t.d.stop();
  });

  it('a relinquish answered after its transfer ended sends no TimeoutNow', async () => {
    const t = await leaderWithFollower();
    // The relinquished record lands, but its answer is held past the transfer's timeout.
    t.zk.holdRelinquishAnswer = true;
    let outcome: string | null = null;
    void t.d.transferLeadership(60_000).then(
      (ok) => (outcome = ok),
      (err: { code: string }) => (outcome = err.code),
    );
    await t.run(1000, () => t.zk.relinquishes > 0);
    expect(t.zk.relinquishes).toBe(1);
    // b never takes over: the transfer times out in the core, the lease is taken back.
    await t.run(30_000, () => outcome !== null);
    expect(outcome).toBe('still-leads');
    expect(t.d.figures().transferring).toBe(false);
    const touches = t.leaseTouches();
    await t.run(200);
    expect(t.leaseTouches()).toBeGreaterThan(touches);
    // Now the record's answer arrives: the transfer it was written for is over.
    t.zk.answerHeld();
    await t.run(50);
    expect(t.timeoutNows).toEqual([]);
    expect(t.d.status().role).toBe('leader');
    expect(t.d.figures().leaseHolds).toBe(true);
    await t.d.stop();
  });

  it('a relinquish answered after the operator was told the transfer failed sends no TimeoutNow', async () => {
    const t = await leaderWithFollower();
    // The record lands, but its answer is held past the operator's deadline (300 ms), which
    // comes before the transfer's own timeout in the core (at least 1 s): with a lease window
    // above 1250 ms the core's (4 W) outlasts even duoraft admin transfer-leader's 5 s.
    t.zk.holdRelinquishAnswer = true;
    let outcome: string | null = null;
    void t.d.transferLeadership(300).then(
      (ok) => (outcome = ok),
      (err: { code: string }) => (outcome = err.code),
    );
    await t.run(1000, () => t.zk.relinquishes > 0);
    expect(t.zk.relinquishes).toBe(1);
    await t.run(500, () => outcome !== null);
    // The operator hears that the transfer failed and that this node still leads ...
    expect(outcome).toBe('still-leads');
    // ... so the answer that comes now must not hand leadership over after all.
    t.zk.answerHeld();
    await t.run(50);
    expect(t.timeoutNows).toEqual([]);
    expect(t.d.status().role).toBe('leader');
    expect(t.d.figures().transferring).toBe(false);
    // And the lease is taken back: touched again, and held.
    const touches = t.leaseTouches();
    await t.run(200);
    expect(t.leaseTouches()).toBeGreaterThan(touches);
    expect(t.d.figures().leaseHolds).toBe(true);
    await t.d.stop();
  });

  it('a relinquish that fails after its transfer ended leaves the newer transfer alone', async () => {
    const t = await leaderWithFollower();
    // Transfer A hands over; its relinquished write gets no answer.
    t.zk.holdRelinquish = true;
    let first: string | null = null;
    void t.d.transferLeadership(60_000).then(
      (ok) => (first = ok),
      (err: { code: string }) => (first = err.code),
    );
    await t.run(1000, () => t.zk.relinquishes > 0);
    expect(t.zk.relinquishes).toBe(1);
    // b never takes over: A times out in the core and the lease is taken back.
    await t.run(30_000, () => first !== null);
    expect(first).toBe('still-leads');
    expect(t.d.figures().transferring).toBe(false);
    // Transfer B hands over (its record lands, its TimeoutNow goes).
    let second: string | null = null;
    void t.d.transferLeadership(60_000).then(
      (ok) => (second = ok),
      (err: { code: string }) => (second = err.code),
    );
    await t.run(1000, () => t.timeoutNows.length > 0);
    expect(t.zk.relinquishes).toBe(2);
    expect(t.timeoutNows).toHaveLength(1);
    const touches = t.leaseTouches();
    // Now A's write fails: B goes on (its lease stays relinquished, untouched).
    t.zk.failHeld();
    await t.run(50);
    expect(t.d.figures().transferring).toBe(true);
    expect(t.leaseTouches()).toBe(touches);
    expect(second).toBeNull();
    await t.d.stop();
  });

  it("a late relinquish answer of an ended transfer does not make a newer transfer's answer 'unknown' (review 39)", async () => {
    const t = await leaderWithFollower();
    // Transfer A hands over; its record lands but the answer is held past A's deadline.
    t.zk.holdRelinquishAnswer = true;
    let first: string | null = null;
    void t.d.transferLeadership(300).then(
      (o) => (first = o),
      (err: { code: string }) => (first = err.code),
    );
    await t.run(1000, () => t.zk.relinquishes > 0);
    await t.run(500, () => first !== null);
    expect(first).toBe('still-leads');
    // Transfer B hands over too; its relinquished write gets no answer at all.
    t.zk.holdRelinquish = true;
    let second: string | null = null;
    void t.d.transferLeadership(60_000).then(
      (o) => (second = o),
      (err: { code: string }) => (second = err.code),
    );
    await t.run(1000, () => t.zk.relinquishes > 1);
    expect(t.zk.relinquishes).toBe(2);
    // A's answer comes now: A is over, so no TimeoutNow leaves, and none may be counted
    // against B, whose own TimeoutNow never left.
    t.zk.answerHeld();
    await t.run(50);
    expect(t.timeoutNows).toEqual([]);
    expect(second).toBeNull();
    // B ends at the core's own transfer timeout: nothing was sent for it, so it still leads.
    await t.run(30_000, () => second !== null);
    expect(second).toBe('still-leads');
    expect(t.timeoutNows).toEqual([]);
    await t.d.stop();
  });

  it('a request that comes after the core stepped down, before the loop carried it out, starts nothing (review 39)', async () => {
    const t = await leaderWithFollower();
    // A heartbeat reply of b from a newer term: a's core steps down at once; the loop carries
    // it out on its next turn. The request between the two sees a node that no longer leads.
    const term = t.d.status().term;
    t.fromB({ type: 'heartbeatReply', from: 'b', to: 'a', term: term + 1, lastIndex: 0, leaderMatch: 0 });
    expect(t.d.status().role).toBe('follower');
    const outcome = track(t.d.transferLeadership(5000));
    await settle();
    expect(outcome.outcome()).toEqual({ value: 'handed-over' });
    expect(t.d.figures().transferring).toBe(false);
    await t.d.stop();
  });

  it("a deadline that passes after the TimeoutNow left answers 'unknown', not 'still leads'", async () => {
    const t = await leaderWithFollower();
    let outcome: string | null = null;
    // 400 ms: the TimeoutNow leaves before, and the core's own transfer timeout (at least
    // 1000 steps: ticks and append replies) comes later.
    void t.d.transferLeadership(400).then(
      (o) => (outcome = o),
      (err: { code: string }) => (outcome = err.code),
    );
    await t.run(400, () => t.timeoutNows.length > 0);
    expect(t.timeoutNows).toHaveLength(1);
    expect(outcome).toBeNull();
    // b never takes over here; its take-over might still come: the answer says so.
    await t.run(1000, () => outcome !== null);
    expect(outcome).toBe('unknown');
    // The transfer is left to its take-over (only the core's own timeout ends it).
    expect(t.d.figures().transferring).toBe(true);
    await t.d.stop();
  });

  it("a transfer its core gives up after the TimeoutNow left answers 'unknown', not 'still leads' (review 37)", async () => {
    const t = await leaderWithFollower();
    let outcome: string | null = null;
    // duoraft admin transfer-leader's 5 s: with the default lease window (60 ms) the core's own
    // transfer timeout (1000 steps) comes first, so this, not the deadline, is how a transfer
    // whose follower did not take over ends.
    void t.d.transferLeadership(5000).then(
      (o) => (outcome = o),
      (err: { code: string }) => (outcome = err.code),
    );
    await t.run(1000, () => t.timeoutNows.length > 0);
    expect(t.timeoutNows).toHaveLength(1);
    let joined: string | null = null;
    // A request that joins after the TimeoutNow left hears the same.
    void t.d.transferLeadership(5000).then(
      (o) => (joined = o),
      (err: { code: string }) => (joined = err.code),
    );
    await t.run(4000, () => outcome !== null && joined !== null);
    // The core gave the transfer up and takes its lease back; but b, told to take over, may
    // fence against the relinquished record's version until the first touch after it lands
    // (a fence that lands first deposes this node): "still leads" may be proven wrong.
    expect(t.d.figures().transferring).toBe(false);
    expect(t.d.status().role).toBe('leader');
    expect(outcome).toBe('unknown');
    expect(joined).toBe('unknown');
    await t.d.stop();
  });

  it('a second transfer while one runs joins it and waits for its outcome, within its own deadline', async () => {
    const t = await leaderWithFollower();
    let first: string | null = null;
    void t.d.transferLeadership(60_000).then(
      (o) => (first = o),
      (err: { code: string }) => (first = err.code),
    );
    await t.run(1000, () => t.timeoutNows.length > 0);
    expect(t.timeoutNows).toHaveLength(1);
    let second: string | null = null;
    void t.d.transferLeadership(500).then(
      (o) => (second = o),
      (err: { code: string }) => (second = err.code),
    );
    // It used to answer false ("failed, still leads") at once, while the hand-over was out.
    await t.run(100);
    expect(second).toBeNull();
    await t.run(1000, () => second !== null);
    expect(second).toBe('unknown');
    // Its deadline did not call off the transfer it joined: that is the first request's.
    expect(t.d.figures().transferring).toBe(true);
    expect(first).toBeNull();
    expect(t.timeoutNows).toHaveLength(1);
    await t.d.stop();
  });

  it('a request that joined a transfer hears it was given up when it is', async () => {
    const t = await leaderWithFollower();
    t.zk.holdRelinquish = true;
    let first: string | null = null;
    void t.d.transferLeadership(60_000).then(
      (o) => (first = o),
      (err: { code: string }) => (first = err.code),
    );
    await t.run(1000, () => t.zk.relinquishes > 0);
    let second: string | null = null;
    void t.d.transferLeadership(60_000).then(
      (o) => (second = o),
      (err: { code: string }) => (second = err.code),
    );
    await t.run(100);
    expect(second).toBeNull();
    // The relinquished record did not land: the transfer ends, for both requests.
    t.zk.failHeld();
    await t.run(200, () => first !== null && second !== null);
    expect(first).toBe('still-leads');
    expect(second).toBe('still-leads');
    expect(t.timeoutNows).toEqual([]);
    expect(t.d.status().role).toBe('leader');
    await t.d.stop();
  });
});
