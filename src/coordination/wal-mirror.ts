// The leader's WAL mirror: the commit point.
//
// Every batch of entries goes to ZooKeeper in one multi:
//
//   multi( check(epoch, E),                                 -- still the leader we were elected as
//          create(wal/seg-<firstIndex>, segment),           -- the entries, linking back to the previous segment
//          setData(tail, {term, lastIndex}, expected V+k) ) -- chained: no gaps, no forks
//
// and the entries are committed exactly when it succeeds. Batches are pipelined: up to
// maxInflight multis are outstanding, each expecting the tail version the previous one
// will produce. ZooKeeper runs one session's requests in order, so if one fails every
// later one fails too, and the log in ZooKeeper never has a gap. Versions alone do not
// ensure that: a write to the tail by anyone else moves its version by one, and then the
// multi expecting V fails while the next, expecting V+1, succeeds (the fuzz suite found
// it). So a multi sent behind another also checks that the other's segment exists:
//
//   multi( check(epoch, E), check(wal/seg-<previous batch's firstIndex>), create(...), setData(...) )
//
// A multi that ends without a definite answer (connection loss, timeout) may or may not
// have happened. The mirror then stops sending, waits for every outstanding reply, and
// reads the truth: it syncs, reads tail, then epoch, all in one session. If the epoch is
// unchanged, nobody but us wrote the tail; the tail is accepted only if it is one our own
// chain can have produced (PROTOCOL.md R3): the version and last index we started from, or
// the version and last index one of our batches in flight would leave, with our term.
// Everything up to it is committed; the rest is sent again, re-batched, against the tail's
// real version.
//
// A term that cannot go on ends with onFailed, never with an exception or an endless loop
// (R5): a batch ZooKeeper keeps refusing, a tail that is not ours, a segment over the size
// ZooKeeper takes, or more entries queued than the bound.
// Group commit falls out of the pipeline: entries that arrive while the window is full
// wait and leave together in the next multi.
import type { Clock } from '../common/clock.js';
import { sleep } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ChainedEntry } from '../core/types.js';
import type { ClusterPaths } from './layout.js';
import { MAX_SEGMENT_ZNODE_BYTES, SEGMENT_ENTRY_OVERHEAD_BYTES, decodeEpoch, decodeTail, encodeSegment, encodeTail } from './records.js';
import type { ZkOp, ZkSession } from './zk-api.js';
import { ZkError } from './zk-api.js';

export interface WalMirrorOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The term this leader holds and the epoch znode version that proves it. */
  readonly term: number;
  readonly epochVersion: number;
  /** The tail znode as read after the fence: its version and last index. */
  readonly tailVersion: number;
  readonly tailLastIndex: number;
  /**
   * The tail record's segmentFirstIndex: where the segment holding tailLastIndex starts.
   * The first segment of this term links back to it (see zk-segment-walk.ts); absent or 0,
   * that one back-link is unknown and readers walk forwards around it.
   */
  readonly tailSegmentFirstIndex?: number;
  /** Bound on multis in flight. */
  readonly maxInflight: number;
  /** Bound on the entry data of one segment (a multi must stay under ZooKeeper's 1 MB jute.maxbuffer). */
  readonly maxBatchBytes: number;
  /** Bound on entries waiting to be sent; enqueue beyond it is a bug of the caller (the driver bounds proposals). */
  readonly maxQueuedEntries: number;
  /** Entries up to lastIndex are committed. */
  readonly onCommitted: (lastIndex: number) => void;
  /** Our epoch is gone: another node took over. Nothing more will commit. */
  readonly onFenced: (reason: string) => void;
  /** The term cannot go on (see above): step down. Nothing more will commit through this mirror. */
  readonly onFailed: (reason: string) => void;
  /**
   * Test-only fault (the broken build tail-without-sync): resolve as before PROTOCOL.md R3
   * and R5. It still syncs first (the old code did), but accepts any tail while the epoch is
   * unchanged (no check of its term and version against our chain, none that the session
   * stayed the same), and a tail beyond what it enqueued, or a batch refused again and
   * again, is retried without end instead of ending the term: once enough entries were
   * enqueued, a tail of the old leader's is taken as ours.
   */
  readonly unsafeAcceptAnyTail?: boolean;
  /** Told of every append multi's answer (metrics); nothing by default. */
  readonly observer?: MirrorObserver;
}

/** One append multi, as metrics see it. */
export interface MirrorMultiSample {
  readonly entries: number;
  /** The segment znode's size. */
  readonly bytes: number;
  /** From sending the multi to its answer. */
  readonly ms: number;
  readonly ok: boolean;
}

/** What the mirror tells an observer: read-only samples, never a say in what it does. */
export interface MirrorObserver {
  mirrorMulti(sample: MirrorMultiSample): void;
}

interface Batch {
  readonly entries: readonly ChainedEntry[];
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** The first index of the segment before this batch's (its back-link; 0: unknown). */
  readonly prevFirstIndex: number;
  readonly expectedTailVersion: number;
  /** The first index of the batch in flight before this one, whose segment must exist (null: none in flight). */
  readonly afterSegment: number | null;
}

const RESOLVE_BACKOFF_MIN_MS = 5;
const RESOLVE_BACKOFF_MAX_MS = 200;
/**
 * Resolutions in a row that find none of our batches landed: ZooKeeper keeps refusing what
 * we send (it drops the connection on a packet over jute.maxbuffer, for one). Step down.
 */
const MAX_FRUITLESS_RESOLUTIONS = 8;
/** Resolutions in a row that fail with something other than a ZooKeeper connection error. */
const MAX_RESOLVE_ERRORS = 8;

export class WalMirror {
  private readonly o: WalMirrorOptions;
  private queue: ChainedEntry[] = [];
  private inflight: Batch[] = [];
  private nextTailVersion: number;
  private lastEnqueued: number;
  private committed: number;
  /** The tail znode version our chain left at `committed`. */
  private committedVersion: number;
  /** The first index of the last segment sent (or of the tail's): the next one links back to it. */
  private lastSegmentFirst: number;
  private fruitlessResolutions = 0;
  private resolving = false;
  private closed = false;
  private generation = 0;

  constructor(options: WalMirrorOptions) {
    this.o = options;
    this.nextTailVersion = options.tailVersion;
    this.lastEnqueued = options.tailLastIndex;
    this.committed = options.tailLastIndex;
    this.committedVersion = options.tailVersion;
    const tailFirst = options.tailSegmentFirstIndex ?? 0;
    this.lastSegmentFirst = tailFirst <= options.tailLastIndex ? tailFirst : 0;
  }

  /** Entries to commit, contiguous with everything enqueued before. */
  enqueue(entries: readonly ChainedEntry[]): void {
    if (this.closed || entries.length === 0) return;
    for (const e of entries) {
      if (e.index !== this.lastEnqueued + 1) return this.fail(`entry ${e.index} enqueued after ${this.lastEnqueued}`);
      if (e.term > this.o.term) return this.fail(`entry of term ${e.term} in term ${this.o.term}`);
      if (e.data.length + SEGMENT_ENTRY_OVERHEAD_BYTES > this.o.maxBatchBytes) return this.fail(`entry ${e.index} of ${e.data.length} bytes does not fit a segment`);
      this.lastEnqueued = e.index;
    }
    if (this.queue.length + entries.length > this.o.maxQueuedEntries) {
      return this.fail(`more than ${this.o.maxQueuedEntries} entries waiting for ZooKeeper`);
    }
    this.queue.push(...entries);
    this.pump();
  }

  /** Entries handed over and not yet known to be committed. */
  backlog(): number {
    return this.lastEnqueued - this.committed;
  }

  /** Stops for good: no more multis, no more callbacks. */
  close(): void {
    this.closed = true;
    this.queue = [];
  }

  /** The last index ZooKeeper is known to hold. */
  committedIndex(): number {
    return this.committed;
  }

  pendingCount(): number {
    return this.queue.length + this.inflight.reduce((n, b) => n + b.entries.length, 0);
  }

  private pump(): void {
    while (!this.closed && !this.resolving && this.queue.length > 0 && this.inflight.length < this.o.maxInflight) {
      const batch = this.takeBatch();
      this.inflight.push(batch);
      this.send(batch);
    }
  }

  private takeBatch(): Batch {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const size = this.queue[n]!.data.length + SEGMENT_ENTRY_OVERHEAD_BYTES;
      if (n > 0 && bytes + size > this.o.maxBatchBytes) break;
      bytes += size;
      n++;
    }
    const entries = this.queue.splice(0, n);
    const batch: Batch = {
      entries,
      firstIndex: entries[0]!.index,
      lastIndex: entries[entries.length - 1]!.index,
      prevFirstIndex: this.lastSegmentFirst,
      expectedTailVersion: this.nextTailVersion,
      afterSegment: this.inflight.length > 0 ? this.inflight[this.inflight.length - 1]!.firstIndex : null,
    };
    this.nextTailVersion++;
    this.lastSegmentFirst = batch.firstIndex;
    return batch;
  }

  private send(batch: Batch): void {
    const { paths, term, epochVersion } = this.o;
    const segment = encodeSegment(term, batch.entries, batch.prevFirstIndex);
    if (segment.length > MAX_SEGMENT_ZNODE_BYTES) {
      // Entries are bounded when they are proposed, so this is a bug; ZooKeeper would drop
      // the connection over it again and again.
      this.fail(`segment ${batch.firstIndex}..${batch.lastIndex} encodes to ${segment.length} bytes, over ${MAX_SEGMENT_ZNODE_BYTES}`);
      return;
    }
    const ops: ZkOp[] = [
      { type: 'check', path: paths.epoch, version: epochVersion },
      // Version -1: the segment of the batch before must merely exist (see the top).
      ...(batch.afterSegment !== null ? [{ type: 'check' as const, path: paths.segment(batch.afterSegment), version: -1 }] : []),
      { type: 'create', path: paths.segment(batch.firstIndex), data: segment, mode: 'persistent' },
      {
        type: 'setData',
        path: paths.tail,
        data: encodeTail({ term, lastIndex: batch.lastIndex, segmentFirstIndex: batch.firstIndex }),
        version: batch.expectedTailVersion,
      },
    ];
    const generation = this.generation;
    const sentAt = this.o.clock.now();
    const observe = (ok: boolean): void => this.o.observer?.mirrorMulti({ entries: batch.entries.length, bytes: segment.length, ms: this.o.clock.now() - sentAt, ok });
    this.o.zk.multi(ops).then(
      () => {
        observe(true);
        if (generation === this.generation) this.onSuccess(batch);
      },
      (err: unknown) => {
        observe(false);
        if (generation === this.generation) this.onFailure(batch, err);
      },
    );
  }

  private onSuccess(batch: Batch): void {
    if (this.closed) return;
    // Replies come in order, so this is the oldest batch in flight.
    if (this.inflight[0] !== batch) {
      this.o.logger.error({ batch: batch.firstIndex }, 'mirror: out-of-order multi reply; resolving from ZooKeeper');
      this.startResolving();
      return;
    }
    this.inflight.shift();
    this.committed = batch.lastIndex;
    this.committedVersion = batch.expectedTailVersion + 1;
    this.fruitlessResolutions = 0;
    this.o.onCommitted(batch.lastIndex);
    this.pump();
  }

  private onFailure(batch: Batch, err: unknown): void {
    if (this.closed) return;
    const code = err instanceof ZkError ? err.code : 'OTHER';
    if (code === 'BAD_VERSION' && err instanceof ZkError && err.failedOp === 0) {
      this.fenced(`epoch version moved past ${this.o.epochVersion}`);
      return;
    }
    if (!this.resolving) {
      this.o.logger.warn({ code, firstIndex: batch.firstIndex, lastIndex: batch.lastIndex }, 'mirror: multi failed; resolving from ZooKeeper');
    }
    this.startResolving();
  }

  private startResolving(): void {
    if (this.resolving) return;
    this.resolving = true;
    void this.resolve();
  }

  /** Finds out how far our batches got, then sends the rest again. */
  private async resolve(): Promise<void> {
    let backoff = RESOLVE_BACKOFF_MIN_MS;
    let errors = 0;
    while (!this.closed) {
      try {
        // ZooKeeper runs a session's requests in order, and sync makes the server we read
        // from catch up with the quorum, so these reads see every multi we sent before
        // them, provided they run in the session that synced: a new session may be on
        // another, lagging server. (A multi that still lands later, say from before a
        // reconnect, can only succeed if it carries exactly the entries and tail version
        // we expect next, and then the next resolve counts it.)
        const session = this.o.zk.sessionId;
        await this.o.zk.sync(this.o.paths.root);
        const tailRead = await this.o.zk.getData(this.o.paths.tail);
        const epochRead = await this.o.zk.getData(this.o.paths.epoch);
        if (this.closed) return;
        if (this.o.zk.sessionId !== session && !this.o.unsafeAcceptAnyTail) throw new ZkError('SESSION_EXPIRED', this.o.paths.tail, 'the session changed while resolving; reading again');
        if (epochRead.stat.version !== this.o.epochVersion) {
          const epoch = decodeEpoch(this.o.paths.epoch, epochRead.data);
          this.fenced(`epoch is now term ${epoch.term} of ${epoch.leaderId}`);
          return;
        }
        const tail = decodeTail(this.o.paths.tail, tailRead.data);
        const version = tailRead.stat.version;
        if (!this.o.unsafeAcceptAnyTail && !this.isOurTail(tail.term, tail.lastIndex, version)) {
          this.fail(`the tail (term ${tail.term}, last index ${tail.lastIndex}, version ${version}) is not one our chain from version ${this.committedVersion} can have left`);
          return;
        }
        if (tail.lastIndex > this.lastEnqueued || tail.lastIndex < this.committed) {
          const why = `tail at ${tail.lastIndex} outside our range ${this.committed}..${this.lastEnqueued}`;
          // TEST-ONLY FAULT unsafeAcceptAnyTail: the old code read again until it fit.
          if (this.o.unsafeAcceptAnyTail) throw new Error(why);
          this.fail(why);
          return;
        }
        if (!this.o.unsafeAcceptAnyTail && tail.lastIndex === this.committed && this.inflight.length > 0 && ++this.fruitlessResolutions >= MAX_FRUITLESS_RESOLUTIONS) {
          this.fail(`ZooKeeper refused the batch from index ${this.committed + 1} ${this.fruitlessResolutions} times in a row`);
          return;
        }
        this.rebuildAfter(tail.lastIndex, version, tail.segmentFirstIndex);
        this.resolving = false;
        this.pump();
        return;
      } catch (err) {
        if (this.closed) return;
        if (!this.o.unsafeAcceptAnyTail && !(err instanceof ZkError) && ++errors >= MAX_RESOLVE_ERRORS) {
          this.fail(`cannot resolve the outcome of our appends: ${(err as Error).message}`);
          return;
        }
        this.o.logger.warn({ err: (err as Error).message }, 'mirror: cannot read the tail yet; retrying');
        await sleep(this.o.clock, backoff);
        backoff = Math.min(RESOLVE_BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  /**
   * Whether (term, lastIndex, version) is a tail our chain can have left: the one we
   * committed last, or the one a batch in flight leaves when it lands.
   */
  private isOurTail(term: number, lastIndex: number, version: number): boolean {
    if (version === this.committedVersion) return lastIndex === this.committed;
    if (term !== this.o.term) return false;
    return this.inflight.some((b) => b.expectedTailVersion + 1 === version && b.lastIndex === lastIndex);
  }

  /** Everything up to zkLastIndex (in the segment from tailSegmentFirst) is committed; what follows goes back to the queue. */
  private rebuildAfter(zkLastIndex: number, tailVersion: number, tailSegmentFirst: number): void {
    const retry = this.inflight.flatMap((b) => b.entries).filter((e) => e.index > zkLastIndex);
    this.inflight = [];
    // Replies to multis of the old generation (a reply that came after its timeout) are ignored.
    this.generation++;
    this.queue = [...retry, ...this.queue.filter((e) => e.index > zkLastIndex)];
    this.nextTailVersion = tailVersion;
    this.committedVersion = tailVersion;
    this.lastSegmentFirst = tailSegmentFirst;
    if (zkLastIndex > this.committed) {
      this.committed = zkLastIndex;
      this.fruitlessResolutions = 0;
      this.o.onCommitted(zkLastIndex);
    }
  }

  private fenced(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.inflight = [];
    this.o.onFenced(reason);
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.inflight = [];
    this.o.logger.error({ term: this.o.term, reason }, 'mirror: this term cannot go on; stepping down');
    this.o.onFailed(reason);
  }
}
