// One pipeline stream to one member: operations issued in the same turn of the event loop
// leave together in one message, and their results come back as they complete. A unary
// gRPC call costs a Node client a few hundred microseconds of CPU; this costs a few.
//
// If the stream breaks, every operation waiting on it fails with PipelineBrokenError (for a
// write: outcome unknown, for the caller's retry logic to handle); the next operation opens
// a new stream.
import type * as grpc from '@grpc/grpc-js';
import type { Clock, TimerHandle } from '../common/clock.js';
import { BusyError } from '../common/errors.js';
import type { duoraft } from '../common/proto.js';
import { type KvClient, MAX_PIPELINE_BATCH_OPS, kvService } from '../server/kv-service.js';

export type PipelinedOp =
  | { readonly put: duoraft.client.PutRequest.$Properties }
  | { readonly get: duoraft.client.GetRequest.$Properties }
  | { readonly delete: duoraft.client.DeleteRequest.$Properties }
  | { readonly incr: duoraft.client.IncrRequest.$Properties }
  | { readonly cas: duoraft.client.CasRequest.$Properties };

export type PipelineResponse = duoraft.client.PipelineResponse;

/**
 * The stream broke or the operation's own deadline passed: it may or may not have happened.
 * `code` and `details` are the gRPC status the stream ended with, when it ended with one
 * (UNAUTHENTICATED when the member refused our credentials, for instance).
 */
export class PipelineBrokenError extends Error {
  constructor(
    message: string,
    readonly code?: number,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'PipelineBrokenError';
  }
}

interface Waiting {
  readonly resolve: (r: PipelineResponse) => void;
  readonly reject: (e: Error) => void;
  readonly timer: TimerHandle;
}

/** Bound on operations waiting on one stream. */
const MAX_WAITING = 16_384;

export class PipelineConnection {
  private stream: grpc.ClientDuplexStream<duoraft.client.PipelineRequestBatch.$Properties, duoraft.client.PipelineResponseBatch> | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private queued: duoraft.client.PipelineRequest.$Properties[] = [];
  private flushing = false;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly client: InstanceType<typeof KvClient>,
    private readonly clock: Clock,
    readonly address: string,
  ) {}

  /** Sends one operation; resolves with its response, rejects if the stream breaks or timeoutMs passes. */
  send(op: PipelinedOp, timeoutMs: number): Promise<PipelineResponse> {
    if (this.closed) return Promise.reject(new PipelineBrokenError('pipeline closed'));
    if (this.waiting.size >= MAX_WAITING) {
      return Promise.reject(new BusyError(10, { leaderId: '', leaderAddress: '' }, `more than ${MAX_WAITING} operations waiting on ${this.address}`));
    }
    const id = this.nextId++;
    return new Promise<PipelineResponse>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.waiting.delete(id)) reject(new PipelineBrokenError(`no answer from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.queued.push({ id, ...op });
      if (!this.flushing) {
        this.flushing = true;
        this.clock.defer(() => this.flush());
      }
    });
  }

  close(): void {
    this.closed = true;
    this.breakAll('pipeline closed');
    this.stream?.end();
    this.stream = null;
  }

  private flush(): void {
    this.flushing = false;
    if (this.queued.length === 0) return;
    const queued = this.queued;
    this.queued = [];
    const s = this.open();
    // A member refuses batches of more than MAX_PIPELINE_BATCH_OPS operations.
    for (let at = 0; at < queued.length; at += MAX_PIPELINE_BATCH_OPS) s.write({ requests: queued.slice(at, at + MAX_PIPELINE_BATCH_OPS) });
  }

  private open(): NonNullable<PipelineConnection['stream']> {
    if (this.stream) return this.stream;
    const def = kvService.pipeline;
    const s = this.client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize);
    s.on('data', (batch: duoraft.client.PipelineResponseBatch) => {
      for (const r of batch.responses) {
        const id = r.id ?? 0;
        const w = this.waiting.get(id);
        if (!w) continue; // timed out already
        this.waiting.delete(id);
        w.timer.cancel();
        w.resolve(r as PipelineResponse);
      }
    });
    const broken = (why: string, status?: grpc.ServiceError): void => {
      if (this.stream !== s) return;
      this.stream = null;
      this.breakAll(why, status);
    };
    s.on('error', (err: grpc.ServiceError) => broken(`stream to ${this.address} failed: ${err.message}`, err));
    s.on('end', () => broken(`stream to ${this.address} ended`));
    s.on('close', () => broken(`stream to ${this.address} closed`));
    this.stream = s;
    return s;
  }

  private breakAll(why: string, status?: grpc.ServiceError): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) {
      w.timer.cancel();
      w.reject(new PipelineBrokenError(why, status?.code, status?.details));
    }
  }
}
