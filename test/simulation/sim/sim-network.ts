// The simulated network between the voters, behaving like the gRPC transport: requests
// are RPCs (a reply, or 'unreachable' when the peer is down, the link is cut, the message
// is lost, or the deadline passes), and a broken connection is noticed by the other side.
// Latency varies per message, so messages can overtake each other.
import type { Message } from '../../../src/core/messages.js';
import { isRequest } from '../../../src/core/messages.js';
import type { NodeId } from '../../../src/core/types.js';
import type { MessageSender, PeerTransport } from '../../../src/transport/transport.js';
import type { SimScheduler } from '../sim-scheduler.js';
import type { NodeGate } from './node-gate.js';
import { SimSnapshotTransfer } from './sim-snapshot-transfer.js';

export interface NetworkFaults {
  /** Probability that a message is lost. */
  drop: number;
  /** Latency range of one message, in ms. */
  latencyMs: readonly [number, number];
}

/** RPC deadlines by request type, as GrpcPeerTransport sets them. */
const DEADLINE_MS: Record<string, number> = { append: 2000, heartbeat: 1000, vote: 300, timeoutNow: 1000 };
/** How long a refused connection takes to report. */
const REFUSED_MS: readonly [number, number] = [1, 5];
/** How long until a broken connection is noticed by the other side. */
const DISCONNECT_NOTICE_MS: readonly [number, number] = [3, 30];

interface Pending {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly timer: { cancel(): void };
}

/** A call of the snapshot service under way: it fails when its connection breaks. */
interface PendingCall {
  readonly from: NodeId;
  readonly to: NodeId;
  fail(why: string): void;
}

export class SimNetwork {
  readonly faults: NetworkFaults = { drop: 0, latencyMs: [1, 3] };
  /** A targeted test's own loss: requests it says true of are lost (their deadline reports it). */
  dropIf: ((m: Message) => boolean) | null = null;
  private readonly endpoints = new Map<NodeId, SimTransport>();
  private readonly cut = new Set<string>();
  private readonly pending = new Map<number, Pending>();
  private readonly calls = new Map<number, PendingCall>();
  private nextRpc = 1;

  constructor(private readonly sched: SimScheduler) {}

  /** The transport of a new incarnation of `id` (its previous one is gone). */
  attach(id: NodeId, gate: NodeGate): SimTransport {
    const t = new SimTransport(id, gate, this);
    this.endpoints.set(id, t);
    return t;
  }

  /** The incarnation of `id` died: its peers notice their connection broke. */
  detach(id: NodeId): void {
    this.endpoints.delete(id);
    for (const other of this.endpoints.values()) if (other.id !== id) this.noticeDisconnect(other, id);
    this.breakCalls((c) => c.from === id || c.to === id, `the connection to ${id} broke`);
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(linkKey(a, b));
    this.breakCalls((c) => linkKey(c.from, c.to) === linkKey(a, b), 'the connection broke');
    // Like the TCP proxy in reset mode: both sides see the connection break.
    const ea = this.endpoints.get(a);
    const eb = this.endpoints.get(b);
    if (ea) this.noticeDisconnect(ea, b);
    if (eb) this.noticeDisconnect(eb, a);
  }

  healLink(a: NodeId, b: NodeId): void {
    this.cut.delete(linkKey(a, b));
  }

  healAll(): void {
    this.cut.clear();
    this.faults.drop = 0;
  }

  isCut(a: NodeId, b: NodeId): boolean {
    return this.cut.has(linkKey(a, b));
  }

  /** Called by a transport to send. */
  send(from: SimTransport, m: Message): void {
    const target = this.endpoints.get(m.to);
    if (isRequest(m)) {
      const rpcId = this.nextRpc++;
      const deadline = DEADLINE_MS[m.type] ?? 1000;
      if (!target) {
        // Nothing listens there: connection refused, reported quickly.
        this.sched.schedule(this.between(REFUSED_MS), () => from.receiveUnreachable(m.to));
        return;
      }
      const timer = this.sched.schedule(deadline, () => {
        this.pending.delete(rpcId);
        from.receiveUnreachable(m.to);
      });
      this.pending.set(rpcId, { from: m.from, to: m.to, timer });
      if (this.lost(m.from, m.to) || this.dropIf?.(m) === true) return; // the deadline reports it
      const copy = { ...m, rpcId };
      this.sched.schedule(this.latency(), () => {
        // The incarnation may have changed meanwhile: deliver only to the one it was sent to.
        if (this.endpoints.get(m.to) === target) target.receive(copy);
      });
      return;
    }
    // A reply: it completes the RPC it answers (if that is still waiting).
    const rpcId = m.rpcId;
    if (rpcId === undefined) return;
    const p = this.pending.get(rpcId);
    if (!p || this.lost(m.from, m.to)) return;
    const requester = this.endpoints.get(m.to);
    this.sched.schedule(this.latency(), () => {
      const still = this.pending.get(rpcId);
      if (!still) return; // its deadline passed first
      this.pending.delete(rpcId);
      still.timer.cancel();
      if (requester && this.endpoints.get(m.to) === requester) requester.receive({ ...m, rpcId: undefined } as Message);
    });
  }

  /**
   * A request nobody sent through this network: a forger's, claiming `m.from` (the network is
   * plaintext). Delivered to the current incarnation of `m.to` after the usual latency; its
   * answer, if any, finds no caller and is dropped.
   */
  forge(m: Message): void {
    const target = this.endpoints.get(m.to);
    if (!target) return;
    const rpcId = this.nextRpc++;
    this.sched.schedule(this.latency(), () => {
      if (this.endpoints.get(m.to) === target) target.receive({ ...m, rpcId });
    });
  }

  /**
   * A unary call of the snapshot service (InstallSnapshot, SnapshotChunk) from `from` to
   * the current incarnation of `to`, run there by `serve` (through its gate). The same
   * faults as the core's messages: a lost request or reply is noticed at the deadline, a
   * cut link or a dead process fails the call when the broken connection is noticed, and
   * latency varies per message. Resolves or rejects through the caller's gate.
   */
  call<T>(from: SimTransport, to: NodeId, deadlineMs: number, serve: (target: SimTransport) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const target = this.endpoints.get(to);
      if (!target) {
        this.sched.schedule(this.between(REFUSED_MS), () => from.deliver(() => reject(new Error(`${to} refused the connection`))));
        return;
      }
      const id = this.nextRpc++;
      const finish = (outcome: () => void): void => {
        if (!this.calls.delete(id)) return;
        timer.cancel();
        from.deliver(outcome);
      };
      const timer = this.sched.schedule(deadlineMs, () => finish(() => reject(new Error(`deadline of ${deadlineMs} ms exceeded`))));
      this.calls.set(id, {
        from: from.id,
        to,
        fail: (why) => this.sched.schedule(this.between(DISCONNECT_NOTICE_MS), () => finish(() => reject(new Error(why)))),
      });
      if (this.lost(from.id, to)) return; // the deadline reports it
      this.sched.schedule(this.latency(), () => {
        if (this.endpoints.get(to) !== target || !this.calls.has(id)) return;
        target.deliver(() => {
          const answer = (outcome: () => void): void => {
            if (this.lost(to, from.id)) return;
            this.sched.schedule(this.latency(), () => finish(outcome));
          };
          serve(target).then(
            (v) => answer(() => resolve(v)),
            (e: unknown) => answer(() => reject(e)),
          );
        });
      });
    });
  }

  private breakCalls(involved: (c: PendingCall) => boolean, why: string): void {
    for (const c of [...this.calls.values()]) if (involved(c)) c.fail(why);
  }

  private lost(a: NodeId, b: NodeId): boolean {
    return this.cut.has(linkKey(a, b)) || this.sched.random.nextFloat() < this.faults.drop;
  }

  private noticeDisconnect(at: SimTransport, peer: NodeId): void {
    this.sched.schedule(this.between(DISCONNECT_NOTICE_MS), () => at.receiveDisconnect(peer));
  }

  private latency(): number {
    return this.between(this.faults.latencyMs);
  }

  private between([min, max]: readonly [number, number]): number {
    return min + this.sched.random.nextInt(max - min + 1);
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** One incarnation's PeerTransport: everything it receives goes through its gate. */
export class SimTransport implements PeerTransport {
  private handler: (m: Message, sender: MessageSender) => void = () => undefined;
  private readonly disconnectListeners: Array<(id: NodeId) => void> = [];
  private closed = false;
  readonly snapshots: SimSnapshotTransfer;

  constructor(
    readonly id: NodeId,
    private readonly gate: NodeGate,
    private readonly net: SimNetwork,
  ) {
    this.snapshots = new SimSnapshotTransfer(this, net);
  }

  /** Runs fn in this process (now, after a pause, or never once it died). */
  deliver(fn: () => void): void {
    this.gate.deliver(fn);
  }

  send(m: Message): void {
    if (this.closed || this.gate.state === 'dead') return;
    this.net.send(this, m);
  }

  setHandler(handler: (m: Message, sender: MessageSender) => void): void {
    this.handler = handler;
  }

  setPeerAddress(): void {
    // Addresses mean nothing here: peers are reached by id.
  }

  onPeerDisconnected(listener: (id: NodeId) => void): void {
    this.disconnectListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  receive(m: Message): void {
    // The simulated network models a plaintext one: `from` is the sender's claim.
    this.gate.deliver(() => this.handler(m, { kind: 'unverified' }));
  }

  receiveUnreachable(peer: NodeId): void {
    this.gate.deliver(() => this.handler({ type: 'unreachable', from: peer, to: this.id, term: 0 }, { kind: 'local' }));
  }

  receiveDisconnect(peer: NodeId): void {
    this.gate.deliver(() => {
      for (const l of this.disconnectListeners) l(peer);
    });
  }
}
