// The answer to a peer's pre-vote ("would you object?", RequestVote in duoraft: a term is won
// by fencing ZooKeeper, not by votes; notes/safety.md). A leader objects unless it is silent, or
// it handed over to the asker; any node objects to a stale term, to a log behind its committed
// entries, and, while its leader is alive, to a pre-vote that no leader asked for (leader
// stickiness). A follower that finds the asker behind hurries its own take-over. It holds no
// state: it reads the node it answers for through a small host. Pure: no I/O, no clock (the
// node's tick count is its time).
import type { CoreConfig } from './config.js';
import type { RaftLog } from './log.js';
import type { Message, PreVoteRound, Vote, VoteRejection } from './messages.js';
import type { NodeId, Role } from './types.js';

/** What the answer compares the asker's log with (RaftLog). */
export type AnsweringLog = Pick<RaftLog, 'isUpToDate'>;

/** The settings of leader stickiness (CoreConfig). */
export type VoteAnswerConfig = Pick<CoreConfig, 'electionTimeoutTicks'>;

/** The node that answers, as it stands at each call (RaftCore). */
export interface AnsweringNode {
  readonly id: NodeId;
  role(): Role;
  term(): number;
  commit(): number;
  /** The leader this node follows ('' when none). */
  leaderId(): NodeId;
  /** Ticks since this node last heard from a leader (Infinity if it never did). */
  ticksSinceLeaderContact(): number;
  /** Leader: lapsed long enough to fall silent (lease-lapse.ts). */
  silent(): boolean;
  /** Leader: its transfer handed over (TimeoutNow went) and the take-over is awaited (transfer-driving.ts). */
  handedOver(): boolean;
  /** Whether this node can reach ZooKeeper (candidacy.ts). */
  zkConnected(): boolean;
  /** Ends the election timer now: this node should take over itself. */
  hurryElection(): void;
  reply(request: Message, response: Message): void;
}

/** The round of pre-vote `m`, to echo in its answer (nothing when it had none). */
export function echoRound(m: Vote): { round?: PreVoteRound } {
  return m.round === undefined ? {} : { round: m.round };
}

export class VoteAnswer {
  constructor(
    private readonly cfg: VoteAnswerConfig,
    private readonly log: AnsweringLog,
    private readonly node: AnsweringNode,
  ) {}

  /** Answers the peer's pre-vote `m`. */
  onVote(m: Vote): void {
    const node = this.node;
    let reason: VoteRejection = '';
    // A transfer pre-vote is no objection only to a leader that handed over: otherwise it comes
    // from a follower a forged TimeoutNow misled (or a stale one), and this leader leads.
    if (node.role() === 'leader' && !node.silent() && !(m.transfer && node.handedOver())) reason = 'is-leader';
    else if (m.term <= node.term()) reason = 'stale-term';
    else if (!m.transfer && this.leaderAlive()) reason = 'leader-alive';
    else if (!this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm, node.commit())) reason = 'log-behind';
    const granted = reason === '';
    if (reason === 'log-behind' && node.role() === 'follower' && node.zkConnected()) {
      // We hold committed entries the candidate lacks: we should take over instead.
      node.hurryElection();
    }
    node.reply(m, {
      type: 'voteReply',
      from: node.id,
      to: m.from,
      term: granted ? m.term : node.term(),
      granted,
      preVote: m.preVote,
      reason,
      ...echoRound(m),
    });
  }

  /** Leader stickiness: we lead, or heard from a leader within the minimum election timeout. */
  private leaderAlive(): boolean {
    if (this.node.role() === 'leader') return !this.node.silent();
    return this.node.leaderId() !== '' && this.node.ticksSinceLeaderContact() < this.cfg.electionTimeoutTicks;
  }
}
