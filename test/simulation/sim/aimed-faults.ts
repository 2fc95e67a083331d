// Faults aimed at a moment rather than a time: armed by the fault schedule, fired when a
// node's role says the moment has come (checked after every event). Random timing alone
// rarely lands in these windows, and they are where take-overs break:
// - a session expiry `delayMs` into a take-over (before, while or after its fence lands):
//   the fence's `leader` znode is an ephemeral of that session;
// - a session expiry `delayMs` after a fence landed in ZooKeeper (the epoch names the
//   node), before the take-over could read the tail: it reads it on a new session;
// - a SIGKILL of the leader the moment one of its appends lands in ZooKeeper: it never
//   learns the append committed, so neither does its follower;
// - a SIGKILL of a deposed leader `delayMs` after it started following the new one: the
//   new leader's appends have just overwritten its own unreplicated suffix, and what it
//   acknowledged may not be on its disk yet.
import type { SimScheduler } from '../sim-scheduler.js';
import type { SimNode } from './sim-node.js';

interface Armed {
  readonly delayMs: number;
  /** Disarmed (unused) after this virtual time. */
  readonly until: number;
}

export interface AimedFaultActions {
  /** Expires `node`'s session `delayMs` from now; `then` runs right after the expiry. */
  expireSession(node: SimNode, delayMs: number, why: string, then?: () => void): void;
  kill(node: SimNode, delayMs: number): void;
  /** The last index of ZooKeeper's tail as its leader has it (0: none). */
  tailIndex(): number;
  /** The epoch znode as the ZooKeeper leader has it: its mzxid and the node it names. */
  epoch(): { readonly mzxid: bigint; readonly leaderId: string } | null;
}

/** How long an aimed fault waits for its moment before it is given up. */
const ARMED_FOR_MS = 3000;

export class AimedFaults {
  private expiry: Armed | null = null;
  private expiryAtFence: (Armed & { readonly epochMzxid: bigint; readonly then?: () => void }) | null = null;
  private kill: (Armed & { readonly node: SimNode; readonly term: number }) | null = null;
  private onAppend: { readonly past: number; readonly until: number; readonly fire: () => void } | null = null;
  /** Nodes that were candidates at the last look: a candidacy is aimed at when it starts. */
  private readonly candidates = new Set<string>();

  constructor(
    private readonly sched: SimScheduler,
    private readonly nodes: readonly SimNode[],
    private readonly act: AimedFaultActions,
  ) {}

  /** The next take-over that starts loses its ZooKeeper session `delayMs` after it started. */
  expireAtNextTakeover(delayMs: number): void {
    this.expiry = { delayMs, until: this.sched.now() + ARMED_FOR_MS };
    this.candidates.clear();
    for (const n of this.nodes) if (role(n) === 'candidate') this.candidates.add(n.id);
  }

  /** The next fence that lands costs its node its session, `delayMs` after it landed. */
  expireAfterNextFence(delayMs: number, then?: () => void): void {
    this.expiryAtFence = { delayMs, until: this.sched.now() + ARMED_FOR_MS, epochMzxid: this.act.epoch()?.mzxid ?? -1n, ...(then ? { then } : {}) };
  }

  /**
   * The next time ZooKeeper's tail moves (within `forMs`), `fire` runs at once: in the same
   * event, before the multi's reply can reach the node that sent it.
   */
  whenTailMoves(forMs: number, fire: () => void): void {
    this.onAppend = { past: this.act.tailIndex(), until: this.sched.now() + forMs, fire };
  }

  /** `node`, leading `term` now, is killed `delayMs` after it follows a leader of a later term. */
  killWhenDeposed(node: SimNode, term: number, delayMs: number): void {
    this.kill = { node, term, delayMs, until: this.sched.now() + ARMED_FOR_MS };
  }

  /** After every event: fires what is armed and due. */
  afterEvent(): void {
    if (this.expiry !== null) this.checkExpiry(this.expiry);
    if (this.expiryAtFence !== null) this.checkFence(this.expiryAtFence);
    if (this.kill !== null) this.checkKill(this.kill);
    if (this.onAppend !== null) this.checkTail(this.onAppend);
  }

  private checkTail(armed: { readonly past: number; readonly until: number; readonly fire: () => void }): void {
    if (this.sched.now() > armed.until) {
      this.onAppend = null;
      return;
    }
    if (this.act.tailIndex() <= armed.past) return;
    this.onAppend = null;
    armed.fire();
  }

  private checkExpiry(armed: Armed): void {
    if (this.sched.now() > armed.until) {
      this.expiry = null;
      return;
    }
    for (const n of this.nodes) {
      if (role(n) !== 'candidate') {
        this.candidates.delete(n.id);
        continue;
      }
      if (this.candidates.has(n.id)) continue;
      this.candidates.add(n.id);
      this.expiry = null;
      this.act.expireSession(n, armed.delayMs, `${armed.delayMs} ms into its take-over`);
      return;
    }
  }

  private checkFence(armed: Armed & { readonly epochMzxid: bigint; readonly then?: () => void }): void {
    if (this.sched.now() > armed.until) {
      this.expiryAtFence = null;
      return;
    }
    const epoch = this.act.epoch();
    if (epoch === null || epoch.mzxid === armed.epochMzxid) return;
    this.expiryAtFence = null;
    const node = this.nodes.find((n) => n.id === epoch.leaderId);
    if (node && node.state !== 'down') this.act.expireSession(node, armed.delayMs, `${armed.delayMs} ms after its fence landed`, armed.then);
  }

  private checkKill(armed: Armed & { readonly node: SimNode; readonly term: number }): void {
    if (this.sched.now() > armed.until || armed.node.state === 'down') {
      this.kill = null;
      return;
    }
    const view = armed.node.state === 'up' ? armed.node.driver?.inspect() : undefined;
    if (!view || view.softState.role !== 'follower' || view.softState.term <= armed.term || view.softState.leaderId === '') return;
    this.kill = null;
    this.act.kill(armed.node, armed.delayMs);
  }
}

function role(n: SimNode): string | undefined {
  return n.state === 'up' ? n.driver?.inspect().softState.role : undefined;
}
