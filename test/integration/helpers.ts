// Shared pieces of the integration tests: a background writer that records what was
// acknowledged, and direct calls to one member (bypassing the client's leader discovery).
import * as grpc from '@grpc/grpc-js';
import { connect, type DuoraftClient } from '../../src/client/client.js';
import { fromWireError } from '../../src/common/error-codes.js';
import type { DuoraftError } from '../../src/common/errors.js';
import { pb } from '../../src/common/proto.js';
import { KvClient, kvService } from '../../src/server/kv-service.js';

let clusterSeq = 0;
/** A cluster name no other test in this process uses. */
export function uniqueCluster(prefix: string): string {
  return `${prefix}-${process.pid}-${++clusterSeq}`;
}

export async function client(zk: string, cluster: string, deadlineMs = 15_000): Promise<DuoraftClient> {
  return connect({ zk, cluster, deadlineMs });
}

export interface WriterReport {
  readonly acked: readonly string[];
  readonly errors: readonly string[];
  /** Wall-clock times (ms) of every acknowledgement, in order. */
  readonly ackTimes: readonly number[];
}

/** Writes key-<n> = value-<n> one after another until stopped. */
export class Writer {
  private stopped = false;
  private readonly acked: string[] = [];
  private readonly ackTimes: number[] = [];
  private readonly errors: string[] = [];
  private readonly done: Promise<void>;

  constructor(
    private readonly c: DuoraftClient,
    private readonly prefix: string,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const key = `${this.prefix}-${n}`;
      try {
        await this.c.put(key, `value-${n}`);
        this.acked.push(key);
        this.ackTimes.push(Date.now());
      } catch (err) {
        this.errors.push(`${key}: ${(err as Error).message}`);
      }
    }
  }

  count(): number {
    return this.acked.length;
  }

  async stop(): Promise<WriterReport> {
    this.stopped = true;
    await this.done;
    return { acked: this.acked, errors: this.errors, ackTimes: this.ackTimes };
  }
}

/** Every key in `keys` reads back with its value through a linearizable read. */
export async function missingKeys(c: DuoraftClient, keys: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const key of keys) {
    const r = await c.get(key);
    const n = key.slice(key.lastIndexOf('-') + 1);
    if (!r.found || new TextDecoder().decode(r.value) !== `value-${n}`) missing.push(key);
  }
  return missing;
}

/** One call to one member's client service, no retries, no redirects. */
export class DirectMember {
  private readonly c: InstanceType<typeof KvClient>;

  constructor(address: string) {
    this.c = new KvClient(address, grpc.credentials.createInsecure());
  }

  put(key: string, value: string, timeoutMs = 5000): Promise<{ index: number } | DuoraftError> {
    const def = kvService.put;
    return new Promise((resolve, reject) => {
      this.c.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { key, value: new TextEncoder().encode(value) }, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err || !res) return reject(err ?? new Error('no response'));
        const e = fromWireError(res.error);
        resolve(e ?? { index: res.index });
      });
    });
  }

  get(key: string, consistency: 'linearizable' | 'lease' | 'stale', timeoutMs = 5000): Promise<{ found: boolean; value: string; index: number } | DuoraftError> {
    const def = kvService.get;
    const c = consistency === 'stale' ? pb.client.Consistency.STALE : consistency === 'lease' ? pb.client.Consistency.LEASE : pb.client.Consistency.LINEARIZABLE;
    return new Promise((resolve, reject) => {
      this.c.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { key, consistency: c }, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err || !res) return reject(err ?? new Error('no response'));
        const e = fromWireError(res.error);
        resolve(e ?? { found: res.found, value: new TextDecoder().decode(res.value), index: res.index });
      });
    });
  }

  /** Sends raw bytes as a Put request body (to check malformed input is refused cleanly). */
  rawPut(body: Buffer, timeoutMs = 5000): Promise<{ code: number; message: string }> {
    const def = kvService.put;
    return new Promise((resolve, reject) => {
      this.c.makeUnaryRequest(def.path, (b: Buffer) => b, def.responseDeserialize, body, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err || !res) return reject(err ?? new Error('no response'));
        resolve({ code: res.error?.code ?? 0, message: res.error?.message ?? '' });
      });
    });
  }

  close(): void {
    this.c.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
