// What the voters say, as they say it: the chaos run reads every line of the nodes' logs
// (pino JSON) to aim faults at moments only the node knows about ("taking over",
// "fenced ZooKeeper", "leading"), and to learn each node's current ZooKeeper session id
// from its 'ZooKeeper session connected' line. Lines are numbered in arrival order, so
// two lines of one node can be ordered (a node writes its lines in order).
import { performance } from 'node:perf_hooks';

export interface NodeLine {
  readonly node: string;
  /** Arrival order over all nodes. */
  readonly seq: number;
  /** performance.now() at arrival. */
  readonly at: number;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface NodeSession {
  /** 16 hex digits, as the node logs it. */
  readonly id: string;
  readonly timeoutMs: number;
}

interface Waiter {
  readonly node: string;
  readonly accept: (line: NodeLine) => boolean;
  readonly resolve: (line: NodeLine | null) => void;
}

/** The messages the chaos run reacts to (src/server and src/coordination write them). */
export const NODE_MESSAGES = {
  sessionConnected: 'ZooKeeper session connected',
  disconnected: 'ZooKeeper disconnected',
  sessionExpired: 'ZooKeeper session expired; starting a new session',
  takingOver: 'taking over: fencing ZooKeeper',
  fenced: 'fenced ZooKeeper: epoch is ours',
  takeoverDone: 'take-over done',
  takeoverFailed: 'take-over failed',
  leading: 'leading',
  roleChanged: 'role changed',
} as const;

/** More waiters than this at once is a harness bug (each fault registers a handful). */
const MAX_WAITERS = 256;

export class NodeLogWatch {
  private seq = 0;
  private readonly sessions = new Map<string, NodeSession>();
  private waiters: Waiter[] = [];

  /** The sequence number of the last line seen (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  onLine(node: string, text: string): void {
    if (!text.startsWith('{')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return; // not a log record (a stack trace line, say)
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const fields = parsed as Record<string, unknown>;
    const msg = typeof fields['msg'] === 'string' ? fields['msg'] : '';
    const line: NodeLine = { node, seq: ++this.seq, at: performance.now(), msg, fields };
    if (msg === NODE_MESSAGES.sessionConnected && typeof fields['sessionId'] === 'string') {
      const timeoutMs = typeof fields['sessionTimeoutMs'] === 'number' ? fields['sessionTimeoutMs'] : 4_000;
      this.sessions.set(node, { id: fields['sessionId'], timeoutMs });
    }
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.node === node && w.accept(line)) w.resolve(line);
      else still.push(w);
    }
    this.waiters = still;
  }

  /** The node's ZooKeeper session as its last 'session connected' line named it, or null. */
  session(node: string): NodeSession | null {
    return this.sessions.get(node) ?? null;
  }

  /**
   * The next line of `node` that `accept` takes, or null after timeoutMs. Register it before
   * causing the line, so it cannot be missed. `cancel` resolves it with null at once.
   */
  next(node: string, accept: (line: NodeLine) => boolean, timeoutMs: number): { readonly line: Promise<NodeLine | null>; cancel(): void } {
    if (this.waiters.length >= MAX_WAITERS) throw new Error(`node log watch: more than ${MAX_WAITERS} waiters at once`);
    let waiter: Waiter | undefined;
    let timer: NodeJS.Timeout | undefined;
    const line = new Promise<NodeLine | null>((resolve) => {
      const done = (l: NodeLine | null): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(l);
      };
      waiter = { node, accept, resolve: done };
      this.waiters.push(waiter);
      timer = setTimeout(() => done(null), timeoutMs);
    });
    return { line, cancel: () => waiter?.resolve(null) };
  }

  /** next() for a message (and optionally a field test). */
  nextMessage(node: string, msg: string, timeoutMs: number, test: (fields: Readonly<Record<string, unknown>>) => boolean = () => true): { readonly line: Promise<NodeLine | null>; cancel(): void } {
    return this.next(node, (l) => l.msg === msg && test(l.fields), timeoutMs);
  }
}
