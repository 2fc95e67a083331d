// Whether this node holds state to lead with. A node that started empty while ZooKeeper holds
// no snapshot it can use (rebuild-from-zk.ts, 'unusable') must not fence until a snapshot
// arrives from its peer: each fence would rewrite the lease and delay the take-over of a
// healthy peer that comes back, and its replay could only fail. The driver refuses the core's
// take-over requests meanwhile, and says why once.
import type { Logger } from '../common/logger.js';

export class LeadPermit {
  /** Why this node may not lead (null: it may). */
  private reason: string | null = null;
  private logged = false;

  constructor(
    private readonly logger: Logger,
    /** Whether a snapshot is installed locally (one arriving lifts the refusal for good). */
    private readonly hasSnapshot: () => boolean,
  ) {}

  /** At start: this node holds nothing to lead with, for `reason`. */
  withhold(reason: string): void {
    this.reason = reason;
  }

  /** False while this node holds nothing to lead with and no snapshot has arrived since. */
  mayLead(): boolean {
    if (this.reason !== null && this.hasSnapshot()) this.reason = null;
    return this.reason === null;
  }

  /** A take-over refused: the reason to report to the core (logged the first time only). */
  refusal(): string {
    if (!this.logged) {
      this.logged = true;
      this.logger.error({ reason: this.reason }, 'this node does not take over: it has no state to lead with (it waits for its peer to send a snapshot)');
    }
    return this.reason ?? 'no state';
  }
}
