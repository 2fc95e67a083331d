// Calls a node's Peer service the way a stranger would: in plaintext, claiming whatever
// `from` it likes, with bytes of its own making. Used by the fuzz suite and by the tests of
// issue 11's defects (a forged AppendEntries, absurd terms). Never retries; every call has a
// deadline; the caller learns the gRPC status and, when the body decodes, the response.
import * as grpc from '@grpc/grpc-js';
import { type duoraft, pb } from '../../common/proto.js';

export type PeerMethodName = 'AppendEntries' | 'Heartbeat' | 'RequestVote' | 'TimeoutNow';

export const PEER_METHODS: readonly PeerMethodName[] = ['AppendEntries', 'Heartbeat', 'RequestVote', 'TimeoutNow'];

/** What came back from one call. */
export interface PeerCallOutcome {
  /** gRPC status code (0: OK). */
  readonly code: number;
  readonly details: string;
  /** The response body, as sent (absent unless code is 0). */
  readonly body?: Uint8Array;
  /** Whether the receiver answered no_reply (it dropped the request); null when the body did not decode. */
  readonly noReply: boolean | null;
}

/** The request properties of each method (the generated $Properties types). */
export interface PeerRequests {
  AppendEntries: duoraft.peer.AppendEntriesRequest.$Properties;
  Heartbeat: duoraft.peer.HeartbeatRequest.$Properties;
  RequestVote: duoraft.peer.RequestVoteRequest.$Properties;
  TimeoutNow: duoraft.peer.TimeoutNowRequest.$Properties;
}

/** Encodes a request of `method` with the generated encoders (no checks: the fields are the caller's). */
export function encodePeerRequest<M extends PeerMethodName>(method: M, props: PeerRequests[M]): Uint8Array {
  const p: PeerRequests[PeerMethodName] = props;
  switch (method) {
    case 'AppendEntries':
      return pb.peer.AppendEntriesRequest.encode(p as PeerRequests['AppendEntries']).finish();
    case 'Heartbeat':
      return pb.peer.HeartbeatRequest.encode(p as PeerRequests['Heartbeat']).finish();
    case 'RequestVote':
      return pb.peer.RequestVoteRequest.encode(p as PeerRequests['RequestVote']).finish();
    default:
      return pb.peer.TimeoutNowRequest.encode(p as PeerRequests['TimeoutNow']).finish();
  }
}

/** Whether a response body of `method` says no_reply; null when it does not decode. */
function noReplyOf(method: PeerMethodName, body: Uint8Array): boolean | null {
  try {
    switch (method) {
      case 'AppendEntries':
        return pb.peer.AppendEntriesResponse.decode(body).noReply;
      case 'Heartbeat':
        return pb.peer.HeartbeatResponse.decode(body).noReply;
      case 'RequestVote':
        return pb.peer.RequestVoteResponse.decode(body).noReply;
      case 'TimeoutNow':
        return pb.peer.TimeoutNowResponse.decode(body).noReply;
    }
  } catch {
    return null;
  }
}

const identity = (b: Buffer): Buffer => b;

/** One plaintext channel to one node's port (the Peer service shares it with the client service). */
export class PeerCaller {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  /** Sends `body` as the request of `method`, exactly as given. */
  call(method: PeerMethodName, body: Uint8Array, timeoutMs = 2000): Promise<PeerCallOutcome> {
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return new Promise((resolve) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(`/duoraft.peer.Peer/${method}`, identity, identity, buf, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err || !res) {
          resolve({ code: err?.code ?? grpc.status.UNKNOWN, details: err?.details ?? 'no response', noReply: null });
          return;
        }
        resolve({ code: 0, details: '', body: new Uint8Array(res), noReply: noReplyOf(method, res) });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
