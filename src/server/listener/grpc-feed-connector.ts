// The listener's side of ListenerFeed over gRPC (proto/listener.proto): Probe, Subscribe,
// and the admin Drop.
import * as grpc from '@grpc/grpc-js';
import type { duoraft } from '../../common/proto.js';
import { ListenerFeedClient, type ListenerFeedClientInstance, listenerFeedService } from '../../transport/listener-feed-service.js';
import type { CandidateProbe } from './upstream-choice.js';
import type { FeedConnector, FeedStreamSink, FeedSubscription, SubscribeRequestOut } from './feed-connector.js';

const MAX_FEED_MESSAGE_BYTES = 64 << 20;

function channel(address: string): ListenerFeedClientInstance {
  return new ListenerFeedClient(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_FEED_MESSAGE_BYTES,
    'grpc.enable_retries': 0,
    'grpc.enable_channelz': 0,
  });
}

/** Asks one candidate what it can offer; null when it does not answer in time. */
export function probeUpstream(cluster: string, selfId: string, id: string, address: string, timeoutMs: number): Promise<CandidateProbe | null> {
  const client = channel(address);
  const def = listenerFeedService.probe;
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { cluster, listenerId: selfId }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err || !res) return resolve(null);
      resolve({
        id,
        address,
        canFeed: res.canFeed === true,
        depth: res.depth ?? 0,
        listeners: res.listeners ?? 0,
        fanout: res.fanout ?? 0,
        path: res.path ?? [],
      });
    });
  });
}

/** Asks a member to drop a listener it feeds (admin drop-listener). */
export function askDrop(address: string, listenerId: string, timeoutMs: number): Promise<boolean> {
  const client = channel(address);
  const def = listenerFeedService.drop;
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { listenerId }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      resolve(!err && res?.dropped === true);
    });
  });
}

function subscribe(address: string, request: SubscribeRequestOut, sink: FeedStreamSink): FeedSubscription {
  const client = channel(address);
  const def = listenerFeedService.subscribe;
  const call = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, { ...request });
  call.on('data', (b: duoraft.listener.FeedBatch) => sink.batch(b));
  call.on('error', (err: Error) => sink.failed(err.message));
  call.on('end', () => sink.ended());
  return {
    cancel: () => {
      call.cancel();
      client.close();
    },
  };
}

export const grpcFeedConnector: FeedConnector = { probe: probeUpstream, subscribe };
