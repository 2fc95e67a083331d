// How a listener reaches the members that may feed it: probe a candidate, open a Subscribe
// stream. The running node uses gRPC (grpc-feed-connector.ts); the deterministic simulator
// passes its own over its simulated network, so the listener code it runs is the real one.
import type { duoraft } from '../../common/proto.js';
import type { CandidateProbe } from './upstream-choice.js';

export type FeedBatchIn = duoraft.listener.FeedBatch.$Properties;

export interface SubscribeRequestOut {
  readonly cluster: string;
  readonly listenerId: string;
  readonly fromIndex: number;
  readonly prevChain: Uint8Array;
}

/** What the stream reports to the listener side (each at most once for failed/ended). */
export interface FeedStreamSink {
  batch(b: FeedBatchIn): void;
  /** The stream broke (connection lost, reset, refused). */
  failed(reason: string): void;
  /** The upstream closed the stream. */
  ended(): void;
}

export interface FeedSubscription {
  /** Ends the stream from the listener's side (the upstream sees it cancelled). */
  cancel(): void;
}

export interface FeedConnector {
  /** Asks one candidate what it can offer; null when it does not answer within timeoutMs. */
  probe(cluster: string, selfId: string, id: string, address: string, timeoutMs: number): Promise<CandidateProbe | null>;
  subscribe(address: string, request: SubscribeRequestOut, sink: FeedStreamSink): FeedSubscription;
}
