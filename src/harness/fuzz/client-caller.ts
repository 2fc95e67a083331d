// Calls a member's client service with bodies of our own making, in plaintext: unary
// methods with raw bytes, and a Pipeline stream fed raw batches. No retries, no leader
// discovery; every call has a deadline, every stream is cancelled at its deadline.
import * as grpc from '@grpc/grpc-js';
import { type duoraft, pb } from '../../common/proto.js';

export type KvUnaryName = 'Put' | 'Get' | 'Delete' | 'Incr' | 'Cas' | 'RegisterSession' | 'KeepAlive' | 'Status' | 'TransferLeadership';

export const KV_UNARY_METHODS: readonly KvUnaryName[] = ['Put', 'Get', 'Delete', 'Incr', 'Cas', 'RegisterSession', 'KeepAlive', 'Status', 'TransferLeadership'];

export interface UnaryOutcome {
  readonly code: number;
  readonly details: string;
  /** The in-band error code of the response (0: none), when it decodes. */
  readonly errorCode: number;
  readonly body?: Uint8Array;
}

export interface PipelineOutcome {
  readonly code: number;
  readonly details: string;
  /** Every response received, in order. */
  readonly responses: readonly duoraft.client.PipelineResponse.$Properties[];
  /** Batches that did not decode (the member never sends one: counted to be sure). */
  readonly undecodable: number;
  /** Why the first of them did not decode. */
  readonly undecodableReason?: string;
  /** The stream ended (or failed) before the deadline. */
  readonly finished: boolean;
}

const identity = (b: Buffer): Buffer => b;

/** The in-band error code of any Kv response body: field 1 is `Error error` in every one of them. */
function errorCodeOf(body: Uint8Array): number {
  try {
    // PutResponse has the shape every response shares in field 1.
    return pb.client.PutResponse.decode(body).error?.code ?? 0;
  } catch {
    return -1;
  }
}

export class ClientCaller {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  unary(method: KvUnaryName, body: Uint8Array, timeoutMs = 3000): Promise<UnaryOutcome> {
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return new Promise((resolve) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(`/duoraft.client.Kv/${method}`, identity, identity, buf, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err || !res) {
          resolve({ code: err?.code ?? grpc.status.UNKNOWN, details: err?.details ?? 'no response', errorCode: 0 });
          return;
        }
        const bytes = new Uint8Array(res);
        resolve({ code: 0, details: '', errorCode: errorCodeOf(bytes), body: bytes });
      });
    });
  }

  /**
   * Opens a Pipeline stream, writes `batches` as they are, half-closes it and collects
   * responses until the member ends the stream or `timeoutMs` passes (then it is cancelled).
   */
  pipeline(batches: readonly Uint8Array[], timeoutMs = 5000): Promise<PipelineOutcome> {
    const stream = this.client.makeBidiStreamRequest<Buffer, Buffer>('/duoraft.client.Kv/Pipeline', identity, identity, { deadline: Date.now() + timeoutMs + 1000 });
    const responses: duoraft.client.PipelineResponse.$Properties[] = [];
    let undecodable = 0;
    let undecodableReason: string | undefined;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (code: number, details: string, finished: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ code, details, responses, undecodable, finished, ...(undecodableReason !== undefined ? { undecodableReason } : {}) });
      };
      const timer = setTimeout(() => {
        finish(grpc.status.DEADLINE_EXCEEDED, 'stream still open at the deadline', false);
        stream.cancel();
      }, timeoutMs);
      stream.on('data', (b: Buffer) => {
        try {
          // One by one: a batch can hold more responses than a spread takes arguments.
          for (const r of pb.client.PipelineResponseBatch.decode(b).responses) responses.push(r);
        } catch (err) {
          undecodable++;
          undecodableReason ??= `${b.length} bytes: ${err instanceof Error ? err.message : String(err)}`;
        }
      });
      stream.on('error', (err: grpc.ServiceError) => finish(err.code, err.details, true));
      stream.on('end', () => finish(0, '', true));
      for (const b of batches) stream.write(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      stream.end();
    });
  }

  close(): void {
    this.client.close();
  }
}
