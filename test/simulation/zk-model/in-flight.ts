// The requests a model client has sent and not settled yet, and what can become of
// them: a reply; TIMEOUT after the request timeout; whatever the connection's end says
// (CONNECTION_LOSS, SESSION_EXPIRED). Each settles once.
//
// Whether a request whose reply never came reached its server is decided here, honestly
// for a FIFO connection: one that reached the server was handled there (a write is then
// applied, unless its session moved or ended before the leader got it); one still travelling when
// its connection dropped reached the server with the apply-on-loss probability, in
// issue order, and the first one lost loses the rest (a broken stream loses a suffix);
// one still travelling at its timeout lands at that moment with the same probability,
// or never.
import type { TimerHandle } from '../../../src/common/clock.js';
import { ZkError, type ZkErrorCode, type ZkOp } from '../../../src/coordination/zk-api.js';
import type { Link } from './link.js';
import type { ModelRequest, ReplyOutcome, ReplyValue, ServerReply } from './requests.js';
import type { ClientNetwork } from './session-network.js';

type Settlement = { readonly reply: ServerReply } | { readonly error: ZkError };

interface Entry {
  readonly request: ModelRequest;
  readonly link: Link;
  /** Its way to the server while it travels; null once it arrived or was lost. */
  travel: TimerHandle | null;
  readonly settle: (settlement: Settlement) => void;
}

function errorOf(op: string, path: string, outcome: Extract<ReplyOutcome, { ok: false }>, ops: readonly ZkOp[] | null): ZkError {
  if (ops !== null && outcome.failedOp >= 0) {
    const failed = ops[outcome.failedOp];
    const where = failed ? `${failed.type} ${failed.path}` : '?';
    return new ZkError(outcome.code, failed?.path ?? '', `ZooKeeper multi failed at op #${outcome.failedOp} (${where}): ${outcome.code}; nothing was applied`, outcome.failedOp);
  }
  return new ZkError(outcome.code, path, `ZooKeeper ${op} ${path || '(multi)'}: ${outcome.code} (zk model)`);
}

export class InFlightRequests {
  private counter = 0;
  /** Insertion order is issue order. */
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly net: ClientNetwork) {}

  /**
   * Sends `request` on `link`. Resolves with `accept(value)` of a successful reply
   * (accept also registers watchers, so it runs only for a reply that settles the
   * request), rejects with the reply's error, TIMEOUT, or what failAll() says.
   */
  send<T>(link: Link, op: string, path: string, request: ModelRequest, accept: (value: ReplyValue) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.post(link, request, (settlement) => {
        timer.cancel();
        if ('error' in settlement) {
          reject(settlement.error);
          return;
        }
        const outcome = settlement.reply.outcome;
        if (!outcome.ok) {
          reject(errorOf(op, path, outcome, request.kind === 'multi' && op === 'multi' ? request.ops : null));
          return;
        }
        try {
          resolve(accept(outcome.value));
        } catch (err) {
          reject(err);
        }
      });
      const timer = this.net.sched.schedule(this.net.requestTimeoutMs, () =>
        this.timedOut(id, new ZkError('TIMEOUT', path, `ZooKeeper ${op} ${path || '(multi)'}: no reply within ${this.net.requestTimeoutMs} ms; it may or may not have taken effect`)),
      );
    });
  }

  /** Sends CLOSE_SESSION after everything already sent; `done` runs once, on its reply or its failure. */
  sendClose(link: Link, done: () => void): void {
    this.post(link, { kind: 'closeSession' }, () => done());
  }

  /** A reply arrived (ignored if its request already settled, e.g. timed out). */
  replied(requestId: number, reply: ServerReply): void {
    const entry = this.entries.get(requestId);
    if (!entry) return;
    this.entries.delete(requestId);
    entry.settle({ reply });
  }

  /** `link` is going: its requests still travelling reach the server or not, a prefix in issue order. */
  landPrefixByChance(link: Link): void {
    if (!link.open) return;
    for (const [id, entry] of [...this.entries]) {
      if (entry.link !== link || entry.travel === null) continue;
      if (!this.net.appliedAnyway()) return;
      entry.travel.cancel();
      entry.travel = null;
      link.server.receive(link, id, entry.request);
    }
  }

  /** Requests still travelling on `link` are lost for good (it went silent). */
  loseTravelling(link: Link): void {
    for (const entry of this.entries.values()) {
      if (entry.link !== link || entry.travel === null) continue;
      entry.travel.cancel();
      entry.travel = null;
    }
  }

  /** Fails every unsettled request (the connection or the session is gone). */
  failAll(code: ZkErrorCode, why: string): void {
    for (const [id, entry] of [...this.entries]) {
      this.entries.delete(id);
      entry.settle({ error: new ZkError(code, '', `ZooKeeper: ${why}`) });
    }
  }

  private post(link: Link, request: ModelRequest, settle: (settlement: Settlement) => void): number {
    const id = ++this.counter;
    const entry: Entry = { request, link, travel: null, settle };
    this.entries.set(id, entry);
    entry.travel = link.toServer(() => {
      entry.travel = null;
      link.server.receive(link, id, request);
    });
    return id;
  }

  /** No reply in time. If it is still travelling, it lands now with the loss probability, or never. */
  private timedOut(id: number, error: ZkError): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    if (entry.travel !== null) {
      entry.travel.cancel();
      entry.travel = null;
      if (this.net.appliedAnyway()) entry.link.server.receive(entry.link, id, entry.request);
    }
    entry.settle({ error });
  }
}
