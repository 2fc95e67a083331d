// The client's side of exactly-once writes: one session, opened lazily with the first
// write, kept alive while idle, and a sequence number per write that every retry of that
// write reuses. The lowest sequence still waiting for its answer goes with each write, so
// the state machine can forget the answers the client already has.
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { WriteContext } from '../statemachine/command.js';

/** Bound on writes of one session waiting for their answers; more wait for a slot. */
const MAX_OUTSTANDING = 1024;

export interface SessionTransport {
  register(timeoutMs: number): Promise<number>;
  keepAlive(sessionId: number): Promise<void>;
}

export class ClientSession {
  private id = 0;
  private registering: Promise<number> | null = null;
  private nextSeq = 1;
  private readonly outstanding = new Set<number>();
  private slotWaiters: Array<() => void> = [];
  private keepAliveTimer: TimerHandle | null = null;
  private lastWriteAt = 0;
  private closed = false;

  constructor(
    private readonly transport: SessionTransport,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly timeoutMs: number,
  ) {}

  /** The session id (registering one first if needed). */
  async sessionId(): Promise<number> {
    if (this.id) return this.id;
    this.registering ??= this.transport.register(this.timeoutMs).then(
      (id) => {
        this.id = id;
        this.registering = null;
        this.scheduleKeepAlive();
        this.logger.debug({ session: id }, 'session opened');
        return id;
      },
      (err: unknown) => {
        this.registering = null;
        throw err;
      },
    );
    return this.registering;
  }

  /** Starts a write: a fresh sequence number (waits for a slot when too many are outstanding). */
  async begin(): Promise<number> {
    while (this.outstanding.size >= MAX_OUTSTANDING) await new Promise<void>((r) => this.slotWaiters.push(r));
    const seq = this.nextSeq++;
    this.outstanding.add(seq);
    this.lastWriteAt = this.clock.now();
    return seq;
  }

  /** The write context of `seq` under the current session. */
  async context(seq: number): Promise<WriteContext> {
    const sessionId = await this.sessionId();
    let first = seq;
    for (const s of this.outstanding) if (s < first) first = s;
    return { sessionId, sequence: seq, firstOutstanding: first };
  }

  /** The write `seq` got its answer (or the caller gave up on it). */
  end(seq: number): void {
    this.outstanding.delete(seq);
    const w = this.slotWaiters.shift();
    if (w) w();
  }

  /** The session expired: the next write opens a new one. */
  expired(id: number): void {
    if (this.id === id) {
      this.logger.warn({ session: id }, 'session expired; opening a new one with the next write');
      this.id = 0;
      this.keepAliveTimer?.cancel();
      this.keepAliveTimer = null;
    }
  }

  close(): void {
    this.closed = true;
    this.keepAliveTimer?.cancel();
    for (const w of this.slotWaiters) w();
    this.slotWaiters = [];
  }

  private scheduleKeepAlive(): void {
    if (this.closed) return;
    const every = Math.max(100, Math.floor(this.timeoutMs / 3));
    this.keepAliveTimer = this.clock.setTimeout(() => {
      this.keepAliveTimer = null;
      const id = this.id;
      if (!id || this.closed) return;
      // A write in the last interval already kept it alive.
      if (this.clock.now() - this.lastWriteAt < every) {
        this.scheduleKeepAlive();
        return;
      }
      this.transport.keepAlive(id).then(
        () => this.scheduleKeepAlive(),
        (err: unknown) => {
          if ((err as { code?: string }).code === 'SESSION_EXPIRED') this.expired(id);
          else this.scheduleKeepAlive();
        },
      );
    }, every);
  }
}
