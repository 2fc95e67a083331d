// One chaos client: its own connection, one operation at a time, each recorded with its
// invocation and response times on the shared monotonic clock (performance.now()).
import { performance } from 'node:perf_hooks';
import type { DuoraftClient } from '../../client/client.js';
import { DuoraftError } from '../../common/errors.js';
import type { KvInput, KvOutput } from '../checker/index.js';
import type { AckTracker } from './ack-tracker.js';
import type { OpChooser, PlannedOp } from './op-mix.js';
import type { HistoryRecorder, Outcome } from './recorder.js';
import type { RetryObserver } from './retry-observer.js';
import { sleep } from './time.js';

const decoder = new TextDecoder();

export interface ChaosClientParts {
  readonly id: number;
  readonly client: DuoraftClient;
  readonly retries: RetryObserver;
  readonly chooser: OpChooser;
  readonly recorder: HistoryRecorder;
  readonly acks: AckTracker;
  /** The key generation for new calls (the number of faults injected so far). */
  readonly generation: () => number;
  readonly thinkMs: number;
}

export class ChaosClient {
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly p: ChaosClientParts) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the call in flight (bounded by the client's deadline). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  async close(): Promise<void> {
    await this.p.client.close();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const recorded = this.p.recorder.recording();
      const op = this.p.chooser.next(this.p.generation(), recorded);
      this.p.retries.reset();
      const call = performance.now();
      const { outcome, by } = await this.execute(op);
      const input = inputOf(op);
      this.p.recorder.add({
        client: this.p.id,
        key: op.key,
        space: op.space,
        call,
        input,
        outcome,
        retriedAfterUnknown: op.kind !== 'get' && this.p.retries.retriedAfterUnknown(),
        recorded,
      });
      if (outcome.type === 'ok') {
        const seen = seenValue(op, outcome.output);
        if (seen !== undefined) this.p.chooser.observe(op.key, seen);
        const isWrite = op.kind !== 'get';
        this.p.acks.onAck(outcome.at, isWrite);
        if (isWrite) this.p.acks.onWriteAck({ at: outcome.at, call, by });
      }
      if (this.p.thinkMs > 0) await sleep(this.p.thinkMs);
    }
  }

  private async execute(op: PlannedOp): Promise<{ outcome: Outcome; by: string | null }> {
    const c = this.p.client;
    try {
      let output: KvOutput;
      let by: string | null = null;
      switch (op.kind) {
        case 'put': {
          const r = await c.put(op.key, op.value);
          output = { kind: 'put' };
          by = r.by;
          break;
        }
        case 'get': {
          const r = await c.get(op.key, { consistency: op.consistency });
          output = r.found ? { kind: 'get', found: true, value: decoder.decode(r.value) } : { kind: 'get', found: false };
          break;
        }
        case 'del': {
          const r = await c.del(op.key);
          output = { kind: 'del', deleted: r.deleted };
          by = r.by;
          break;
        }
        case 'incr': {
          const r = await c.incr(op.key, op.delta);
          output = { kind: 'incr', value: r.value };
          by = r.by;
          break;
        }
        case 'cas': {
          const r = await c.cas(op.key, op.expected, op.value);
          output = r.succeeded ? { kind: 'cas', ok: true } : { kind: 'cas', ok: false, current: r.current === null ? null : decoder.decode(r.current) };
          by = r.by;
          break;
        }
      }
      return { outcome: { type: 'ok', at: performance.now(), output }, by };
    } catch (err) {
      const at = performance.now();
      return { outcome: { type: this.classify(op, err), at }, by: null };
    }
  }

  /**
   * A read that failed changed nothing. A write failed for sure only on INVALID_ARGUMENT
   * (refused before it reached the log). Anything else may have taken effect: a timeout,
   * an unknown outcome, a broken connection, and also NOT_LEADER at the deadline, since an
   * earlier attempt of the same call may have reached a leader. Sessions make the retries
   * exactly-once, so such a call took effect once or not at all: one unknown operation.
   */
  private classify(op: PlannedOp, err: unknown): 'unknown' | 'failed' {
    if (op.kind === 'get') return 'failed';
    return err instanceof DuoraftError && err.code === 'INVALID_ARGUMENT' ? 'failed' : 'unknown';
  }
}

/** The register value a successful call saw or left (undefined: it says nothing about one). */
function seenValue(op: PlannedOp, out: KvOutput): string | null | undefined {
  if (op.space !== 'register') return undefined;
  if (op.kind === 'put') return op.value;
  if (op.kind === 'del') return null;
  if (out.kind === 'get') return out.found ? out.value : null;
  if (out.kind === 'cas' && op.kind === 'cas') return out.ok ? op.value : out.current;
  return undefined;
}

function inputOf(op: PlannedOp): KvInput {
  switch (op.kind) {
    case 'put':
      return { kind: 'put', value: op.value };
    case 'get':
      return { kind: 'get' };
    case 'del':
      return { kind: 'del' };
    case 'incr':
      return { kind: 'incr', delta: op.delta };
    case 'cas':
      return { kind: 'cas', expected: op.expected, next: op.value };
  }
}
