// A TCP relay that delays what it carries: the user-space stand-in for `tc netem delay`,
// which this kernel lacks. Each chunk read from one side is written to the other after
// latency ± jitter (uniform), but never before the chunk read before it on the same
// connection and direction, so a connection's bytes stay in order, as on a real link.
//
// The relay listens on its own address on the run's bridge and connects onward from that
// same address, so the voters' firewalls can tell its traffic apart from every other
// relay's (firewall.ts drops by address).
//
// Buffers are bounded: a direction holding more than HIGH_WATER bytes pauses its source
// until it drains below LOW_WATER, and a destination that cannot keep up pauses the flush.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { RelayLateness } from './relay-lateness.js';

export interface Delay {
  readonly latencyMs: number;
  readonly jitterMs: number;
}

export const NO_DELAY: Delay = { latencyMs: 0, jitterMs: 0 };

export interface RelaySpec {
  /** A name the controller uses for this relay (e.g. "peer-b"). */
  readonly name: string;
  /** Where it listens, and the address its onward connections come from. */
  readonly address: string;
  readonly target: { readonly host: string; readonly port: number };
}

export interface Relay {
  readonly name: string;
  readonly port: number;
  setDelay(d: Delay): void;
  close(): Promise<void>;
}

const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 << 10;

/** One direction of one connection. */
class DelayedPipe {
  private readonly queue: Array<{ readonly at: number; readonly chunk: Buffer }> = [];
  private queuedBytes = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingDrain = false;
  private ended = false;

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly delay: () => Delay,
    private readonly random: () => number,
    /** Called for every chunk written: how long after it was due. */
    private readonly onLate: (lateMs: number) => void,
  ) {
    src.on('data', (chunk: Buffer) => this.onData(chunk));
    src.on('end', () => {
      this.ended = true;
      this.maybeEnd();
    });
  }

  private sample(): number {
    const d = this.delay();
    return Math.max(0, d.latencyMs + (2 * this.random() - 1) * d.jitterMs);
  }

  private onData(chunk: Buffer): void {
    const now = performance.now();
    const wait = this.sample();
    if (wait === 0 && this.queue.length === 0 && !this.waitingDrain) {
      this.onLate(0);
      this.write(chunk);
      return;
    }
    // Never before the chunk ahead of it: order within the connection is kept.
    const at = Math.max(now + wait, this.lastAt);
    this.lastAt = at;
    this.queue.push({ at, chunk });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > HIGH_WATER) this.src.pause();
    this.schedule();
  }

  private write(chunk: Buffer): void {
    if (this.dst.destroyed) return;
    if (!this.dst.write(chunk)) {
      this.waitingDrain = true;
      this.dst.once('drain', () => {
        this.waitingDrain = false;
        this.flush();
      });
    }
  }

  private schedule(): void {
    if (this.timer !== null || this.waitingDrain) return;
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.flush();
      },
      Math.max(0, head.at - performance.now()),
    );
  }

  private flush(): void {
    const now = performance.now();
    while (!this.waitingDrain && this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { at, chunk } = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      this.onLate(now - at);
      this.write(chunk);
    }
    if (this.queuedBytes < LOW_WATER && this.src.isPaused() && !this.src.destroyed) this.src.resume();
    this.schedule();
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.ended && this.queue.length === 0 && !this.waitingDrain && !this.dst.destroyed) this.dst.end();
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

function reset(s: net.Socket): void {
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export function startRelay(spec: RelaySpec, random: () => number = Math.random, lateness: RelayLateness = new RelayLateness()): Promise<Relay> {
  let delay: Delay = NO_DELAY;
  const onLate = (lateMs: number): void => lateness.record(spec.name, lateMs, Date.now());
  const sockets = new Set<net.Socket>();
  // Half-open: one side's end is passed on (after the bytes still delayed) while the other
  // direction keeps flowing, as TCP does end to end.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    client.pause();
    client.setNoDelay(true);
    const upstream = net.connect({ host: spec.target.host, port: spec.target.port, localAddress: spec.address, allowHalfOpen: true });
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const pipes = [new DelayedPipe(client, upstream, () => delay, random, onLate), new DelayedPipe(upstream, client, () => delay, random, onLate)];
    const onClose = (side: net.Socket, other: net.Socket) => (hadError: boolean) => {
      sockets.delete(side);
      // An error is passed on as a reset; a clean close was already passed on as an end.
      if (hadError) reset(other);
      if (side.destroyed && other.destroyed) for (const p of pipes) p.dispose();
    };
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', onClose(client, upstream));
    upstream.on('close', onClose(upstream, client));
    upstream.once('connect', () => client.resume());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: spec.address, port: 0 }, () => {
      server.removeListener('error', reject);
      const a = server.address();
      if (a === null || typeof a === 'string') {
        reject(new Error(`relay ${spec.name}: could not read its port`));
        return;
      }
      resolve({
        name: spec.name,
        port: a.port,
        setDelay(d: Delay) {
          if (!(d.latencyMs >= 0 && d.jitterMs >= 0 && d.jitterMs <= d.latencyMs)) {
            throw new Error(`relay ${spec.name}: need 0 <= jitter <= latency, got ${d.latencyMs} ± ${d.jitterMs} ms`);
          }
          delay = d;
        },
        close() {
          for (const s of sockets) s.destroy();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}
