// Pure conversions between the core's peer messages (src/core/messages.ts) and the
// protobuf messages of the Peer service (proto/peer.proto). No I/O.
//
// Encoding trusts the core. Decoding trusts nothing: whatever arrives from the network
// is checked field by field, and a message that no correct peer could have sent (a
// missing sender, a negative or fractional number, entries that do not follow each
// other, an unknown vote rejection) is refused with MalformedPeerMessageError instead
// of being handed to the core, whose invariants assume well-formed input.
//
// The cluster name is not part of the core's messages: encoders take it as an argument,
// and the transport compares a request's `cluster` field itself.
import { CHAIN_BYTES } from '../core/chain.js';
import { InvalidArgumentError } from '../common/errors.js';
import { type duoraft, pb } from '../common/proto.js';
import type {
  AppendEntries,
  AppendEntriesReply,
  Heartbeat,
  HeartbeatReply,
  TimeoutNow,
  Vote,
  VoteRejection,
  VoteReply,
} from '../core/messages.js';
import { type Entry, EntryType } from '../core/types.js';

type AppendEntriesRequestProto = duoraft.peer.AppendEntriesRequest.$Properties;
type AppendEntriesResponseProto = duoraft.peer.AppendEntriesResponse.$Properties;
type HeartbeatRequestProto = duoraft.peer.HeartbeatRequest.$Properties;
type HeartbeatResponseProto = duoraft.peer.HeartbeatResponse.$Properties;
type RequestVoteRequestProto = duoraft.peer.RequestVoteRequest.$Properties;
type RequestVoteResponseProto = duoraft.peer.RequestVoteResponse.$Properties;
type TimeoutNowRequestProto = duoraft.peer.TimeoutNowRequest.$Properties;
type EntryProto = duoraft.wal.Entry.$Properties;

/** A peer message from the network that no correct peer would send. Not retryable: the same bytes fail again. */
export class MalformedPeerMessageError extends InvalidArgumentError {
  /** The protobuf message type that failed, e.g. 'AppendEntriesRequest'. */
  readonly protoType: string;
  readonly reason: string;

  constructor(protoType: string, reason: string) {
    super(`malformed ${protoType}: ${reason}`);
    this.protoType = protoType;
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------
// Field readers for decoding. Each one throws MalformedPeerMessageError naming the field.

/** A uint64 field as a safe, non-negative integer; absent reads as 0 (proto3). */
function uint(protoType: string, field: string, value: unknown): number {
  let n = Number.NaN;
  if (value === undefined || value === null) n = 0;
  else if (typeof value === 'number') n = value;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new MalformedPeerMessageError(protoType, `${field} is ${String(value)}, not a non-negative safe integer`);
  }
  return n;
}

/** An optional string field: absent reads as ''. */
function text(protoType: string, field: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new MalformedPeerMessageError(protoType, `${field} is not a string`);
  return value;
}

/** A node id that must be present. */
function nodeId(protoType: string, field: string, value: unknown): string {
  const id = text(protoType, field, value);
  if (id === '') throw new MalformedPeerMessageError(protoType, `${field} is missing`);
  return id;
}

function flag(protoType: string, field: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new MalformedPeerMessageError(protoType, `${field} is not a boolean`);
  return value;
}

/** from, to and term, common to every peer message; a node never messages itself. */
function envelope(protoType: string, p: { from?: unknown; to?: unknown; term?: unknown }): { from: string; to: string; term: number } {
  const from = nodeId(protoType, 'from', p.from);
  const to = nodeId(protoType, 'to', p.to);
  if (from === to) throw new MalformedPeerMessageError(protoType, `from and to are both ${from}`);
  return { from, to, term: uint(protoType, 'term', p.term) };
}

// ---------------------------------------------------------------------------
// Entries.

function entryTypeToProto(type: EntryType): duoraft.wal.EntryType {
  switch (type) {
    case EntryType.Normal:
      return pb.wal.EntryType.ENTRY_NORMAL;
    case EntryType.Noop:
      return pb.wal.EntryType.ENTRY_NOOP;
  }
}

function entryTypeFromProto(protoType: string, field: string, value: unknown): EntryType {
  // proto3 enums are open: an unknown value decodes as its number.
  if (value === undefined || value === null || value === pb.wal.EntryType.ENTRY_NORMAL) return EntryType.Normal;
  if (value === pb.wal.EntryType.ENTRY_NOOP) return EntryType.Noop;
  throw new MalformedPeerMessageError(protoType, `${field} has unknown entry type ${String(value)}`);
}

function entryToProto(e: Entry): EntryProto {
  return { index: e.index, term: e.term, type: entryTypeToProto(e.type), data: e.data, ...(e.chain ? { chain: e.chain } : {}) };
}

/** A chain value: exactly CHAIN_BYTES bytes (a copy, not a view into the frame). */
function chainFromProto(protoType: string, field: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== CHAIN_BYTES) {
    throw new MalformedPeerMessageError(protoType, `${field} is not a ${CHAIN_BYTES}-byte chain value`);
  }
  return new Uint8Array(value);
}

function entryFromProto(protoType: string, field: string, p: { index?: unknown; term?: unknown; type?: unknown; data?: unknown; chain?: unknown }): Entry {
  const index = uint(protoType, `${field}.index`, p.index);
  const term = uint(protoType, `${field}.term`, p.term);
  if (index < 1) throw new MalformedPeerMessageError(protoType, `${field}.index is 0`);
  if (term < 1) throw new MalformedPeerMessageError(protoType, `${field}.term is 0`);
  const type = entryTypeFromProto(protoType, `${field}.type`, p.type);
  const data: unknown = p.data ?? new Uint8Array(0);
  if (!(data instanceof Uint8Array)) throw new MalformedPeerMessageError(protoType, `${field}.data is not bytes`);
  const chain = chainFromProto(protoType, `${field}.chain`, p.chain);
  // Copy: the decoded bytes are a view into the whole received frame, which would
  // otherwise stay in memory as long as one entry of it does.
  return { index, term, type, data: new Uint8Array(data), chain };
}

/**
 * The entries of an AppendEntries, checked against what a leader's log can hold: they
 * follow prevLogIndex without gaps, and their terms never decrease, start no lower than
 * prevLogTerm and end no higher than the leader's term.
 */
function entriesFromProto(protoType: string, list: unknown, prevLogIndex: number, prevLogTerm: number, term: number): Entry[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new MalformedPeerMessageError(protoType, 'entries is not a list');
  const entries: Entry[] = [];
  let expectedIndex = prevLogIndex + 1;
  let lastTerm = prevLogTerm;
  for (let k = 0; k < list.length; k++) {
    const raw: unknown = list[k];
    if (typeof raw !== 'object' || raw === null) throw new MalformedPeerMessageError(protoType, `entries[${k}] is not a message`);
    const e = entryFromProto(protoType, `entries[${k}]`, raw);
    if (e.index !== expectedIndex) {
      throw new MalformedPeerMessageError(protoType, `entries[${k}] has index ${e.index}, expected ${expectedIndex} (entries must follow prev_log_index without gaps)`);
    }
    if (e.term < lastTerm) throw new MalformedPeerMessageError(protoType, `entries[${k}] has term ${e.term}, lower than the term ${lastTerm} before it`);
    if (e.term > term) throw new MalformedPeerMessageError(protoType, `entries[${k}] has term ${e.term}, higher than the message term ${term}`);
    entries.push(e);
    expectedIndex++;
    lastTerm = e.term;
  }
  return entries;
}

// ---------------------------------------------------------------------------
// Requests.

export function encodeAppend(m: AppendEntries, cluster: string): AppendEntriesRequestProto {
  return {
    cluster,
    from: m.from,
    to: m.to,
    term: m.term,
    prevLogIndex: m.prevLogIndex,
    prevLogTerm: m.prevLogTerm,
    entries: m.entries.map(entryToProto),
    leaderCommit: m.leaderCommit,
    ...(m.prevLogChain ? { prevLogChain: m.prevLogChain } : {}),
    ...(m.awaited ? { awaited: true } : {}),
  };
}

/** The core message of a received AppendEntriesRequest (without rpcId). Throws MalformedPeerMessageError. */
export function decodeAppend(p: AppendEntriesRequestProto): AppendEntries {
  const t = 'AppendEntriesRequest';
  const { from, to, term } = envelope(t, p);
  const prevLogIndex = uint(t, 'prev_log_index', p.prevLogIndex);
  const prevLogTerm = uint(t, 'prev_log_term', p.prevLogTerm);
  if (prevLogTerm > term) throw new MalformedPeerMessageError(t, `prev_log_term ${prevLogTerm} is higher than the message term ${term}`);
  if (prevLogIndex === 0 && prevLogTerm !== 0) throw new MalformedPeerMessageError(t, `prev_log_index is 0 but prev_log_term is ${prevLogTerm}`);
  const entries = entriesFromProto(t, p.entries, prevLogIndex, prevLogTerm, term);
  const leaderCommit = uint(t, 'leader_commit', p.leaderCommit);
  const prevLogChain = chainFromProto(t, 'prev_log_chain', p.prevLogChain);
  return { type: 'append', from, to, term, prevLogIndex, prevLogTerm, prevLogChain, entries, leaderCommit, ...(p.awaited === true ? { awaited: true } : {}) };
}

export function encodeHeartbeat(m: Heartbeat, cluster: string): HeartbeatRequestProto {
  return { cluster, from: m.from, to: m.to, term: m.term, commit: m.commit, commitTerm: m.commitTerm, ...(m.commitChain ? { commitChain: m.commitChain } : {}), ...(m.awaited ? { awaited: true } : {}) };
}

/** The core message of a received HeartbeatRequest (without rpcId). Throws MalformedPeerMessageError. */
export function decodeHeartbeat(p: HeartbeatRequestProto): Heartbeat {
  const t = 'HeartbeatRequest';
  const { from, to, term } = envelope(t, p);
  return {
    type: 'heartbeat',
    from,
    to,
    term,
    commit: uint(t, 'commit', p.commit),
    commitTerm: uint(t, 'commit_term', p.commitTerm),
    commitChain: chainFromProto(t, 'commit_chain', p.commitChain),
    ...(p.awaited === true ? { awaited: true } : {}),
  };
}

export function encodeVote(m: Vote, cluster: string): RequestVoteRequestProto {
  return {
    cluster,
    from: m.from,
    to: m.to,
    term: m.term,
    lastLogIndex: m.lastLogIndex,
    lastLogTerm: m.lastLogTerm,
    preVote: m.preVote,
    transfer: m.transfer,
    round: m.round ?? 0,
  };
}

/** The core message of a received RequestVoteRequest (without rpcId). Throws MalformedPeerMessageError. */
export function decodeVote(p: RequestVoteRequestProto): Vote {
  const t = 'RequestVoteRequest';
  const { from, to, term } = envelope(t, p);
  return {
    type: 'vote',
    from,
    to,
    term,
    lastLogIndex: uint(t, 'last_log_index', p.lastLogIndex),
    lastLogTerm: uint(t, 'last_log_term', p.lastLogTerm),
    preVote: flag(t, 'pre_vote', p.preVote),
    transfer: flag(t, 'transfer', p.transfer),
    ...roundOf(t, p.round),
  };
}

/** A pre-vote's round as the core holds it: 0 on the wire (unset, an older member) is none. */
function roundOf(protoType: string, value: unknown): { round?: number } {
  const round = uint(protoType, 'round', value);
  return round === 0 ? {} : { round };
}

export function encodeTimeoutNow(m: TimeoutNow, cluster: string): TimeoutNowRequestProto {
  return { cluster, from: m.from, to: m.to, term: m.term, leaseVersion: m.leaseVersion };
}

/** The core message of a received TimeoutNowRequest (without rpcId). Throws MalformedPeerMessageError. */
export function decodeTimeoutNow(p: TimeoutNowRequestProto): TimeoutNow {
  return { type: 'timeoutNow', ...envelope('TimeoutNowRequest', p), leaseVersion: uint('TimeoutNowRequest', 'lease_version', p.leaseVersion) };
}

// ---------------------------------------------------------------------------
// Replies. no_reply is the transport's business: encoders leave it unset, and decoders
// must only be given responses without it.

export function encodeAppendReply(m: AppendEntriesReply): AppendEntriesResponseProto {
  return {
    from: m.from,
    to: m.to,
    term: m.term,
    success: m.success,
    matchIndex: m.matchIndex,
    rejectedIndex: m.rejectedIndex,
    xTerm: m.xTerm,
    xIndex: m.xIndex,
    xLen: m.xLen,
  };
}

/** The core reply of a received AppendEntriesResponse (no_reply unset). Throws MalformedPeerMessageError. */
export function decodeAppendReply(p: AppendEntriesResponseProto): AppendEntriesReply {
  const t = 'AppendEntriesResponse';
  return {
    type: 'appendReply',
    ...envelope(t, p),
    success: flag(t, 'success', p.success),
    matchIndex: uint(t, 'match_index', p.matchIndex),
    rejectedIndex: uint(t, 'rejected_index', p.rejectedIndex),
    xTerm: uint(t, 'x_term', p.xTerm),
    xIndex: uint(t, 'x_index', p.xIndex),
    xLen: uint(t, 'x_len', p.xLen),
  };
}

export function encodeHeartbeatReply(m: HeartbeatReply): HeartbeatResponseProto {
  return { from: m.from, to: m.to, term: m.term, lastIndex: m.lastIndex, leaderMatch: m.leaderMatch };
}

/** The core reply of a received HeartbeatResponse (no_reply unset). Throws MalformedPeerMessageError. */
export function decodeHeartbeatReply(p: HeartbeatResponseProto): HeartbeatReply {
  const t = 'HeartbeatResponse';
  return { type: 'heartbeatReply', ...envelope(t, p), lastIndex: uint(t, 'last_index', p.lastIndex), leaderMatch: uint(t, 'leader_match', p.leaderMatch) };
}

const voteRejections: ReadonlySet<string> = new Set<VoteRejection>(['', 'is-leader', 'leader-alive', 'stale-term', 'log-behind']);

function isVoteRejection(s: string): s is VoteRejection {
  return voteRejections.has(s);
}

export function encodeVoteReply(m: VoteReply): RequestVoteResponseProto {
  return { from: m.from, to: m.to, term: m.term, granted: m.granted, preVote: m.preVote, reason: m.reason, round: m.round ?? 0 };
}

/** The core reply of a received RequestVoteResponse (no_reply unset). Throws MalformedPeerMessageError. */
export function decodeVoteReply(p: RequestVoteResponseProto): VoteReply {
  const t = 'RequestVoteResponse';
  const env = envelope(t, p);
  const granted = flag(t, 'granted', p.granted);
  const reason = text(t, 'reason', p.reason);
  if (!isVoteRejection(reason)) throw new MalformedPeerMessageError(t, `unknown rejection reason ${JSON.stringify(reason)}`);
  // The core gives a reason exactly when it refuses.
  if (granted !== (reason === '')) {
    throw new MalformedPeerMessageError(t, granted ? `granted with rejection reason ${reason}` : 'refused without a reason');
  }
  return { type: 'voteReply', ...env, granted, preVote: flag(t, 'pre_vote', p.preVote), reason, ...roundOf(t, p.round) };
}
