// The listener's loop: choose an upstream, be fed by it, and when it ends choose again;
// with no upstream to use, read ZooKeeper's log directly (depth 0) and look again every
// RECHOOSE_WHILE_TAILING_MS.
//
// Candidates are the members registered in ZooKeeper (members/) and the ones on record in
// the data folder (upstream-list-file.ts), so a restarted listener can find its upstream
// again even before it reads members/. Each candidate is probed (what it can offer) and
// the choice follows RATIS-1298 (upstream-choice.ts). The listener also feeds listeners
// below it (the feeder reads this runner's FeedSource): only while it is fed itself.
import type { Clock, TimerHandle } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { ClusterPaths } from '../../coordination/layout.js';
import { readMembers } from '../../coordination/listener-config.js';
import { decodeLeader, decodeTail } from '../../coordination/records.js';
import { ZkError, type ZkSession } from '../../coordination/zk-api.js';
import type { ChainedEntry } from '../../core/types.js';
import type { FeedSource } from './feeder.js';
import type { ListenerLog } from './listener-log.js';
import type { ListenerStatusView } from '../kv-operations.js';
import { chooseUpstream, rejection, type CandidateProbe } from './upstream-choice.js';
import { type KnownUpstream, mergeUpstreams, sameUpstreams } from './upstream-list-file.js';
import { type LinkEnd, UpstreamLink } from './upstream-link.js';
import type { FeedConnector } from './feed-connector.js';
import type { ZkTailer } from './zk-tailer.js';

const PROBE_TIMEOUT_MS = 500;
const RECHOOSE_MS = 50;
const RECHOOSE_WHILE_TAILING_MS = 2000;
/**
 * After losing an upstream, a listener that finds none to use looks again sooner, these
 * many ms apart, before settling on RECHOOSE_WHILE_TAILING_MS: across a failover the old
 * leader steps down within tens of ms and can feed again, and finding it within
 * FEED_GRACE_MS keeps the listeners below in place (a listener reading ZooKeeper feeds no
 * one). Found by the chain test: two leader changes a second apart left a listener reading
 * ZooKeeper for 2 s, the tree below it rebuilt itself upside down.
 */
const RECHOOSE_AFTER_LOSS_MS = [50, 100, 200, 400, 800] as const;
/** An upstream that dropped this listener (or failed) is not chosen again for this long. */
const AVOID_MS = 3000;
/**
 * A listener that lost its upstream keeps its own listeners this long while it looks for
 * another (they get heartbeats, no entries): without it one failover reshuffles the whole
 * tree below, as the bench showed (depth 2 and 3 dropped within 10 ms of depth 1 moving).
 */
const FEED_GRACE_MS = 1500;
/**
 * An upstream whose commit index has not moved for this many heartbeats is compared with
 * ZooKeeper's tail (one read): if the upstream is still short of a tail ZooKeeper already
 * held one period earlier, it is stuck behind (a follower waiting for a snapshot, cut from
 * its leader) and the listener moves. Found by the simulator: a listener stayed on a
 * follower that was stuck for over 10 s after the faults healed, heartbeats arriving, no
 * entries. One period of slack, not a single look: a new leader's first entry reaches
 * ZooKeeper a few ms before an upstream that is changing its own upstream, and a look in
 * between took a healthy upstream for a stuck one (the chain test, across a leader change
 * after an idle second). An idle cluster costs one read per period.
 */
const STALL_CHECK_HEARTBEATS = 4;

export interface ListenerRunnerOptions {
  readonly cluster: string;
  readonly selfId: string;
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly log: ListenerLog;
  readonly tailer: ZkTailer;
  readonly genesis: Uint8Array;
  readonly heartbeatMs: number;
  /** How upstreams are probed and subscribed to (gRPC; the simulator's network in the simulator). */
  readonly connector: FeedConnector;
  /** The upstreams on record at start. */
  readonly known: readonly KnownUpstream[];
  /** Records a changed list of upstreams (best effort). */
  readonly saveKnown: (list: readonly KnownUpstream[]) => Promise<void>;
}

export class ListenerRunner {
  private readonly o: ListenerRunnerOptions;
  private link: UpstreamLink | null = null;
  /** The current link's upstream commit index as last heard, and as of the last stall check. */
  private linkCommit = 0;
  private linkCommitChecked = -1;
  /** ZooKeeper's tail as the last stall check found it ahead of the upstream (null: it was not). */
  private tailAhead: number | null = null;
  private stallTimer: TimerHandle | null = null;
  private upstream: { id: string; depth: number; path: readonly string[] } | null = null;
  /** The upstream last had, and when it was lost (for FEED_GRACE_MS). */
  private lost: { depth: number; path: readonly string[]; at: number } | null = null;
  private known: KnownUpstream[];
  private readonly avoid = new Map<string, number>();
  private timer: TimerHandle | null = null;
  private choosing = false;
  /** How many of RECHOOSE_AFTER_LOSS_MS's quick looks were used since the last upstream was lost. */
  private quickLooks: number = RECHOOSE_AFTER_LOSS_MS.length;
  private stopped = false;
  private knownCommit = 0;
  private behindSince: number | null = null;
  /** When it last heard a commit index (or began to use its current source): health's news age. */
  private newsAt: number;
  /** The source it was fed from last (an upstream's id or 'zookeeper'), and how often that changed (metrics). */
  private lastSource = '';
  private sourceChanges = 0;
  private leader: { id: string; address: string } = { id: '', address: '' };

  constructor(options: ListenerRunnerOptions) {
    this.o = options;
    this.known = [...options.known];
    this.newsAt = options.clock.now();
  }

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.stallTimer?.cancel();
    this.link?.close('the listener is stopping');
    this.link = null;
    this.upstream = null;
    // The tailer stays usable (a promoted listener catches up with it); its owner stops it.
    this.o.tailer.follow(false);
  }

  /** The leader as last read from ZooKeeper (for NOT_LEADER hints). */
  leaderHint(): { leaderId: string; leaderAddress: string } {
    return { leaderId: this.leader.id, leaderAddress: this.leader.address };
  }

  /** ZooKeeper's tail or an upstream's commit index was seen. */
  noteCommit(index: number): void {
    this.newsAt = this.o.clock.now();
    if (index > this.knownCommit) this.knownCommit = index;
    this.noteApplied();
  }

  /** Called after entries were applied. */
  noteApplied(): void {
    const behind = this.knownCommit > this.o.log.applied();
    if (behind && this.behindSince === null) this.behindSince = this.o.clock.now();
    if (!behind) this.behindSince = null;
  }

  /** Times it began to be fed from another source than before (the first one counts). */
  upstreamChanges(): number {
    return this.sourceChanges;
  }

  /** How long since it last heard a commit index from its source (health.ts). */
  commitNewsAgeMs(): number {
    return Math.max(0, this.o.clock.now() - this.newsAt);
  }

  private fedFrom(source: string): void {
    // A source just chosen (again) has had no time to send news yet: its age counts from now.
    this.newsAt = this.o.clock.now();
    if (source === this.lastSource) return;
    this.lastSource = source;
    this.sourceChanges++;
  }

  status(): ListenerStatusView {
    const applied = this.o.log.applied();
    const lagEntries = Math.max(0, this.knownCommit - applied);
    return {
      upstream: this.upstream?.id ?? (this.o.tailer.following() ? 'zookeeper' : ''),
      depth: this.upstream?.depth ?? 0,
      knownCommit: this.knownCommit,
      lagEntries,
      lagMs: lagEntries > 0 && this.behindSince !== null ? Math.round(this.o.clock.now() - this.behindSince) : 0,
    };
  }

  /** What listeners below this one are fed from. */
  feedSource(): FeedSource {
    const log = this.o.log;
    const inGrace = (): boolean => this.upstream === null && this.lost !== null && this.o.clock.now() - this.lost.at < FEED_GRACE_MS;
    return {
      cannotFeed: () =>
        this.stopped ? 'stopping' : this.upstream === null && !inGrace() ? 'this listener has no upstream (a listener reading ZooKeeper directly, depth 0, feeds no one)' : null,
      depth: () => this.upstream?.depth ?? (inGrace() ? this.lost!.depth : 0),
      path: () => this.upstream?.path ?? (inGrace() ? this.lost!.path : []),
      committedIndex: () => log.applied(),
      entryAt: (index: number): ChainedEntry | undefined => log.entryAt(index),
      chainAt: (index: number) => (index === 0 ? this.o.genesis : log.chainAt(index)),
    };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      void this.choose();
    }, ms);
  }

  private async choose(): Promise<void> {
    if (this.stopped || this.choosing || this.link) return;
    this.choosing = true;
    try {
      const candidates = await this.candidates();
      const now = this.o.clock.now();
      for (const [id, until] of this.avoid) if (until <= now) this.avoid.delete(id);
      const probes = (await Promise.all(candidates.map((c) => this.o.connector.probe(this.o.cluster, this.o.selfId, c.id, c.address, PROBE_TIMEOUT_MS)))).filter(
        (p): p is CandidateProbe => p !== null,
      );
      if (this.stopped || this.link) return;
      const input = { self: this.o.selfId, leaderId: this.leader.id, candidates: probes, avoid: new Set(this.avoid.keys()) };
      const choice = chooseUpstream(input);
      if (!choice) {
        if (!this.o.tailer.following()) {
          this.o.logger.info(
            { candidates: probes.map((p) => ({ id: p.id, why: rejection(p, input) })) },
            'no upstream to use: reading ZooKeeper\'s log directly (depth 0)',
          );
        }
        this.upstream = null;
        this.o.tailer.follow(true);
        this.fedFrom('zookeeper');
        this.schedule(this.quickLooks < RECHOOSE_AFTER_LOSS_MS.length ? RECHOOSE_AFTER_LOSS_MS[this.quickLooks++]! : RECHOOSE_WHILE_TAILING_MS);
        return;
      }
      this.o.tailer.follow(false);
      this.upstream = { id: choice.id, depth: choice.depth, path: choice.path };
      this.fedFrom(choice.id);
      this.o.logger.info({ upstream: choice.id, depth: choice.depth, path: choice.path, from: this.o.log.applied() + 1 }, 'fed by an upstream');
      this.link = new UpstreamLink({
        cluster: this.o.cluster,
        selfId: this.o.selfId,
        upstreamId: choice.id,
        address: choice.address,
        connector: this.o.connector,
        clock: this.o.clock,
        logger: this.o.logger,
        heartbeatMs: this.o.heartbeatMs,
        fromIndex: this.o.log.applied() + 1,
        prevChain: this.o.log.chainAtApplied(),
        onEntries: (entries, upstreamCommit) => {
          this.linkCommit = Math.max(this.linkCommit, upstreamCommit);
          this.noteCommit(upstreamCommit);
          this.o.log.accept(entries, `upstream ${choice.id}`);
          this.noteApplied();
        },
        onUpstreamCommit: (commit) => {
          this.linkCommit = Math.max(this.linkCommit, commit);
          this.noteCommit(commit);
        },
        onUpstreamPath: (depth, path) => {
          if (this.upstream?.id === choice.id) this.upstream = { id: choice.id, depth: depth + 1, path: [choice.id, ...path] };
        },
        onEnd: (end) => this.linkEnded(choice.id, end),
      });
      this.armStallCheck(this.link, choice.id);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'choosing an upstream failed; reading ZooKeeper\'s log meanwhile');
      this.upstream = null;
      this.o.tailer.follow(true);
      // Fed from ZooKeeper now, as on the no-candidate path: duoraft_listener_upstream_changes_total counts it.
      this.fedFrom('zookeeper');
      this.schedule(RECHOOSE_WHILE_TAILING_MS);
    } finally {
      this.choosing = false;
    }
  }

  /** Every STALL_CHECK_HEARTBEATS heartbeats while fed: has the upstream's commit moved? If not, is ZooKeeper ahead of it? */
  private armStallCheck(link: UpstreamLink, upstreamId: string): void {
    this.stallTimer?.cancel();
    this.linkCommit = 0;
    this.linkCommitChecked = -1;
    this.tailAhead = null;
    const check = (): void => {
      this.stallTimer = null;
      if (this.stopped || this.link !== link) return;
      if (this.linkCommit !== this.linkCommitChecked) {
        this.linkCommitChecked = this.linkCommit;
        this.tailAhead = null;
        this.stallTimer = this.o.clock.setTimeout(check, STALL_CHECK_HEARTBEATS * this.o.heartbeatMs);
        return;
      }
      void this.o.zk.getData(this.o.paths.tail).then(
        ({ data }) => {
          if (this.stopped || this.link !== link) return;
          const tail = decodeTail(this.o.paths.tail, data).lastIndex;
          this.noteCommit(tail);
          const reached = Math.max(this.linkCommit, this.o.log.applied());
          if (this.tailAhead !== null && this.tailAhead > reached) {
            this.o.logger.info({ upstream: upstreamId, upstreamCommit: this.linkCommit, zkTail: tail, zkTailAPeriodAgo: this.tailAhead }, 'the upstream is stuck behind ZooKeeper\'s tail: choosing another');
            link.close(`${upstreamId} is stuck at ${this.linkCommit}, behind ZooKeeper's tail ${this.tailAhead} of one period ago`);
            return;
          }
          this.tailAhead = tail > reached ? tail : null;
          this.stallTimer = this.o.clock.setTimeout(check, STALL_CHECK_HEARTBEATS * this.o.heartbeatMs);
        },
        () => {
          if (!this.stopped && this.link === link) this.stallTimer = this.o.clock.setTimeout(check, STALL_CHECK_HEARTBEATS * this.o.heartbeatMs);
        },
      );
    };
    this.stallTimer = this.o.clock.setTimeout(check, STALL_CHECK_HEARTBEATS * this.o.heartbeatMs);
  }

  private linkEnded(id: string, end: LinkEnd): void {
    this.link = null;
    this.stallTimer?.cancel();
    this.stallTimer = null;
    if (this.upstream) this.lost = { depth: this.upstream.depth, path: this.upstream.path, at: this.o.clock.now() };
    this.upstream = null;
    if (this.stopped) return;
    this.o.logger.info({ upstream: id, reason: end.reason, compacted: end.compacted, cannotFeed: end.upstreamCannotFeed === true }, 'upstream link ended: choosing again');
    this.quickLooks = 0;
    // One that can feed no one now (it leads, lost its own upstream) says so in its probe
    // until it can again: avoiding it too would pass over it once it can (a leader that
    // stepped down is then the only voter with room). One that dropped this listener alone,
    // failed or stalled is avoided for a while.
    if (end.upstreamCannotFeed === true) this.avoid.delete(id);
    else this.avoid.set(id, this.o.clock.now() + AVOID_MS);
    if (end.compacted) {
      // The upstream no longer holds what we need: ZooKeeper does (or its snapshot does).
      void this.o.tailer.catchUpToTail().then(
        () => this.schedule(0),
        (err: unknown) => {
          this.o.logger.warn({ err: (err as Error).message }, 'catching up from ZooKeeper failed');
          this.schedule(RECHOOSE_MS);
        },
      );
      return;
    }
    this.schedule(RECHOOSE_MS);
  }

  /** Members in ZooKeeper and the upstreams on record, without this listener. */
  private async candidates(): Promise<KnownUpstream[]> {
    let seen: KnownUpstream[] = [];
    try {
      const members = await readMembers(this.o.zk, this.o.paths);
      seen = members.filter((m) => m.id !== this.o.selfId).map((m) => ({ id: m.id, address: m.address }));
      await this.readLeader();
    } catch (err) {
      this.o.logger.debug({ err: (err as Error).message }, 'could not read members/; using the upstreams on record');
    }
    const merged = mergeUpstreams(seen, this.known).filter((u) => u.id !== this.o.selfId);
    if (!sameUpstreams(merged, this.known)) {
      this.known = merged;
      this.o.saveKnown(merged).catch((err: unknown) => this.o.logger.warn({ err: (err as Error).message }, 'could not record the list of upstreams'));
    }
    return merged;
  }

  private async readLeader(): Promise<void> {
    try {
      const { data } = await this.o.zk.getData(this.o.paths.leader);
      const r = decodeLeader(this.o.paths.leader, data);
      this.leader = { id: r.id, address: r.address };
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_NODE') this.leader = { id: '', address: '' };
      else throw err;
    }
  }
}
