// The peer transport over gRPC: the core's requests become unary calls of the Peer
// service (proto/peer.proto), and the core's replies answer the calls the peer made.
//
// Correlation. An incoming call is validated, given a fresh rpcId (an increasing
// integer), parked in PendingCalls and delivered to the handler as a core message with
// that rpcId. The core copies the rpcId into its reply; send() looks the call up by it
// and answers it. Replies to our own calls need no ids: each call's callback converts
// its response and delivers it.
//
// Bounds. Outgoing: at most maxOutstandingPerPeer calls in flight per peer, each with a
// deadline by request type; beyond the bound, or on any call error, the core gets an
// 'unreachable' message and retries as it sees fit. Incoming: at most maxPendingReplies
// calls wait for the core, each for at most replyTimeoutMs; after that, and for every
// foreign or malformed request, the call is answered with no_reply (the caller drops it).
//
// Authentication. With TLS material (mutual TLS between the voters), every incoming call
// must come with a certificate signed by the cluster CA that names another voter of this
// cluster (SAN URI duoraft://CLUSTER/voter/ID; one of `voters` when those are known), and
// the request's `from` must be that voter. Anything else is refused with UNAUTHENTICATED
// or PERMISSION_DENIED before it is decoded further, with one rate-limited warning; the
// handler is told who proved to be the sender (MessageSender). Our own calls insist that
// the peer's certificate names the voter we mean to reach.
//
// Reentrancy. Messages that send() itself produces ('unreachable' for a peer without an
// address or over its bound) and disconnect notices are delivered on a later turn via
// Clock#defer, so the handler never runs inside the driver's own call to send().
import { GrpcSnapshotTransfer } from './grpc-snapshot-transfer.js';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../common/clock.js';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { type AppendEntries, type Heartbeat, type Message, type TimeoutNow, type Unreachable, type Vote, isRequest } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import { peerChannelSecurity } from './channel-security.js';
import { classifyTlsFailure, oneLine, speaksTls } from './connection-diagnosis.js';
import { type ConnectionState, PeerChannel } from './peer-channel.js';
import {
  MalformedPeerMessageError,
  decodeAppend,
  decodeAppendReply,
  decodeHeartbeat,
  decodeHeartbeatReply,
  decodeTimeoutNow,
  decodeVote,
  decodeVoteReply,
  encodeAppend,
  encodeAppendReply,
  encodeHeartbeat,
  encodeHeartbeatReply,
  encodeTimeoutNow,
  encodeVote,
  encodeVoteReply,
} from './peer-codec.js';
import { type PeerHandlers, type PeerMethod, type Received, peerService } from './peer-service.js';
import { PendingCalls, type ReplyMessage, type ReplyType } from './pending-calls.js';
import { voterIdOf } from './tls-identity.js';
import type { TlsMaterial } from './tls-material.js';
import type { MessageSender, PeerTransport } from './transport.js';
import { WarningThrottle } from '../common/warning-throttle.js';

export interface RequestTimeouts {
  /** AppendEntries deadline (default 2000 ms): bodies can be large. */
  readonly append?: number;
  /** Heartbeat deadline (default 1000 ms). */
  readonly heartbeat?: number;
  /** RequestVote deadline (default 300 ms): a pre-vote that takes longer is as good as lost. */
  readonly vote?: number;
  /** TimeoutNow deadline (default 1000 ms). */
  readonly timeoutNow?: number;
}

export interface GrpcPeerTransportOptions {
  readonly selfId: NodeId;
  /** The cluster name; requests carrying another one are refused. */
  readonly cluster: string;
  /** For reply timeouts and deferred deliveries. gRPC deadlines use the wall clock (Date). */
  readonly clock: Clock;
  readonly logger: Logger;
  readonly requestTimeoutMs?: RequestTimeouts;
  /** Calls in flight to one peer before further requests are refused as 'unreachable' (default 256). */
  readonly maxOutstandingPerPeer?: number;
  /** How long an incoming call waits for the core's reply before it is answered with no_reply (default 2000 ms). */
  readonly replyTimeoutMs?: number;
  /** Incoming calls that may wait for the core at once; more are answered with no_reply (default 4096). */
  readonly maxPendingReplies?: number;
  /**
   * This voter's certificate and key and the cluster CA: mutual TLS with the peer (the
   * server hosting the service must use serverCredentials(tls)). Absent or null: plaintext,
   * and senders are 'unverified'.
   */
  readonly tls?: TlsMaterial | null;
  /** The voters, when fixed by configuration: with TLS, a certificate naming another voter is refused. */
  readonly voters?: readonly NodeId[];
}

/** Why a peer call is refused, and the gRPC status that says so. */
interface Refusal {
  readonly code: grpc.status.UNAUTHENTICATED | grpc.status.PERMISSION_DENIED;
  readonly why: string;
}

type RequestMessage = AppendEntries | Heartbeat | Vote | TimeoutNow;

/** The server side of one method: how to read its request and write its responses. */
interface Route<ReqIn, ResOut> {
  readonly name: string;
  readonly decode: (request: ReqIn) => RequestMessage;
  /** The reply type that answers it; null for TimeoutNow, which the core never answers. */
  readonly expects: ReplyType | null;
  /** The response for the core's reply, or null if the reply does not fit this method. */
  readonly encodeReply: (reply: ReplyMessage) => ResOut | null;
  readonly noReply: ResOut;
  /** The response when the core does not answer (TimeoutNow). */
  readonly empty: ResOut;
}

interface PeerLink {
  readonly address: string;
  /** Created when first needed: on our first request to the peer or its first request to us. */
  channel: PeerChannel | null;
}

const LOCAL: MessageSender = { kind: 'local' };
const UNVERIFIED: MessageSender = { kind: 'unverified' };

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new ConfigError(`${name} must be a positive number, got ${String(value)}`);
  return v;
}

function errorSummary(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class GrpcPeerTransport implements PeerTransport {
  private readonly selfId: NodeId;
  private readonly cluster: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timeouts: Readonly<Record<RequestMessage['type'], number>>;
  private readonly maxOutstandingPerPeer: number;
  private readonly pending: PendingCalls;
  private readonly peers = new Map<NodeId, PeerLink>();
  /** Our calls in flight, per peer (kept across address changes, so the bound holds). */
  private readonly outstanding = new Map<NodeId, Set<grpc.ClientUnaryCall>>();
  private readonly disconnectListeners: Array<(id: NodeId) => void> = [];
  private handler: ((m: Message, sender: MessageSender) => void) | null = null;
  private readonly tls: TlsMaterial | null;
  private readonly voters: readonly NodeId[] | null;
  private readonly warnings: WarningThrottle;
  /** Per peer address, whether it speaks TLS: asked once, when a plaintext call there fails to connect. */
  private readonly tlsProbes = new Map<string, Promise<boolean>>();
  private closed = false;
  /** Snapshots between the voters, over this transport's channels and checks. */
  readonly snapshots: GrpcSnapshotTransfer;

  /** Throws ConfigError for an empty selfId or cluster, or a non-positive timeout or bound. */
  constructor(options: GrpcPeerTransportOptions) {
    if (options.selfId === '') throw new ConfigError('selfId must not be empty');
    if (options.cluster === '') throw new ConfigError('cluster must not be empty');
    this.selfId = options.selfId;
    this.cluster = options.cluster;
    this.clock = options.clock;
    this.logger = options.logger;
    this.tls = options.tls ?? null;
    if (this.tls !== null && (this.tls.cert === undefined || this.tls.key === undefined)) {
      throw new ConfigError('mutual TLS between the voters needs this voter\'s certificate and key');
    }
    this.voters = options.voters ?? null;
    this.warnings = new WarningThrottle(this.logger, this.clock);
    const t = options.requestTimeoutMs ?? {};
    this.timeouts = {
      append: positive('requestTimeoutMs.append', t.append, 2000),
      heartbeat: positive('requestTimeoutMs.heartbeat', t.heartbeat, 1000),
      vote: positive('requestTimeoutMs.vote', t.vote, 300),
      timeoutNow: positive('requestTimeoutMs.timeoutNow', t.timeoutNow, 1000),
    };
    this.maxOutstandingPerPeer = positive('maxOutstandingPerPeer', options.maxOutstandingPerPeer, 256);
    const replyTimeoutMs = positive('replyTimeoutMs', options.replyTimeoutMs, 2000);
    const maxPending = positive('maxPendingReplies', options.maxPendingReplies, 4096);
    this.pending = new PendingCalls(this.clock, replyTimeoutMs, maxPending, (rpcId, call) => {
      this.logger.debug({ rpcId, peer: call.caller, expects: call.expects }, 'core did not reply in time; answered no_reply');
    });
    this.snapshots = new GrpcSnapshotTransfer(
      {
        selfId: this.selfId,
        cluster: this.cluster,
        logger: this.logger,
        unary: (peer, method, request, timeoutMs) => this.unaryTo(peer, method, request, timeoutMs),
        callerOf: (call) => {
          const who = this.authenticate(call);
          if ('why' in who) return who;
          return { id: who.kind === 'verified' ? who.id : null };
        },
      },
      peerService,
    );
  }

  // ------------------------------------------------------------ PeerTransport

  send(m: Message): void {
    if (this.closed) return;
    try {
      switch (m.type) {
        case 'append':
          this.call(m, peerService.appendEntries, encodeAppend(m, this.cluster), (res) => (res.noReply ? null : decodeAppendReply(res)));
          return;
        case 'heartbeat':
          this.call(m, peerService.heartbeat, encodeHeartbeat(m, this.cluster), (res) => (res.noReply ? null : decodeHeartbeatReply(res)));
          return;
        case 'vote':
          this.call(m, peerService.requestVote, encodeVote(m, this.cluster), (res) => (res.noReply ? null : decodeVoteReply(res)));
          return;
        case 'timeoutNow':
          this.call(m, peerService.timeoutNow, encodeTimeoutNow(m, this.cluster), () => null);
          return;
        case 'appendReply':
        case 'heartbeatReply':
        case 'voteReply':
          this.answer(m);
          return;
        case 'unreachable':
          this.logger.warn({ to: m.to }, "'unreachable' is a local message and is never sent; dropped");
          return;
      }
    } catch (err) {
      // Nothing above should throw; if it does, the core still hears of the failure.
      this.logger.error({ err, type: m.type, to: m.to }, 'sending a peer message failed');
      if (isRequest(m)) this.deliverLater(this.unreachable(m.to));
    }
  }

  setHandler(handler: (m: Message, sender: MessageSender) => void): void {
    this.handler = handler;
  }

  setPeerAddress(id: NodeId, address: string): void {
    if (this.closed) return;
    if (id === this.selfId) {
      this.logger.warn({ id, address }, 'ignoring an address for this node itself');
      return;
    }
    const link = this.peers.get(id);
    if (link?.address === address) return;
    link?.channel?.close();
    if (link) this.tlsProbes.delete(link.address);
    if (address === '') this.peers.delete(id);
    else this.peers.set(id, { address, channel: null });
    this.logger.info({ peer: id, address, previous: link?.address ?? '' }, 'peer address set');
  }

  onPeerDisconnected(listener: (id: NodeId) => void): void {
    this.disconnectListeners.push(listener);
  }

  /**
   * A restarted peer is reachable as soon as it listens, but a channel that failed to reach
   * it meanwhile waits out grpc's reconnect backoff (up to 500 ms, peer-channel.ts) before
   * trying again: after a restart, the leader reached its follower 0-500 ms late, and the
   * restart's catch-up waited that long. A channel in TRANSIENT_FAILURE (backing off) is
   * dropped, so the next send opens a new one at once; any other state is left alone (an
   * attempt under way, or connected).
   */
  peerMayBeBack(id: NodeId): void {
    const link = this.peers.get(id);
    if (this.closed || !link?.channel || link.channel.state() !== grpc.connectivityState.TRANSIENT_FAILURE) return;
    link.channel.close();
    link.channel = null;
    this.logger.debug({ peer: id }, 'peer announced itself: reconnecting now instead of after the backoff');
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.pending.abandonAll();
    for (const calls of this.outstanding.values()) {
      for (const call of calls) call.cancel();
    }
    this.outstanding.clear();
    for (const link of this.peers.values()) link.channel?.close();
    this.peers.clear();
    this.disconnectListeners.length = 0;
    this.handler = null;
    return Promise.resolve();
  }

  /**
   * The state of our connection to `id`, for status pages and tests: 'NONE' while no
   * channel exists (address unknown, or not needed yet), else grpc's connectivity state.
   */
  peerConnectionState(id: NodeId): ConnectionState {
    return this.peers.get(id)?.channel?.stateName() ?? 'NONE';
  }

  // ------------------------------------------------------------ server side

  /** Registers the Peer service on a server the caller owns, binds and starts (create it with peerServerOptions). */
  addToServer(server: grpc.Server): void {
    const handlers: PeerHandlers = {
      appendEntries: (call, callback) =>
        this.serve(call, callback, {
          name: 'AppendEntries',
          decode: decodeAppend,
          expects: 'appendReply',
          encodeReply: (r) => (r.type === 'appendReply' ? encodeAppendReply(r) : null),
          noReply: { noReply: true },
          empty: {},
        }),
      heartbeat: (call, callback) =>
        this.serve(call, callback, {
          name: 'Heartbeat',
          decode: decodeHeartbeat,
          expects: 'heartbeatReply',
          encodeReply: (r) => (r.type === 'heartbeatReply' ? encodeHeartbeatReply(r) : null),
          noReply: { noReply: true },
          empty: {},
        }),
      requestVote: (call, callback) =>
        this.serve(call, callback, {
          name: 'RequestVote',
          decode: decodeVote,
          expects: 'voteReply',
          encodeReply: (r) => (r.type === 'voteReply' ? encodeVoteReply(r) : null),
          noReply: { noReply: true },
          empty: {},
        }),
      timeoutNow: (call, callback) =>
        this.serve(call, callback, {
          name: 'TimeoutNow',
          decode: decodeTimeoutNow,
          expects: null,
          encodeReply: () => null,
          noReply: { noReply: true },
          empty: {},
        }),
      installSnapshot: (call, callback) => this.snapshots.handleOffer(call, callback),
      snapshotChunk: (call, callback) => this.snapshots.handleRange(call, callback),
    };
    server.addService(peerService, handlers);
  }

  private serve<ReqIn extends { readonly cluster: string }, ResOut>(
    call: grpc.ServerUnaryCall<Received<ReqIn>, ResOut>,
    callback: grpc.sendUnaryData<ResOut>,
    route: Route<ReqIn, ResOut>,
  ): void {
    let answered = false;
    const respond = (response: ResOut): void => {
      if (answered) return;
      answered = true;
      try {
        callback(null, response);
      } catch (err) {
        this.logger.warn({ err, rpc: route.name }, 'could not answer a peer call');
      }
    };
    const refuse = (reason: string): void => {
      this.logger.warn({ rpc: route.name, remote: call.getPeer(), reason }, 'refused a peer request; answered no_reply');
      respond(route.noReply);
    };
    const deny = (refusal: Refusal): void => {
      this.warnings.warn(`peer-denied-${refusal.code}`, { rpc: route.name, remote: call.getPeer(), reason: refusal.why }, 'refused a peer call that did not prove it comes from the other voter');
      if (answered) return;
      answered = true;
      try {
        callback({ code: refusal.code, details: refusal.why });
      } catch (err) {
        this.logger.warn({ err, rpc: route.name }, 'could not answer a peer call');
      }
    };
    if (this.closed) {
      respond(route.noReply);
      return;
    }
    const sender = this.authenticate(call);
    if ('why' in sender) {
      deny(sender);
      return;
    }
    const received = call.request;
    if (!received.ok) {
      refuse(received.reason);
      return;
    }
    if (received.request.cluster !== this.cluster) {
      refuse(`cluster ${JSON.stringify(received.request.cluster)} is not ${JSON.stringify(this.cluster)}`);
      return;
    }
    let m: RequestMessage;
    try {
      m = route.decode(received.request);
    } catch (err) {
      refuse(err instanceof MalformedPeerMessageError ? err.message : `cannot convert: ${errorSummary(err)}`);
      return;
    }
    if (sender.kind === 'verified' && m.from !== sender.id) {
      deny({ code: grpc.status.PERMISSION_DENIED, why: `the certificate names voter ${JSON.stringify(sender.id)} but the request claims to come from ${JSON.stringify(m.from)}` });
      return;
    }
    if (m.to !== this.selfId) {
      refuse(`addressed to ${JSON.stringify(m.to)}, not to ${JSON.stringify(this.selfId)}`);
      return;
    }
    // Keep a connection of our own to the sender, so that its loss is noticed at once
    // even while we send it nothing (a follower and its leader).
    this.channelFor(m.from);

    if (route.expects === null) {
      this.deliver(m, sender);
      respond(route.empty);
      return;
    }
    const rpcId = this.pending.add({
      expects: route.expects,
      caller: m.from,
      answer: (reply) => respond(route.encodeReply(reply) ?? route.noReply),
      answerNoReply: () => respond(route.noReply),
    });
    if (rpcId === null) {
      refuse(`too many calls already wait for the core`);
      return;
    }
    // The caller gave up (deadline, cancel): nobody waits for the answer any more.
    call.on('cancelled', () => this.pending.forget(rpcId));
    if (!this.deliver({ ...m, rpcId }, sender)) this.pending.abandon(rpcId);
  }

  /** Who the caller proved to be: unverified without TLS, else the voter its certificate names, or why it is refused. */
  private authenticate(call: grpc.ServerUnaryCall<unknown, unknown>): MessageSender | Refusal {
    if (this.tls === null) return { kind: 'unverified' };
    // grpc-js exposes the certificate only when it verified against the CA.
    const cert = call.getAuthContext().sslPeerCertificate;
    if (cert === undefined) {
      return { code: grpc.status.UNAUTHENTICATED, why: 'the peer service needs a client certificate signed by the cluster CA (mutual TLS between the voters)' };
    }
    const who = voterIdOf(cert.subjectaltname, this.cluster);
    if ('problem' in who) return { code: grpc.status.PERMISSION_DENIED, why: who.problem };
    if (who.id === this.selfId) return { code: grpc.status.PERMISSION_DENIED, why: `the certificate names this voter itself (${JSON.stringify(who.id)})` };
    if (this.voters !== null && !this.voters.includes(who.id)) {
      return { code: grpc.status.PERMISSION_DENIED, why: `the certificate names voter ${JSON.stringify(who.id)}, which is not one of ${this.voters.join(', ')}` };
    }
    return { kind: 'verified', id: who.id };
  }

  /** Answers the pending call a core reply belongs to. */
  private answer(reply: ReplyMessage): void {
    if (reply.rpcId === undefined) {
      this.logger.warn({ type: reply.type, to: reply.to }, 'reply without rpcId dropped: it answers no call');
      return;
    }
    const result = this.pending.settle(reply.rpcId, reply);
    if (result === 'unknown') {
      this.logger.debug({ rpcId: reply.rpcId, type: reply.type }, 'reply for a call no longer pending (timed out or cancelled) dropped');
    } else if (result === 'mismatch') {
      this.logger.warn({ rpcId: reply.rpcId, type: reply.type, to: reply.to }, 'reply does not fit its call (type or addressee); dropped');
    }
  }

  // ------------------------------------------------------------ client side

  /**
   * Makes one call to m.to. `toReply` turns the response into the core's reply, or null
   * when there is none to deliver (no_reply set, or TimeoutNow). It may throw
   * MalformedPeerMessageError, which counts as a failed call.
   */
  private call<ReqOut, ReqIn, ResOut, ResIn>(
    m: RequestMessage,
    method: PeerMethod<ReqOut, ReqIn, ResOut, ResIn>,
    request: ReqOut,
    toReply: (response: ResIn) => Message | null,
  ): void {
    const peer = m.to;
    const channel = this.channelFor(peer);
    if (!channel) {
      this.logger.debug({ peer, type: m.type }, 'no address for peer; unreachable');
      this.deliverLater(this.unreachable(peer));
      return;
    }
    let calls = this.outstanding.get(peer);
    if (!calls) {
      calls = new Set();
      this.outstanding.set(peer, calls);
    }
    if (calls.size >= this.maxOutstandingPerPeer) {
      this.logger.debug({ peer, type: m.type, outstanding: calls.size }, 'too many calls in flight to peer; request dropped as unreachable');
      this.deliverLater(this.unreachable(peer));
      return;
    }
    const inFlight = calls;
    let call: grpc.ClientUnaryCall | null = null;
    let done = false;
    const onDone = (err: grpc.ServiceError | null, response?: ResIn): void => {
      done = true;
      if (call) inFlight.delete(call);
      if (this.closed) return;
      if (err || response === undefined) {
        this.logger.debug({ peer, type: m.type, code: err?.code, details: err?.details }, 'peer call failed; unreachable');
        if (err) this.diagnose(peer, channel.address, err);
        this.deliver(this.unreachable(peer), LOCAL);
        return;
      }
      let reply: Message | null;
      try {
        reply = toReply(response);
      } catch (e) {
        this.logger.warn({ peer, type: m.type, reason: errorSummary(e) }, 'malformed response from peer; treated as unreachable');
        this.deliver(this.unreachable(peer), LOCAL);
        return;
      }
      if (reply === null) return;
      if (reply.from !== peer || reply.to !== this.selfId) {
        this.logger.warn({ peer, type: m.type, from: reply.from, to: reply.to }, 'response from or to the wrong node; treated as unreachable');
        this.deliver(this.unreachable(peer), LOCAL);
        return;
      }
      // With TLS the channel checked that the peer's certificate names `peer`.
      this.deliver(reply, this.tls === null ? UNVERIFIED : { kind: 'verified', id: peer });
    };
    const deadline = Date.now() + this.timeouts[m.type];
    call = channel.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline }, onDone);
    if (!done) inFlight.add(call);
  }

  /**
   * Says once in a while, clearly, when a call failed because the two voters' security
   * settings differ (one with TLS, one without; a certificate the other refuses): to the
   * core such a peer is merely unreachable, and nothing else would tell the operator why.
   */
  private diagnose(peer: NodeId, address: string, err: grpc.ServiceError): void {
    const fields = { peer, address };
    if (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED) {
      this.warnings.warn('peer-refused-us', { ...fields, reason: err.details }, 'the peer refused this voter\'s call: its certificate (--tls-cert) must be signed by the cluster CA and name this voter');
      return;
    }
    if (err.code !== grpc.status.UNAVAILABLE) return;
    if (this.tls !== null) {
      const kind = classifyTlsFailure(err.details);
      if (kind === 'speaks-plaintext') this.warnings.warn('peer-plaintext', fields, 'the peer does not speak TLS: every voter needs the same --tls-cert/--tls-key/--tls-ca settings');
      else if (kind === 'certificate') this.warnings.warn('peer-certificate', { ...fields, reason: oneLine(err.details) }, 'the peer\'s certificate was refused: it must be signed by the cluster CA and name that voter');
      return;
    }
    if (!err.details.includes('Failed to connect')) return;
    let probe = this.tlsProbes.get(address);
    if (!probe) {
      probe = speaksTls(address, 1000);
      this.tlsProbes.set(address, probe);
    }
    void probe.then((tls) => {
      if (tls && !this.closed) this.warnings.warn('peer-requires-tls', fields, 'the peer requires TLS but this voter runs without it: every voter needs the same --tls-cert/--tls-key/--tls-ca settings');
    });
  }

  /** For the snapshot transfer: one unary call to `peer` on its channel. */
  private unaryTo<ReqOut, ResIn>(
    peer: NodeId,
    method: { path: string; requestSerialize: (v: ReqOut) => Buffer; responseDeserialize: (b: Buffer) => ResIn },
    request: ReqOut,
    timeoutMs: number,
  ): Promise<ResIn> {
    const channel = this.channelFor(peer);
    if (!channel || this.closed) return Promise.reject(new Error(`no channel to ${peer}`));
    return new Promise<ResIn>((resolve, reject) => {
      channel.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err || res === undefined) reject(err ?? new Error('no response'));
        else resolve(res);
      });
    });
  }

  /** The channel to `peer`, created on first use; null when its address is unknown or unusable. */
  private channelFor(peer: NodeId): PeerChannel | null {
    const link = this.peers.get(peer);
    if (!link) return null;
    if (link.channel) return link.channel;
    try {
      const channel: PeerChannel = new PeerChannel({
        peerId: peer,
        address: link.address,
        security: peerChannelSecurity(this.cluster, peer, this.tls, link.address),
        clock: this.clock,
        logger: this.logger,
        onDisconnected: () => this.clock.defer(() => this.peerDisconnected(peer, channel)),
      });
      link.channel = channel;
      return channel;
    } catch (err) {
      this.logger.error({ err, peer, address: link.address }, 'cannot open a channel to the peer address');
      return null;
    }
  }

  private peerDisconnected(peer: NodeId, channel: PeerChannel): void {
    // A channel replaced or closed since is no news about the peer.
    if (this.closed || this.peers.get(peer)?.channel !== channel) return;
    for (const listener of this.disconnectListeners) {
      try {
        listener(peer);
      } catch (err) {
        this.logger.error({ err, peer }, 'peer-disconnected listener threw');
      }
    }
  }

  // ------------------------------------------------------------ delivery

  private unreachable(peer: NodeId): Unreachable {
    return { type: 'unreachable', from: peer, to: this.selfId, term: 0 };
  }

  /** Hands m to the handler now. False when it could not (no handler, closed, or the handler threw). */
  private deliver(m: Message, sender: MessageSender): boolean {
    const handler = this.handler;
    if (this.closed || !handler) return false;
    try {
      handler(m, sender);
      return true;
    } catch (err) {
      this.logger.error({ err, type: m.type, from: m.from }, 'message handler threw');
      return false;
    }
  }

  /** Delivers a message the transport made itself ('unreachable') on a later turn. */
  private deliverLater(m: Message): void {
    this.clock.defer(() => this.deliver(m, LOCAL));
  }
}
