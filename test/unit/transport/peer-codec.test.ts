import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/common/errors.js';
import { type duoraft, pb } from '../../../src/common/proto.js';
import type { AppendEntries, AppendEntriesReply, Heartbeat, HeartbeatReply, TimeoutNow, Vote, VoteReply } from '../../../src/core/messages.js';
import { type Entry, EntryType } from '../../../src/core/types.js';
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
} from '../../../src/transport/peer-codec.js';

// Every round trip goes through the wire bytes, as the transport does, so what is
// checked includes protobuf's handling of defaults (absent 0 fields) and bytes.
function wire<P, D>(type: { encode(m: P): { finish(): Uint8Array }; decode(b: Uint8Array): D }, message: P): D {
  return type.decode(type.encode(message).finish());
}

const binary = Uint8Array.from({ length: 256 }, (_, i) => i);

/** A made-up chain value (the codec only carries it; the core checks it). */
const chainOf = (n: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (n * 31 + i) & 0xff);

function entry(index: number, term: number, data: Uint8Array = binary, type: EntryType = EntryType.Normal): Entry {
  return { index, term, type, data, chain: chainOf(index) };
}

const append: AppendEntries = {
  type: 'append',
  from: 'a',
  to: 'b',
  term: 7,
  prevLogIndex: 41,
  prevLogTerm: 6,
  entries: [entry(42, 7, new Uint8Array(0), EntryType.Noop), entry(43, 7, binary), entry(44, 7, Uint8Array.of(0, 0, 0xff))],
  leaderCommit: 40,
  prevLogChain: chainOf(41),
};

describe('peer codec: requests round trip', () => {
  it('AppendEntries with a Noop and binary data', () => {
    const back = decodeAppend(wire(pb.peer.AppendEntriesRequest, encodeAppend(append, 'c1')));
    expect(back).toEqual(append);
    expect(back.entries[0]!.type).toBe(EntryType.Noop);
    expect(Array.from(back.entries[1]!.data)).toEqual(Array.from(binary));
    // The decoded data is a copy, not a view into the received frame.
    expect(back.entries[1]!.data.byteOffset).toBe(0);
    expect(back.entries[1]!.data.buffer.byteLength).toBe(binary.length);
  });

  it('AppendEntries with no entries and all-zero fields (heartbeat-like probe)', () => {
    const probe: AppendEntries = { type: 'append', from: 'a', to: 'b', term: 0, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, prevLogChain: chainOf(0) };
    expect(decodeAppend(wire(pb.peer.AppendEntriesRequest, encodeAppend(probe, 'c1')))).toEqual(probe);
  });

  it('AppendEntries with 64-bit values beyond 32 bits', () => {
    const big: AppendEntries = {
      ...append,
      term: 2 ** 40,
      prevLogIndex: 2 ** 45,
      prevLogTerm: 2 ** 40,
      entries: [entry(2 ** 45 + 1, 2 ** 40)],
      leaderCommit: Number.MAX_SAFE_INTEGER,
    };
    expect(decodeAppend(wire(pb.peer.AppendEntriesRequest, encodeAppend(big, 'c1')))).toEqual(big);
  });

  it('the cluster name travels in the request', () => {
    expect(wire(pb.peer.AppendEntriesRequest, encodeAppend(append, 'c1')).cluster).toBe('c1');
    expect(wire(pb.peer.HeartbeatRequest, encodeHeartbeat({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, commitTerm: 0 }, 'c2')).cluster).toBe('c2');
  });

  it('Heartbeat', () => {
    const m: Heartbeat = { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 17, commitTerm: 1, commitChain: chainOf(17) };
    expect(decodeHeartbeat(wire(pb.peer.HeartbeatRequest, encodeHeartbeat(m, 'c1')))).toEqual(m);
  });

  it('the Awaited hint travels on AppendEntries and Heartbeat, and is absent when not set', () => {
    const a: AppendEntries = { ...append, awaited: true };
    expect(decodeAppend(wire(pb.peer.AppendEntriesRequest, encodeAppend(a, 'c1')))).toEqual(a);
    expect('awaited' in decodeAppend(wire(pb.peer.AppendEntriesRequest, encodeAppend(append, 'c1')))).toBe(false);
    const h: Heartbeat = { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 17, commitTerm: 1, commitChain: chainOf(17), awaited: true };
    expect(decodeHeartbeat(wire(pb.peer.HeartbeatRequest, encodeHeartbeat(h, 'c1')))).toEqual(h);
  });

  it('RequestVote, pre-vote and transfer', () => {
    const m: Vote = { type: 'vote', from: 'b', to: 'a', term: 9, lastLogIndex: 100, lastLogTerm: 8, preVote: true, transfer: true };
    expect(decodeVote(wire(pb.peer.RequestVoteRequest, encodeVote(m, 'c1')))).toEqual(m);
    const plain: Vote = { ...m, preVote: false, transfer: false, lastLogIndex: 0, lastLogTerm: 0 };
    expect(decodeVote(wire(pb.peer.RequestVoteRequest, encodeVote(plain, 'c1')))).toEqual(plain);
  });

  it('RequestVote and its answer carry the pre-vote round; none (an older member) is 0 on the wire and absent in the core', () => {
    const m: Vote = { type: 'vote', from: 'b', to: 'a', term: 9, lastLogIndex: 100, lastLogTerm: 8, preVote: true, transfer: true, round: 7 };
    expect(decodeVote(wire(pb.peer.RequestVoteRequest, encodeVote(m, 'c1')))).toEqual(m);
    const r: VoteReply = { type: 'voteReply', from: 'a', to: 'b', term: 9, granted: false, preVote: true, reason: 'is-leader', round: 7 };
    expect(decodeVoteReply(wire(pb.peer.RequestVoteResponse, encodeVoteReply(r)))).toEqual(r);
    const { round: _v, ...oldVote } = m;
    const { round: _r, ...oldReply } = r;
    expect(encodeVote(oldVote, 'c1').round).toBe(0);
    expect('round' in decodeVote(wire(pb.peer.RequestVoteRequest, encodeVote(oldVote, 'c1')))).toBe(false);
    expect('round' in decodeVoteReply(wire(pb.peer.RequestVoteResponse, encodeVoteReply(oldReply)))).toBe(false);
    rejects(() => decodeVoteReply({ ...encodeVoteReply(r), round: -1 }), 'round is -1');
  });

  it('TimeoutNow', () => {
    const m: TimeoutNow = { type: 'timeoutNow', from: 'a', to: 'b', term: 4, leaseVersion: 9 };
    expect(decodeTimeoutNow(wire(pb.peer.TimeoutNowRequest, encodeTimeoutNow(m, 'c1')))).toEqual(m);
  });

  it('does not carry rpcId: that is the receiving transport’s', () => {
    const withId: Heartbeat = { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 1, commitTerm: 1, commitChain: chainOf(1), rpcId: 99 };
    expect(decodeHeartbeat(wire(pb.peer.HeartbeatRequest, encodeHeartbeat(withId, 'c1'))).rpcId).toBeUndefined();
  });
});

describe('peer codec: replies round trip', () => {
  it('AppendEntries success and rejection', () => {
    const ok: AppendEntriesReply = { type: 'appendReply', from: 'b', to: 'a', term: 7, success: true, matchIndex: 44, rejectedIndex: 0, xTerm: 0, xIndex: 0, xLen: 44 };
    expect(decodeAppendReply(wire(pb.peer.AppendEntriesResponse, encodeAppendReply(ok)))).toEqual(ok);
    const no: AppendEntriesReply = { ...ok, success: false, matchIndex: 0, rejectedIndex: 41, xTerm: 5, xIndex: 30, xLen: 41 };
    expect(decodeAppendReply(wire(pb.peer.AppendEntriesResponse, encodeAppendReply(no)))).toEqual(no);
  });

  it('Heartbeat', () => {
    const m: HeartbeatReply = { type: 'heartbeatReply', from: 'b', to: 'a', term: 3, lastIndex: 12, leaderMatch: 0 };
    expect(decodeHeartbeatReply(wire(pb.peer.HeartbeatResponse, encodeHeartbeatReply(m)))).toEqual(m);
  });

  it('RequestVote granted and every rejection reason', () => {
    const granted: VoteReply = { type: 'voteReply', from: 'a', to: 'b', term: 9, granted: true, preVote: true, reason: '' };
    expect(decodeVoteReply(wire(pb.peer.RequestVoteResponse, encodeVoteReply(granted)))).toEqual(granted);
    for (const reason of ['is-leader', 'leader-alive', 'stale-term', 'log-behind'] as const) {
      const refused: VoteReply = { ...granted, granted: false, reason };
      expect(decodeVoteReply(wire(pb.peer.RequestVoteResponse, encodeVoteReply(refused)))).toEqual(refused);
    }
  });

  it('encoders leave no_reply unset', () => {
    const m: HeartbeatReply = { type: 'heartbeatReply', from: 'b', to: 'a', term: 3, lastIndex: 12, leaderMatch: 0 };
    expect(wire(pb.peer.HeartbeatResponse, encodeHeartbeatReply(m)).noReply).toBe(false);
  });
});

/** Expects decode to throw MalformedPeerMessageError whose message mentions `fragment`. */
function rejects(decode: () => unknown, fragment: string): void {
  let caught: unknown;
  try {
    decode();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MalformedPeerMessageError);
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  expect((caught as MalformedPeerMessageError).retryable).toBe(false);
  expect((caught as Error).message).toContain(fragment);
}

describe('peer codec: malformed messages are rejected', () => {
  const good = encodeAppend(append, 'c1');
  const decodeWire = (p: typeof good): AppendEntries => decodeAppend(wire(pb.peer.AppendEntriesRequest, p));

  it('a missing from or to', () => {
    rejects(() => decodeWire({ ...good, from: '' }), 'from is missing');
    rejects(() => decodeWire({ ...good, to: '' }), 'to is missing');
    rejects(() => decodeHeartbeat(wire(pb.peer.HeartbeatRequest, { cluster: 'c1', to: 'b', term: 1 })), 'from is missing');
    rejects(() => decodeHeartbeatReply(wire(pb.peer.HeartbeatResponse, { from: 'b', term: 1 })), 'to is missing');
  });

  it('a message to its own sender', () => {
    rejects(() => decodeWire({ ...good, to: 'a' }), 'from and to are both a');
  });

  it('entries that do not follow prev_log_index', () => {
    rejects(() => decodeWire({ ...good, prevLogIndex: 40 }), 'expected 41');
    const gap = [good.entries![0]!, good.entries![2]!];
    rejects(() => decodeWire({ ...good, entries: gap }), 'entries[1] has index 44, expected 43');
    const repeated = [good.entries![0]!, good.entries![0]!];
    rejects(() => decodeWire({ ...good, entries: repeated }), 'entries[1] has index 42, expected 43');
  });

  it('entry terms that go down, start below prev_log_term or exceed the message term', () => {
    const c = (n: number): Uint8Array => chainOf(n);
    rejects(() => decodeWire({ ...good, entries: [{ index: 42, term: 7, chain: c(42) }, { index: 43, term: 6, chain: c(43) }] }), 'lower than the term 7');
    rejects(() => decodeWire({ ...good, entries: [{ index: 42, term: 5, chain: c(42) }] }), 'lower than the term 6');
    rejects(() => decodeWire({ ...good, entries: [{ index: 42, term: 8, chain: c(42) }] }), 'higher than the message term 7');
    rejects(() => decodeWire({ ...good, prevLogTerm: 8, entries: [] }), 'prev_log_term 8 is higher');
  });

  it('entries with index or term 0, or an unknown type', () => {
    rejects(() => decodeWire({ ...good, prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 0, term: 1 }] }), 'entries[0].index is 0');
    rejects(() => decodeWire({ ...good, entries: [{ index: 42, term: 0 }] }), 'entries[0].term is 0');
    rejects(() => decodeWire({ ...good, entries: [{ index: 42, term: 7, type: 5 as duoraft.wal.EntryType }] }), 'unknown entry type 5');
  });

  it('a missing or malformed chain value (entries, prev_log_chain, commit_chain)', () => {
    rejects(() => decodeWire({ ...good, entries: [{ index: 42, term: 7 }] }), 'entries[0].chain is not a 16-byte chain value');
    rejects(() => decodeWire({ ...good, entries: [{ index: 42, term: 7, chain: new Uint8Array(15) }] }), 'entries[0].chain is not a 16-byte chain value');
    rejects(() => decodeWire({ ...good, prevLogChain: new Uint8Array(0) }), 'prev_log_chain is not a 16-byte chain value');
    rejects(() => decodeHeartbeat(wire(pb.peer.HeartbeatRequest, { cluster: 'c1', from: 'a', to: 'b', term: 1, commit: 0 })), 'commit_chain');
  });

  it('prev_log_term without prev_log_index', () => {
    rejects(() => decodeWire({ ...good, prevLogIndex: 0, prevLogTerm: 3, entries: [] }), 'prev_log_index is 0');
  });

  it('negative, fractional and unsafe numbers (as a sender that skipped protobuf would give them)', () => {
    // protobuf's uint64 cannot carry these, so they are handed to the decoder directly.
    const decoded = wire(pb.peer.HeartbeatRequest, { cluster: 'c1', from: 'a', to: 'b', term: 1, commit: 1 });
    rejects(() => decodeHeartbeat({ ...decoded, term: -1 }), 'term is -1');
    rejects(() => decodeHeartbeat({ ...decoded, commit: 1.5 }), 'commit is 1.5');
    rejects(() => decodeHeartbeat({ ...decoded, commit: 2 ** 60 }), 'not a non-negative safe integer');
    rejects(() => decodeVote({ cluster: 'c1', from: 'a', to: 'b', term: 1, lastLogIndex: -3 }), 'last_log_index is -3');
  });

  it('uint64 values above 2^53 on the wire', () => {
    // Encoded as a number above MAX_SAFE_INTEGER, it no longer decodes to the same integer.
    rejects(() => decodeHeartbeat(wire(pb.peer.HeartbeatRequest, { cluster: 'c1', from: 'a', to: 'b', term: 2 ** 63, commit: 0 })), 'term');
  });

  it('an unknown vote rejection reason, or a reason that contradicts granted', () => {
    const reply = { from: 'a', to: 'b', term: 3, granted: false, preVote: true };
    rejects(() => decodeVoteReply(wire(pb.peer.RequestVoteResponse, { ...reply, reason: 'tired' })), 'unknown rejection reason "tired"');
    rejects(() => decodeVoteReply(wire(pb.peer.RequestVoteResponse, { ...reply, reason: '' })), 'refused without a reason');
    rejects(() => decodeVoteReply(wire(pb.peer.RequestVoteResponse, { ...reply, granted: true, reason: 'stale-term' })), 'granted with rejection reason');
  });

  it('non-string ids and non-boolean flags', () => {
    const decoded = wire(pb.peer.RequestVoteRequest, { cluster: 'c1', from: 'a', to: 'b', term: 1 });
    rejects(() => decodeVote({ ...decoded, from: 5 as unknown as string }), 'from is not a string');
    rejects(() => decodeVote({ ...decoded, preVote: 'yes' as unknown as boolean }), 'pre_vote is not a boolean');
  });
});
