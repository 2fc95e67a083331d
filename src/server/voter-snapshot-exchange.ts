// Snapshots between the two voters (issue 10 point 4). As leader: a follower behind this
// log's compaction point is offered this node's newest snapshot (InstallSnapshot), and the
// ranges it pulls are served from it. As follower: an offer from its leader of this term is
// pulled range by range (SnapshotChunk), verified and installed; if that fails, ZooKeeper's
// snapshot is loaded instead. Why the leader's copy first and ZooKeeper's as the fallback:
// notes/snapshots.md ("Which source a follower uses"). Kept out of the driver: it changes
// when the transfer protocol changes, not when the Raft loop does.
import type { Clock } from '../common/clock.js';
import { UnavailableError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { SoftState } from '../core/raft.js';
import type { NodeId } from '../core/types.js';
import type { SnapshotTransfer } from '../transport/snapshot-transfer.js';
import { Snapshotter } from './snapshotter.js';

/** A follower that got nothing (no snapshot to offer, or the offer failed) is probed again after this long. */
const PROBE_AGAIN_MS = 1000;
/** Bound on one offer: the follower pulls, verifies and loads the whole snapshot in it. */
const OFFER_TIMEOUT_MS = 120_000;
/** Bytes the follower asks for per range, and how long one range may take. */
const RANGE_BYTES = 1 << 20;
const RANGE_TIMEOUT_MS = 10_000;

/** What the exchange needs of its node. */
export interface VoterSnapshotHost {
  readonly id: NodeId;
  /** The other voter ('' while unknown). */
  peer(): NodeId;
  soft(): SoftState;
  stopped(): boolean;
  commitIndex(): number;
  /** Whether a leader of `term` may move this node's commit index (RaftCore.vouchedFor, which asks the commit gate: src/core/commit-gate.ts). */
  vouchedFor(term: number, authenticated: boolean, sender: string): boolean;
  /** The index this node's log is compacted to (for the log line). */
  compactedTo(): number;
  /** Leader: the offer to `peer` ended, installed at `index` or not (null); tell the core. */
  snapshotSent(peer: NodeId, index: number | null): void;
}

export interface VoterSnapshotExchangeOptions {
  readonly host: VoterSnapshotHost;
  /** Absent where the transport carries no snapshots (the follower then uses ZooKeeper's). */
  readonly transfer: SnapshotTransfer | undefined;
  readonly snapshotter: Snapshotter;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Range size a follower pulls (default 1 MiB; the simulator passes small ones). */
  readonly rangeBytes?: number;
}

export class VoterSnapshotExchange {
  /** The term whose offer to the follower is under way: one per term at a time. */
  private offerTerm: number | null = null;
  /**
   * Follower: the pull of a snapshot its leader offered, under way. It is abandoned once this
   * node no longer follows that leader in that term: a take-over must not wait for a pull from
   * the leader it deposes (a range read to a silent leader waits out its deadline, three times).
   */
  private pull: { readonly term: number; readonly from: NodeId; readonly abandon: (why: string) => void } | null = null;

  constructor(private readonly o: VoterSnapshotExchangeOptions) {}

  /**
   * Leader: the follower is behind the compaction point. Offer it the newest local snapshot;
   * where that cannot be done, or fails, the follower loads ZooKeeper's on its own (its
   * catch-up finds the entries compacted), and the leader probes again a little later.
   */
  offer(peer: NodeId): void {
    const { host, snapshotter, clock, logger: log } = this.o;
    const term = host.soft().term;
    // An offer of an earlier term may still run (up to its timeout): it must not hold up this term's.
    if (this.offerTerm === term) return;
    const saved = snapshotter.newest();
    const transfer = this.o.transfer;
    log.info({ peer, compactedTo: host.compactedTo(), offering: saved?.point.index ?? null }, 'the follower needs entries compacted here: it gets a snapshot');
    const done = (index: number | null): void => {
      if (this.offerTerm === term) this.offerTerm = null;
      const s = host.soft();
      if (host.stopped() || s.role !== 'leader' || s.term !== term) return;
      host.snapshotSent(peer, index);
    };
    this.offerTerm = term;
    if (!saved || !transfer) {
      clock.setTimeout(() => done(null), PROBE_AGAIN_MS);
      return;
    }
    transfer.offer({ from: host.id, to: peer, term, point: saved.point, sizeBytes: saved.sizeBytes, sha256: saved.sha256 }, OFFER_TIMEOUT_MS).then(
      (r) => {
        if (r.installed) {
          done(r.index);
          return;
        }
        // Offered again a little later, not at once: a follower that refused it (its commit
        // is held until it sees this term's epoch, or it does not follow us yet) would
        // refuse an offer made right away too, round trip after round trip.
        log.info({ peer, reason: r.reason }, 'the follower did not install the snapshot offered; offering again shortly');
        clock.setTimeout(() => done(null), PROBE_AGAIN_MS);
      },
      (err: unknown) => {
        log.info({ peer, err: (err as Error).message }, 'offering a snapshot to the follower failed; probing again shortly');
        clock.setTimeout(() => done(null), PROBE_AGAIN_MS);
      },
    );
  }

  /** The node's role, term or leader changed: a pull from a leader it no longer follows is abandoned. */
  followingChanged(s: SoftState): void {
    const pull = this.pull;
    if (pull && (s.role === 'candidate' || s.role === 'leader' || s.term !== pull.term || (s.leaderId !== '' && s.leaderId !== pull.from))) {
      this.pull = null;
      pull.abandon(`no longer following ${pull.from} in term ${pull.term}: the snapshot it offered is not pulled further`);
    }
  }

  /** Answers offers (as follower of the offering leader in its term) and range reads (as leader of the asking voter). */
  serve(): void {
    const { host, snapshotter, clock, logger: log } = this.o;
    const transfer = this.o.transfer;
    if (!transfer) return;
    const rangeBytes = this.o.rangeBytes ?? RANGE_BYTES;
    transfer.serve({
      onOffer: async (offer, authenticated) => {
        const commit = (): number => host.commitIndex();
        const s = host.soft();
        if (host.stopped() || s.role === 'leader' || offer.from !== s.leaderId || offer.term !== s.term) {
          return { installed: false, index: commit(), reason: `not a follower of ${offer.from} in term ${offer.term}` };
        }
        // The commit gate (fuzz finding 9) holds for snapshots too: installing one sets the
        // commit index to its point, and a forged leader one term up could offer a point past
        // ZooKeeper's tail. Refused, not held: a snapshot cannot be taken provisionally the
        // way entries are (it replaces the state machine, which holds only committed state),
        // and holding a downloaded one until the epoch shows the term would keep a second
        // state in memory or on disk with no bound on the wait. A refused offer costs nothing
        // here: the leader offers again a second later, by when the epoch watch has normally
        // fired; a follower cut off from ZooKeeper could commit nothing from it anyway. The
        // term cannot change under the pull: it is abandoned when the node stops following
        // this leader in this term (followingChanged), and a vouched term stays vouched.
        if (!host.vouchedFor(offer.term, authenticated, offer.from)) {
          return { installed: false, index: commit(), reason: `term ${offer.term} is not vouched for by ZooKeeper's epoch here yet (commit held)` };
        }
        if (offer.point.index <= commit()) return { installed: true, index: commit(), reason: 'already past it' };
        const started = clock.now();
        let abandon: (why: string) => void = () => undefined;
        let wasAbandoned = false;
        const abandoned = new Promise<never>((_, reject) => {
          abandon = (why) => {
            wasAbandoned = true;
            reject(new UnavailableError(why));
          };
        });
        abandoned.catch(() => undefined);
        const pull = { term: offer.term, from: offer.from, abandon };
        this.pull = pull;
        const chunks = Snapshotter.pull(
          (offset) =>
            Promise.race([transfer.readRange(offer.from, { index: offer.point.index, sha256: offer.sha256, offset, maxBytes: rangeBytes }, RANGE_TIMEOUT_MS), abandoned]),
          offer.sizeBytes,
          clock,
        );
        let installed = false;
        try {
          installed = await snapshotter.installFromChunks({ point: offer.point, sizeBytes: offer.sizeBytes, sha256: offer.sha256, source: `voter ${offer.from}` }, chunks);
        } catch (err) {
          // Abandoned because this node no longer follows that leader: a take-over (or a new
          // leader) decides what to load; a download here would only compete with it.
          if (wasAbandoned) {
            log.info({ from: offer.from, err: (err as Error).message }, 'the snapshot pull was abandoned');
          } else {
            log.warn({ from: offer.from, err: (err as Error).message }, 'the snapshot from the leader failed: loading the one in ZooKeeper instead');
            installed = await snapshotter.installFromZk(offer.point.index);
          }
        }
        if (this.pull === pull) this.pull = null;
        log.info({ from: offer.from, index: commit(), installed, ms: Math.round(clock.now() - started) }, 'snapshot offer handled');
        return { installed, index: commit(), reason: installed ? '' : 'could not install it' };
      },
      onRange: (from, range) => {
        if (from !== host.peer() || host.soft().role !== 'leader') return Promise.reject(new Error('not the leader of this voter'));
        return snapshotter.readRange(range.index, range.sha256, range.offset, range.maxBytes);
      },
    });
  }
}
