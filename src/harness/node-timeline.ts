// When each node said what, as the harness received it: the benchmarks of restarts and
// rebuilds use it to say where the time went (process start, ZooKeeper session, WAL
// recovered, snapshot received and loaded, node started, take-over phases, leading or
// following) on the same clock as their own measurements (performance.now()).
import { performance } from 'node:perf_hooks';

/** The messages worth a mark (src/server, src/storage, src/coordination write them). */
export const TIMELINE_MESSAGES: ReadonlySet<string> = new Set([
  'ZooKeeper session connected',
  'local WAL recovered',
  'snapshot received',
  'snapshot loaded',
  'empty data folder: rebuilt from the newest snapshot in ZooKeeper',
  'node started',
  'serving',
  'taking over: fencing ZooKeeper',
  'fenced ZooKeeper: epoch is ours',
  'take-over done',
  'take-over failed',
  'leading',
  'role changed',
  'snapshot taken',
  'snapshot installed',
  'zk snapshot: uploaded',
  'snapshot published to ZooKeeper',
  'the follower needs entries compacted here: it loads a snapshot',
  'commit index stalled behind ZooKeeper: catching up from ZooKeeper',
  'event loop stalled',
]);

export interface TimelineMark {
  readonly node: string;
  /** performance.now() at arrival. */
  readonly at: number;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Marks kept at most (the oldest go first). */
const MAX_MARKS = 20_000;

export class NodeTimeline {
  private marks: TimelineMark[] = [];

  /** ProcessCluster's onLine. */
  onLine(node: string, line: string): void {
    if (!line.startsWith('{')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const fields = parsed as Record<string, unknown>;
    const msg = typeof fields['msg'] === 'string' ? fields['msg'] : '';
    if (!TIMELINE_MESSAGES.has(msg)) return;
    this.marks.push({ node, at: performance.now(), msg, fields });
    if (this.marks.length > MAX_MARKS) this.marks = this.marks.slice(-MAX_MARKS / 2);
  }

  /** Marks of `node` (every node when omitted) that arrived at or after `from`. */
  since(from: number, node?: string): TimelineMark[] {
    return this.marks.filter((m) => m.at >= from && (node === undefined || m.node === node));
  }

  /**
   * A compact account of one node since `from`: each mark's message (its first words) and
   * ms since `from`, the first of each message only (role changes each time, with their
   * target role). For the benchmark's output.
   */
  phases(from: number, node: string, until = Number.POSITIVE_INFINITY): Array<{ readonly ms: number; readonly what: string }> {
    const seen = new Set<string>();
    const out: Array<{ ms: number; what: string }> = [];
    for (const m of this.since(from, node)) {
      if (m.at > until) break;
      const what = m.msg === 'role changed' ? `role -> ${String(m.fields['to'])}` : m.msg;
      if (m.msg !== 'role changed' && seen.has(what)) continue;
      seen.add(what);
      const extra = typeof m.fields['ms'] === 'number' ? ` (${m.fields['ms']} ms)` : '';
      out.push({ ms: Math.round(m.at - from), what: `${what}${extra}` });
    }
    return out;
  }
}
