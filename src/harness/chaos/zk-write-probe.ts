// A bare ZooKeeper client writing beside the voters, so a run can tell the write pause
// duoraft adds from the one ZooKeeper itself imposes (a server dies, the ensemble elects a
// new leader, a session moves to another server). It uses the same client layer and
// session timeout as the voters (src/coordination/zk-client.ts: without its read timeout a
// bare library client never leaves a SIGSTOPped server), one write at a time, each a
// multi of the leader's shape: a check of a version, a 280-byte write, a small tail write.
// Writes go to fixed znodes (setData, not create), so nothing grows during a soak.
import { performance } from 'node:perf_hooks';
import { ZkError, type ZkOp } from '../../coordination/zk-api.js';
import { connectZk, type NodeZkSession } from '../../coordination/zk-client.js';
import type { GapMeter } from './gap-meter.js';
import { sleep } from './time.js';

const ROOT = '/duoraft-chaos-probe';
const SEGMENTS = 16;
const SEGMENT_BYTES = 280;

export interface ZkWriteProbeOptions {
  readonly connectString: string;
  /** The voters' session timeout (duoraft node's default, 4 s). */
  readonly sessionTimeoutMs: number;
  /** Pause between two writes (ms): a finer gap resolution costs ZooKeeper more writes. */
  readonly intervalMs: number;
  readonly meter: GapMeter;
  readonly connectTimeoutMs: number;
}

export interface ZkWriteProbeStats {
  readonly writes: number;
  /** Attempts that failed (not connected, connection lost, timed out); each is retried. */
  readonly failedAttempts: number;
  readonly intervalMs: number;
  /** The last failure, if any, in words. */
  readonly lastError?: string;
}

export class ZkWriteProbe {
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private writes = 0;
  private failed = 0;
  private lastError: string | undefined;

  private constructor(
    private readonly session: NodeZkSession,
    private readonly o: ZkWriteProbeOptions,
    /** The version the check op expects (multi refuses a check of version 0, so the epoch is written once first). */
    private readonly epochVersion: number,
  ) {}

  static async start(o: ZkWriteProbeOptions): Promise<ZkWriteProbe> {
    const session = connectZk({ connectString: o.connectString, sessionTimeoutMs: o.sessionTimeoutMs });
    let epochVersion: number;
    try {
      await session.waitConnected(o.connectTimeoutMs);
      for (const path of [ROOT, `${ROOT}/epoch`, `${ROOT}/tail`, ...Array.from({ length: SEGMENTS }, (_, i) => `${ROOT}/seg-${i}`)]) {
        await session.create(path, new Uint8Array(0), 'persistent').catch((err: unknown) => {
          if (!(err instanceof ZkError && err.code === 'NODE_EXISTS')) throw err;
        });
      }
      epochVersion = (await session.setData(`${ROOT}/epoch`, new Uint8Array([1]), -1)).version;
    } catch (err) {
      await session.close();
      throw err;
    }
    const probe = new ZkWriteProbe(session, o, epochVersion);
    probe.running = true;
    probe.loop = probe.run();
    return probe;
  }

  stats(): ZkWriteProbeStats {
    return { writes: this.writes, failedAttempts: this.failed, intervalMs: this.o.intervalMs, ...(this.lastError !== undefined ? { lastError: this.lastError } : {}) };
  }

  /** Stops after the write in flight (bounded by the client's request timeout) and closes the session. */
  async stop(): Promise<ZkWriteProbeStats> {
    this.running = false;
    await this.loop;
    await this.session.close();
    return this.stats();
  }

  private async run(): Promise<void> {
    const segment = new Uint8Array(SEGMENT_BYTES).fill(0x61);
    const tail = new Uint8Array(8);
    const view = new DataView(tail.buffer);
    while (this.running) {
      view.setFloat64(0, this.writes);
      const ops: ZkOp[] = [
        { type: 'check', path: `${ROOT}/epoch`, version: this.epochVersion },
        { type: 'setData', path: `${ROOT}/seg-${this.writes % SEGMENTS}`, data: segment, version: -1 },
        { type: 'setData', path: `${ROOT}/tail`, data: tail, version: -1 },
      ];
      try {
        await this.session.multi(ops);
        this.writes += 1;
        this.o.meter.record(performance.now());
      } catch (err) {
        // Not connected, connection lost, timed out: the client moves to another server by
        // itself; try again after the usual pause. Anything else (the check failing, say)
        // would fail every time: lastError shows it, and the gaps then cover whole faults.
        this.failed += 1;
        this.lastError = err instanceof Error ? err.message : String(err);
      }
      await sleep(this.o.intervalMs);
    }
  }
}
