// What the voters' logs say about a steady run (the bench part `steady`, issue 12 part 2):
// event-loop stalls the pause monitor reported, lease lapses, and suspicions of the leader.
// Nothing is injected in that part, so each of these is the machine or the node itself
// getting in the way; counted per node from the pino JSON lines ProcessCluster hands over.
import { percentile } from './failover.js';

/** The messages counted (src/server/node-driver.ts and src/coordination/lease.ts write them). */
export const STEADY_MESSAGES = {
  stalled: 'event loop stalled',
  leaseLapsed: 'lease lapsed: no lease write succeeded in time',
  connectionBroke: 'connection to the leader broke: suspecting it',
  leaderZnodeVanished: 'leader znode vanished: suspecting the leader',
  roleChanged: 'role changed',
} as const;

/** Stall lengths kept per node for the percentiles; beyond this, stalls are still counted and the max kept. */
const MAX_KEPT_STALLS = 100_000;

export interface StallFigures {
  readonly count: number;
  /** Of those, while the node led. */
  readonly whileLeading: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /**
   * Of those, the process used at least half the wait on CPU: a long turn of its own or
   * garbage collection. The rest it spent kept off the cores (other work had them). Stalls
   * reported without CPU figures (an older build) are in neither.
   */
  readonly busy: number;
  readonly starved: number;
}

export interface NodeSteadyFigures {
  readonly stalls: StallFigures;
  readonly leaseLapses: number;
  /**
   * A follower suspected its leader: its connection to the leader broke, the `leader` znode
   * vanished, or it became a pre-candidate (its election timer ran out).
   */
  readonly suspicions: number;
}

interface NodeCounts {
  stalls: number[];
  stallCount: number;
  stallsWhileLeading: number;
  busy: number;
  starved: number;
  maxStall: number;
  leaseLapses: number;
  suspicions: number;
}

export class SteadyLogStats {
  private readonly nodes = new Map<string, NodeCounts>();
  private counting = false;
  private unreadable = 0;

  /** Lines before this call (start-up, warm-up) are not counted. */
  startCounting(): void {
    this.counting = true;
  }

  /** ProcessCluster's onLine. */
  onLine(node: string, line: string): void {
    if (!this.counting || !line.startsWith('{')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.unreadable++;
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const f = parsed as Record<string, unknown>;
    const c = this.countsOf(node);
    switch (f['msg']) {
      case STEADY_MESSAGES.stalled: {
        const ms = typeof f['stalledMs'] === 'number' && Number.isFinite(f['stalledMs']) ? f['stalledMs'] : Number.NaN;
        c.stallCount++;
        if (f['leading'] === true) c.stallsWhileLeading++;
        const waited = f['waitedMs'];
        const cpu = f['cpuMs'];
        if (typeof waited === 'number' && typeof cpu === 'number' && waited > 0) {
          if (cpu >= waited / 2) c.busy++;
          else c.starved++;
        }
        if (!Number.isNaN(ms)) {
          if (c.stalls.length < MAX_KEPT_STALLS) c.stalls.push(ms);
          c.maxStall = Math.max(c.maxStall, ms);
        }
        return;
      }
      case STEADY_MESSAGES.leaseLapsed:
        c.leaseLapses++;
        return;
      case STEADY_MESSAGES.connectionBroke:
      case STEADY_MESSAGES.leaderZnodeVanished:
        c.suspicions++;
        return;
      case STEADY_MESSAGES.roleChanged:
        if (f['to'] === 'precandidate') c.suspicions++;
        return;
      default:
        return;
    }
  }

  /** Lines that began like JSON and did not parse (a node's line cut in two, say). */
  unreadableLines(): number {
    return this.unreadable;
  }

  figures(node: string): NodeSteadyFigures {
    const c = this.countsOf(node);
    return {
      stalls: {
        count: c.stallCount,
        whileLeading: c.stallsWhileLeading,
        p99Ms: c.stalls.length === 0 ? 0 : percentile(c.stalls, 99),
        maxMs: c.maxStall,
        busy: c.busy,
        starved: c.starved,
      },
      leaseLapses: c.leaseLapses,
      suspicions: c.suspicions,
    };
  }

  /** Every node's figures, by id. */
  all(ids: readonly string[]): Record<string, NodeSteadyFigures> {
    return Object.fromEntries(ids.map((id) => [id, this.figures(id)]));
  }

  private countsOf(node: string): NodeCounts {
    let c = this.nodes.get(node);
    if (!c) {
      c = { stalls: [], stallCount: 0, stallsWhileLeading: 0, busy: 0, starved: 0, maxStall: 0, leaseLapses: 0, suspicions: 0 };
      this.nodes.set(node, c);
    }
    return c;
  }
}
