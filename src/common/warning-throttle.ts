// At most one warning per kind per interval: a flood of refused connections (a scanner, a
// misconfigured client retrying in a loop) must not flood the log or cost the node more
// than counting. The next warning of a kind reports how many were suppressed since.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';

/** Bound on distinct kinds remembered; beyond it the oldest is forgotten. */
const MAX_KINDS = 256;

export class WarningThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
  ) {}

  /** Logs `message` with `fields` unless a warning of this kind was logged within the interval. */
  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    const now = this.clock.now();
    const seen = this.last.get(kind);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.last.delete(kind);
    this.last.set(kind, { at: now, suppressed: 0 });
    if (this.last.size > MAX_KINDS) {
      const oldest = this.last.keys().next().value;
      if (oldest !== undefined) this.last.delete(oldest);
    }
    this.logger.warn({ ...fields, ...(suppressed > 0 ? { suppressedSinceLast: suppressed } : {}) }, message);
  }
}
