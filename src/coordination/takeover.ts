// Fence, replay, take over: how a follower becomes leader (PROTOCOL.md section 5).
//
// The order matters:
//  1. Fence: one multi that checks the lease version the core saw unchanged for the
//     lease window, checks the config version in which this node is a voter, moves the
//     epoch from (T, V) to (T+1, me), touches the lease (our lease starts now), and
//     replaces the leader znode with our ephemeral one. If the old leader touched its lease
//     after our last look, anyone moved the epoch, or the config changed (a promotion may
//     have replaced this node while it was thought dead), it fails. A node that the config
//     does not name as a voter never sends it.
//  2. Read the tail. The fence froze ZooKeeper's log: an append of the old leader still
//     in flight fails its check(epoch). Reading before fencing would let one land after
//     the read. The read must also be at least as fresh as the fence (PROTOCOL.md R3): in
//     the fence's own session it is (a session reads its own writes), but the replay
//     survives a session expiry on purpose, and a new session may land on a server that
//     lags the fence: then sync() first.
//  3. Replay the segments after our commit index up to the tail.
// The core then truncates anything of ours past the tail and appends its no-op.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { TakeoverRequest, TakeoverResult } from '../core/raft.js';
import type { Entry, NodeId } from '../core/types.js';
import type { ClusterPaths } from './layout.js';
import { decodeConfig, decodeEpoch, decodeTail, encodeEpoch, encodeLeader, encodeLease } from './records.js';
import type { ZkOp, ZkSession } from './zk-api.js';
import { ZkError, outcomeUnknown } from './zk-api.js';
import { CompactedError, CorruptZnodeError } from '../common/errors.js';
import { readCommittedEntries } from './zk-log-reader.js';

export interface TakeoverOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly selfId: NodeId;
  readonly address: string;
  readonly request: TakeoverRequest;
  readonly leaseDurationMs: number;
  /** The clock drift bound this node assumes (published with the lease). */
  readonly driftBound: number;
  /** Bound on the whole replay phase (after a successful fence). */
  readonly replayDeadlineMs: number;
  /**
   * The epoch and leader znode as this node's watches last saw them. The fence then needs
   * one round trip; if they are stale it fails and is retried once with fresh reads.
   */
  readonly known?: {
    readonly epochTerm: number;
    readonly epochLeader: NodeId;
    readonly epochVersion: number;
    readonly leaderExists: boolean;
    /**
     * The config znode's version as last seen, and whether it named this node a voter
     * (absent: not seen yet; the fence then reads it).
     */
    readonly config?: { readonly version: number; readonly voter: boolean };
  };
  /**
   * The entries before ZooKeeper's first were compacted behind a snapshot: load one that
   * covers at least `minIndex` (into the state machine and the core) and resolve with the
   * index it covers, or null when none could be.
   */
  /**
   * Loads ZooKeeper's snapshot reaching at least `minIndex` and returns the commit index it
   * leaves (null: none). Returning the request's commit index itself means a snapshot's
   * point there matched this node's entry (nothing was installed).
   */
  readonly loadSnapshot?: (minIndex: number) => Promise<number | null>;
  /** Called as soon as the fence succeeded, before the replay: the term's lease starts there. */
  readonly onFenced?: (f: { readonly term: number; readonly epochVersion: number; readonly leaseValidUntil: number; readonly leaseValidUntilWall: number }) => void;
  /** Test-only fault: read the tail before fencing (the bug the simulator must catch). */
  readonly unsafeReadTailBeforeFence?: boolean;
  /**
   * Test-only fault (the broken build tail-without-sync): the take-over as it was before
   * PROTOCOL.md R3. The tail (and, after a fence of unknown outcome, the epoch) is read on
   * whatever session is current without sync(), a change of session under the read goes
   * unnoticed, and a tail below the commit index is handed to the core like any other (the
   * core's own assertion then refuses it, and the runner reports a failed take-over).
   */
  readonly unsafeTailWithoutSync?: boolean;
  /**
   * The last take-over failed because the tail did not decode: read it before fencing, and
   * do not fence while it still does not. Otherwise each retry fenced (a new term) and then
   * failed on the same tail, one term per try for as long as it stayed corrupt (fuzz
   * finding 7). A normal take-over does not pay this read: the tail is read after the fence.
   */
  readonly checkTailFirst?: boolean;
}

export type TakeoverOutcome =
  | {
      readonly ok: true;
      readonly result: Extract<TakeoverResult, { ok: true }>;
      readonly epochVersion: number;
      readonly tailVersion: number;
      /** The tail record's segmentFirstIndex: the mirror's first segment links back to it. */
      readonly tailSegmentFirstIndex: number;
      readonly leaseValidUntil: number;
      /** The same bound on the wall clock (a VM stop freezes the monotonic one). */
      readonly leaseValidUntilWall: number;
      /** When the fence succeeded (clock.now()): splits the take-over into fence and replay for metrics. */
      readonly fencedAt: number;
    }
  | {
      readonly ok: false;
      readonly result: Extract<TakeoverResult, { ok: false }>;
      /** Set when ZooKeeper holds less than this node knows was committed: it lost data. */
      readonly zkDataLost?: string;
      /** Set when the tail znode did not decode (the next take-over checks it before fencing). */
      readonly tailUnreadable?: boolean;
    };

export async function takeOver(o: TakeoverOptions): Promise<TakeoverOutcome> {
  const { zk, paths } = o;
  if (o.request.leaseVersion < 1) return failed(0, '', 'the lease znode has not been observed yet');
  let early: { lastIndex: number; segmentFirstIndex: number; version: number } | null = null;
  if (o.unsafeReadTailBeforeFence) early = await readTail(zk, paths);
  if (o.checkTailFirst) {
    try {
      await readTail(zk, paths);
    } catch (err) {
      if (!(err instanceof CorruptZnodeError)) throw err;
      o.logger.warn({ err: err.message }, 'the tail znode still does not decode: not fencing until it does');
      return { ...(await failedAfterReading(o, `not fencing: ${err.message}`)), tailUnreadable: true } as TakeoverOutcome;
    }
  }

  // 1. Fence.
  let fence = await tryFence(o, o.known ?? null);
  if (fence.kind === 'stale') fence = await tryFence(o, null);
  // The config znode also lists the listeners: one registering between the fresh reads and
  // the multi fails its config check. One more try, reading afresh (whether this node is
  // still a voter among them); a second such failure ends the take-over (review 12).
  if (fence.kind === 'configMoved') fence = await tryFence(o, null);
  if (fence.kind === 'configMoved') return fence.outcome;
  // A moved lease means its holder touched it after the version we check: it is alive, or
  // it took back a lease it had handed over. Never re-read and retry here: that could depose
  // a leader that trusts its lease again.
  if (fence.kind === 'leaseMoved') return fence.outcome;
  if (fence.kind === 'stale') return failed(0, '', 'fence refused twice');
  if (fence.kind === 'failed') return fence.outcome;
  const { term, sentAt, sentAtWall, epochVersion, sessionId } = fence;
  o.logger.info({ term, epochVersion, previousLeader: fence.previousLeader }, 'fenced ZooKeeper: epoch is ours');
  const fencedAt = o.clock.now();
  o.onFenced?.({ term, epochVersion, leaseValidUntil: sentAt + o.leaseDurationMs, leaseValidUntilWall: sentAtWall + o.leaseDurationMs });

  // 2 and 3. Read the tail, then replay. We hold the epoch now; keep trying for a bound.
  const deadline = o.clock.now() + o.replayDeadlineMs;
  let lastError = '';
  // Where the replay starts: the node's commit index, or a snapshot it loaded meanwhile.
  let from = o.request.commit;
  let snapshotLoads = 0;
  // The entry at our commit index was proven by a snapshot's point instead of ZooKeeper's
  // entry (ZooKeeper compacted its log exactly through it).
  let commitProven = false;
  // The last failure was the tail not decoding.
  let tailUnreadable = false;
  for (let attempt = 0; o.clock.now() < deadline; attempt++) {
    // A read in another session than the fence's may come from a server behind it.
    const readSession = zk.sessionId;
    try {
      if (readSession !== sessionId && !o.unsafeTailWithoutSync) await zk.sync(paths.root);
      const tail = early ?? (await readTail(zk, paths));
      early = null;
      if (zk.sessionId !== readSession && !o.unsafeTailWithoutSync) throw new ZkError('SESSION_EXPIRED', paths.tail, 'the session changed while reading the tail; reading again');
      if (tail.lastIndex < from && !o.unsafeTailWithoutSync) {
        // Every entry up to our commit index is committed, so ZooKeeper held it. A tail below
        // it, read fresh after the fence, means ZooKeeper lost data: never truncate
        // committed entries to match it.
        o.logger.error({ term, zkTail: tail.lastIndex, commit: o.request.commit }, "ZooKeeper's tail is below this node's commit index: ZooKeeper lost data; not leading");
        const why = `ZooKeeper's tail ${tail.lastIndex} is below this node's commit index ${o.request.commit}: ZooKeeper has lost committed data`;
        return { ...failed(term, o.selfId, why), zkDataLost: why } as TakeoverOutcome;
      }
      // From our commit index itself (unless a snapshot moved the start): the core checks that
      // ZooKeeper's entry there is ours (our commit index may rest on a forged message; issue
      // 11 defect 1). One chain value proves the whole prefix.
      const start = from === o.request.commit && !commitProven ? Math.max(0, from - 1) : from;
      const entries: Entry[] = await readCommittedEntries(zk, paths, start, tail.lastIndex, { tailSegmentFirstIndex: tail.segmentFirstIndex });
      return {
        ok: true,
        result: { ok: true, term, entries, zkLastIndex: tail.lastIndex },
        epochVersion,
        tailVersion: tail.version,
        tailSegmentFirstIndex: tail.segmentFirstIndex,
        leaseValidUntil: sentAt + o.leaseDurationMs,
        leaseValidUntilWall: sentAtWall + o.leaseDurationMs,
        fencedAt,
      };
    } catch (err) {
      lastError = (err as Error).message;
      tailUnreadable = err instanceof CorruptZnodeError && err.path === paths.tail;
      // The log after our commit index was compacted behind a snapshot: load it, and replay
      // from there (bounded: the snapshot only moves forward).
      if (err instanceof CompactedError && o.loadSnapshot && snapshotLoads++ < 3) {
        // A snapshot bridges the gap only if it reaches the entry before ZooKeeper's first.
        const loaded = await o.loadSnapshot(Math.max(err.wantedIndex, err.firstAvailableIndex - 1));
        if (loaded !== null && loaded > from) {
          o.logger.info({ term, snapshot: loaded }, 'replaying after the snapshot loaded from ZooKeeper');
          from = loaded;
          continue;
        }
        // ZooKeeper's log starts right after our commit index and a snapshot's point there
        // matched our entry (term and chain): that proves the prefix; replay after it.
        if (loaded !== null && loaded === from && from === o.request.commit && !commitProven) {
          o.logger.info({ term, commit: from }, "ZooKeeper's snapshot at this node's commit index confirms its entry there; replaying after it");
          commitProven = true;
          continue;
        }
      }
      // A read that failed after the session changed (a segment missing, a list that ends
      // early) may only show a server behind the fence: sync and read again.
      const sessionChanged = zk.sessionId !== readSession && !o.unsafeTailWithoutSync;
      if (!sessionChanged && err instanceof ZkError && !outcomeUnknown(err.code) && err.code !== 'NOT_CONNECTED') break;
      if (!sessionChanged && !(err instanceof ZkError)) break;
      await new Promise<void>((resolve) => o.clock.setTimeout(resolve, Math.min(200, 10 * 2 ** attempt)));
    }
  }
  o.logger.error({ term, err: lastError }, 'fenced but could not replay ZooKeeper; giving the term up');
  const outcome = failed(term, o.selfId, `replay failed: ${lastError}`);
  return tailUnreadable ? ({ ...outcome, tailUnreadable: true } as TakeoverOutcome) : outcome;
}

type FenceAttempt =
  | {
      readonly kind: 'ok';
      readonly term: number;
      readonly epochVersion: number;
      readonly sentAt: number;
      /** sentAt on the wall clock. */
      readonly sentAtWall: number;
      readonly previousLeader: NodeId;
      /** The session the fence ran in (reads in it see the fence). */
      readonly sessionId: string;
    }
  | { readonly kind: 'stale' }
  /** The lease was touched after the version we checked: the leader is alive (or just handed over). */
  | { readonly kind: 'leaseMoved'; readonly outcome: TakeoverOutcome }
  /** Fresh reads, and the config moved between them and the multi (a listener registering shares the znode). */
  | { readonly kind: 'configMoved'; readonly outcome: TakeoverOutcome }
  | { readonly kind: 'failed'; readonly outcome: TakeoverOutcome };

/**
 * One fence multi. With `known` (what the watches saw) it costs one round trip; a failure
 * other than the lease check is then reported 'stale' so the caller retries with fresh reads.
 */
async function tryFence(o: TakeoverOptions, known: TakeoverOptions['known'] | null): Promise<FenceAttempt> {
  const { zk, paths } = o;
  let epoch: { term: number; leaderId: NodeId; version: number };
  let leaderExists: boolean;
  if (known) {
    epoch = { term: known.epochTerm, leaderId: known.epochLeader, version: known.epochVersion };
    leaderExists = known.leaderExists;
  } else {
    const epochRead = await zk.getData(paths.epoch);
    const e = decodeEpoch(paths.epoch, epochRead.data);
    epoch = { term: e.term, leaderId: e.leaderId, version: epochRead.stat.version };
    leaderExists = (await zk.exists(paths.leader)) !== null;
  }
  const config = known?.config ?? (await readVoterConfig(zk, paths, o.selfId));
  // Not a voter in the config seen: never fence. A watch's look may be stale (then read
  // again); a fresh read that says so is final for this take-over. Whatever was read, the
  // multi's check(config) makes sure the config has not changed since.
  if (!config.voter) {
    if (known?.config) return { kind: 'stale' };
    return { kind: 'failed', outcome: await failedAfterReading(o, `${o.selfId} is not a voter in the cluster configuration (config version ${config.version}): it may not fence`) };
  }
  const term = Math.max(epoch.term, o.request.term) + 1;
  const ops: ZkOp[] = [
    { type: 'check', path: paths.lease, version: o.request.leaseVersion },
    // The config this node is a voter in: a promotion that replaced it moves the version.
    { type: 'check', path: paths.config, version: config.version },
    { type: 'setData', path: paths.epoch, data: encodeEpoch({ term, leaderId: o.selfId }), version: epoch.version },
    { type: 'setData', path: paths.lease, data: encodeLease({ term, leaderId: o.selfId, seq: 0, durationMs: o.leaseDurationMs, driftBound: o.driftBound }), version: -1 },
  ];
  if (leaderExists) ops.push({ type: 'delete', path: paths.leader, version: -1 });
  ops.push({ type: 'create', path: paths.leader, data: encodeLeader({ id: o.selfId, term, address: o.address }), mode: 'ephemeral' });
  const sentAt = o.clock.now();
  const sentAtWall = o.clock.wallNow();
  const sessionId = zk.sessionId;
  try {
    await zk.multi(ops);
  } catch (err) {
    const code = err instanceof ZkError ? err.code : 'OTHER';
    if (!outcomeUnknown(code)) {
      const leaseMoved = err instanceof ZkError && err.failedOp === 0;
      if (known && !leaseMoved) return { kind: 'stale' };
      const configMoved = err instanceof ZkError && err.failedOp === 1;
      const outcome = await failedAfterReading(o, `fence refused (${code}${failedOpName(err, ops)})`);
      return leaseMoved ? { kind: 'leaseMoved', outcome } : configMoved ? { kind: 'configMoved', outcome } : { kind: 'failed', outcome };
    }
    // Unknown outcome: the epoch tells whether our fence happened (read fresh: the session
    // may be new, and on a lagging server).
    const now = await (o.unsafeTailWithoutSync ? Promise.resolve() : zk.sync(paths.root)).then(() => zk.getData(paths.epoch)).catch(() => null);
    if (!now) return { kind: 'failed', outcome: failed(epoch.term, epoch.leaderId, `fence outcome unknown (${code}) and the epoch is unreadable`) };
    const after = decodeEpoch(paths.epoch, now.data);
    if (!(after.term === term && after.leaderId === o.selfId)) {
      return { kind: 'failed', outcome: failed(after.term, after.leaderId, `fence lost (${code})`) };
    }
    o.logger.info({ term }, 'fence outcome was unknown; the epoch shows it succeeded');
    // Not known to be in the fence's session: the tail read will sync first.
    return { kind: 'ok', term, epochVersion: now.stat.version, sentAt, sentAtWall, previousLeader: epoch.leaderId, sessionId: '' };
  }
  return { kind: 'ok', term, epochVersion: epoch.version + 1, sentAt, sentAtWall, previousLeader: epoch.leaderId, sessionId };
}

/** The config znode's version, and whether it names `selfId` a voter. */
async function readVoterConfig(zk: ZkSession, paths: ClusterPaths, selfId: NodeId): Promise<{ version: number; voter: boolean }> {
  const r = await zk.getData(paths.config);
  return { version: r.stat.version, voter: decodeConfig(paths.config, r.data).voters.includes(selfId) };
}

async function readTail(zk: ZkSession, paths: ClusterPaths): Promise<{ lastIndex: number; segmentFirstIndex: number; version: number }> {
  const r = await zk.getData(paths.tail);
  const t = decodeTail(paths.tail, r.data);
  return { lastIndex: t.lastIndex, segmentFirstIndex: t.segmentFirstIndex, version: r.stat.version };
}

async function failedAfterReading(o: TakeoverOptions, reason: string): Promise<TakeoverOutcome> {
  const now = await o.zk.getData(o.paths.epoch).catch(() => null);
  if (!now) return failed(0, '', reason);
  const e = decodeEpoch(o.paths.epoch, now.data);
  return failed(e.term, e.leaderId, reason);
}

function failed(epochTerm: number, epochLeader: NodeId, reason: string): TakeoverOutcome {
  return { ok: false, result: { ok: false, epochTerm, epochLeader, reason } };
}

function failedOpName(err: unknown, ops: readonly ZkOp[]): string {
  if (!(err instanceof ZkError) || err.failedOp < 0) return '';
  const op = ops[err.failedOp];
  return op ? ` at ${op.type} ${op.path.slice(op.path.lastIndexOf('/') + 1)}` : '';
}
