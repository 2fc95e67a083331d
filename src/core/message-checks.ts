// Checks every peer message before it touches the core's state (PROTOCOL.md R7). A message
// that fails is dropped whole, with a reason the driver logs (rate-limited); none of them can
// trip an invariant of the core, adopt an absurd term, or write a malformed entry.
//
// What the checks know: who the other voter is, this node's term, the highest term ZooKeeper
// vouched for here (the epoch seen, a term this node fenced or restarted with), and its own
// log. Terms come only from fencing ZooKeeper's epoch, one at a time, so no honest message
// carries a term more than one above the trusted term: the new leader's first heartbeat can
// arrive before the epoch watch does, two fences in a row cannot happen unseen for long. A
// (pre-)vote asks for the sender's term plus one, so it may be one higher still. The bound
// is the trusted term, not this node's own: a term taken from a message must not raise it,
// or forged messages could ratchet it up one step at a time. The price, in plaintext only:
// a follower cut off from ZooKeeper that took term T+1 from the leader's heartbeat refuses
// the T+2 of a second fence until its epoch watch catches up. A sender proven by mutual TLS
// is honest, so there the node's own term counts too.
import type { Message } from './messages.js';
import { EntryType, type NodeId } from './types.js';

export interface MessageCheckContext {
  readonly self: NodeId;
  readonly peer: NodeId;
  readonly role: 'follower' | 'precandidate' | 'candidate' | 'leader';
  /** This node's current term. */
  readonly ownTerm: number;
  /** The highest term ZooKeeper vouched for: the epoch seen, or a term this node fenced or restarted with. */
  readonly trustedTerm: number;
  /** The leader the epoch named for trustedTerm ('' when not known). */
  readonly trustedLeader?: NodeId;
  /**
   * The transport proved the sender is the other voter (mutual TLS). Its messages are
   * honest, so the bound is this node's own term as well: a follower cut off from ZooKeeper
   * that took the leader's term from its heartbeat still follows that leader's next term.
   */
  readonly authenticated?: boolean;
  /** Last index of this node's log. */
  readonly lastIndex: number;
  /** Bound on one entry's data (what a segment can hold). */
  readonly maxEntryBytes: number;
}

/** Bound on the entries of one AppendEntries (the leader sends at most 256 KiB of data). */
export const MAX_ENTRIES_PER_APPEND = 65_536;

const isIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/** Why `m` must be dropped, or null when it may be stepped. 'ignore' drops silently (not for us). */
export function checkPeerMessage(m: Message, c: MessageCheckContext): string | null {
  if (m.to !== c.self) return 'ignore';
  if (m.type === 'unreachable') return m.from === c.peer ? null : 'ignore';
  if (m.from !== c.peer) return `from ${JSON.stringify(m.from)}, which is not the other voter of this cluster (${c.peer || 'none yet'})`;
  if (!isIndex(m.term)) return `term ${m.term} is not a non-negative integer`;
  // A (pre-)vote asks for its sender's term plus one, and a granted reply carries that term.
  const asksNextTerm = m.type === 'vote' || (m.type === 'voteReply' && m.granted && m.term === c.ownTerm + 1);
  const slack = asksNextTerm ? 2 : 1;
  const base = c.authenticated === true ? Math.max(c.trustedTerm, c.ownTerm) : c.trustedTerm;
  if (m.term > base + slack) {
    const what = c.authenticated === true ? 'the highest term known here' : 'the highest term ZooKeeper vouched for here';
    return `term ${m.term} is more than ${slack === 1 ? 'one' : 'two'} above ${what} (${base}); terms come only from ZooKeeper's epoch`;
  }
  // ZooKeeper's epoch gives its term to this node: another node claiming to lead that term
  // is forged, and one claiming an older term was fenced by this node (between its fence and
  // its take-over result it is not yet leader, so the check on the role below does not see
  // it; nor after a take-over that fenced and then failed). What that older leader committed
  // is in ZooKeeper, and the take-over replays it.
  if ((m.type === 'append' || m.type === 'heartbeat' || m.type === 'timeoutNow') && m.term <= c.trustedTerm && c.trustedLeader === c.self) {
    if (m.term === c.trustedTerm) return `claims to lead term ${m.term}, which ZooKeeper's epoch gives to this node`;
    // Older than this node's own term: the core answers it as stale, which changes nothing
    // here and tells a deposed leader of the newer term (under TLS, a leader cut off from
    // ZooKeeper learns it so). Otherwise (a candidate whose fence is through, before its
    // result) it is the deposed leader's, or a forger's: dropped without a word, since a
    // live deposed leader sends them on every transfer and failover.
    if (m.term >= c.ownTerm) return 'ignore';
  }
  switch (m.type) {
    case 'append': {
      if (!isIndex(m.prevLogIndex) || !isIndex(m.prevLogTerm) || !isIndex(m.leaderCommit)) return 'an index or term is not a non-negative integer';
      if (m.prevLogTerm > m.term) return `previous entry's term ${m.prevLogTerm} above the message's term ${m.term}`;
      if (m.term === c.ownTerm && c.role === 'leader') return `claims to lead term ${m.term}, which this node leads`;
      if (m.entries.length > MAX_ENTRIES_PER_APPEND) return `${m.entries.length} entries in one message (at most ${MAX_ENTRIES_PER_APPEND})`;
      let prevTerm = m.prevLogTerm;
      for (let k = 0; k < m.entries.length; k++) {
        const e = m.entries[k]!;
        if (e.index !== m.prevLogIndex + 1 + k) return `entry ${k} has index ${e.index}, expected ${m.prevLogIndex + 1 + k}`;
        if (!isIndex(e.term) || e.term < prevTerm || e.term > m.term) return `entry ${e.index} has term ${e.term} (previous ${prevTerm}, message ${m.term})`;
        if (e.type !== EntryType.Normal && e.type !== EntryType.Noop) return `entry ${e.index} has an unknown type`;
        if (e.data.length > c.maxEntryBytes) return `entry ${e.index} holds ${e.data.length} bytes (at most ${c.maxEntryBytes})`;
        prevTerm = e.term;
      }
      return null;
    }
    case 'heartbeat':
      if (!isIndex(m.commit) || !isIndex(m.commitTerm)) return 'commit or commit term is not a non-negative integer';
      if (m.commitTerm > m.term) return `commit term ${m.commitTerm} above the message's term ${m.term}`;
      if (m.term === c.ownTerm && c.role === 'leader') return `claims to lead term ${m.term}, which this node leads`;
      return null;
    case 'timeoutNow':
      if (!isIndex(m.leaseVersion)) return 'lease version is not a non-negative integer';
      return null;
    case 'vote':
      if (!isIndex(m.lastLogIndex) || !isIndex(m.lastLogTerm)) return 'last log index or term is not a non-negative integer';
      if (m.lastLogTerm > m.term) return `last log term ${m.lastLogTerm} above the message's term ${m.term}`;
      if (m.round !== undefined && !isIndex(m.round)) return 'round is not a non-negative integer';
      return null;
    case 'appendReply':
      if (![m.matchIndex, m.rejectedIndex, m.xTerm, m.xIndex, m.xLen].every(isIndex)) return 'an index is not a non-negative integer';
      // A follower can only have matched what we sent, and we sent only what our log holds.
      if (m.success && m.matchIndex > c.lastIndex) return `acknowledges index ${m.matchIndex}, beyond this log's last index ${c.lastIndex}`;
      if (m.xTerm > m.term) return `hint term ${m.xTerm} above the message's term ${m.term}`;
      return null;
    case 'heartbeatReply':
      if (!isIndex(m.lastIndex) || !isIndex(m.leaderMatch)) return 'an index is not a non-negative integer';
      return null;
    case 'voteReply':
      if (m.round !== undefined && !isIndex(m.round)) return 'round is not a non-negative integer';
      return null;
  }
}
