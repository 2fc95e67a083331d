// The server side's calls waiting for the core's reply.
//
// A request from the peer is delivered to the core with a fresh rpcId; the core copies
// the rpcId into its reply, and the transport looks the call up here to answer it. A
// call the core never answers (it drops stale or foreign messages without a word) is
// answered with no_reply after a timeout, so neither the map nor the peer's call waits
// forever. The map is bounded: beyond its capacity new calls are refused at once.
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';

/** The core replies that answer a pending call. */
export type ReplyMessage = Extract<Message, { type: 'appendReply' | 'heartbeatReply' | 'voteReply' }>;
export type ReplyType = ReplyMessage['type'];

/** One call waiting for the core. */
export interface PendingCall {
  /** The reply type that answers this call. */
  readonly expects: ReplyType;
  /** The sender of the request: the reply must be addressed to it. */
  readonly caller: NodeId;
  /** Sends the core's reply as the call's response. */
  answer(reply: ReplyMessage): void;
  /** Answers the call with no_reply. */
  answerNoReply(): void;
}

/** What happened to a reply handed to settle(). */
export type SettleResult = 'answered' | 'unknown' | 'mismatch';

export class PendingCalls {
  private readonly calls = new Map<number, { readonly call: PendingCall; readonly timer: TimerHandle }>();
  private nextRpcId = 1;

  constructor(
    private readonly clock: Clock,
    private readonly replyTimeoutMs: number,
    private readonly capacity: number,
    /** Told about each call that timed out, for logging. */
    private readonly onTimeout: (rpcId: number, call: PendingCall) => void,
  ) {}

  get size(): number {
    return this.calls.size;
  }

  /** Registers a call and returns its rpcId, or null (and answers nothing) when the map is full. */
  add(call: PendingCall): number | null {
    if (this.calls.size >= this.capacity) return null;
    const rpcId = this.nextRpcId++;
    const timer = this.clock.setTimeout(() => {
      if (!this.calls.delete(rpcId)) return;
      this.onTimeout(rpcId, call);
      call.answerNoReply();
    }, this.replyTimeoutMs);
    this.calls.set(rpcId, { call, timer });
    return rpcId;
  }

  /**
   * Answers the call `reply.rpcId` belongs to. 'unknown': no such call (never made, timed
   * out, or abandoned). 'mismatch': the reply is of the wrong type or addressed to someone
   * else than the caller; the call stays pending (and will time out).
   */
  settle(rpcId: number, reply: ReplyMessage): SettleResult {
    const pending = this.calls.get(rpcId);
    if (!pending) return 'unknown';
    if (pending.call.expects !== reply.type || pending.call.caller !== reply.to) return 'mismatch';
    this.calls.delete(rpcId);
    pending.timer.cancel();
    pending.call.answer(reply);
    return 'answered';
  }

  /** Answers the call with no_reply now (e.g. the core could not take the request). */
  abandon(rpcId: number): void {
    const pending = this.calls.get(rpcId);
    if (!pending) return;
    this.calls.delete(rpcId);
    pending.timer.cancel();
    pending.call.answerNoReply();
  }

  /** Forgets the call without answering it (its caller went away). */
  forget(rpcId: number): void {
    const pending = this.calls.get(rpcId);
    if (!pending) return;
    this.calls.delete(rpcId);
    pending.timer.cancel();
  }

  /** Answers every pending call with no_reply. */
  abandonAll(): void {
    for (const rpcId of [...this.calls.keys()]) this.abandon(rpcId);
  }
}
