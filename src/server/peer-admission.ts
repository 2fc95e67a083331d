// Peer-message admission: what the driver does with each message the transport hands it.
// The sender check comes first: with mutual TLS the transport proves which voter called,
// and a message whose `from` names another is refused whole, before the core sees it (the
// core's own checks, message-checks.ts, can only judge what a message claims). Then the
// ticks owed up to now run, so the core stamps the message no earlier than it arrived, and
// the core steps it; what the core refuses is counted and logged, throttled (one warning per
// kind per 10 s with a count of the rest): a flood of forged or stale messages must not
// flood the log.
import type { Clock } from '../common/clock.js';
import { WarningThrottle } from '../common/warning-throttle.js';
import type { Logger } from '../common/logger.js';
import type { Message } from '../core/messages.js';
import type { MessageSender } from '../transport/transport.js';
import type { DriverObserver } from './telemetry.js';

export interface PeerAdmissionDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly observer: Pick<DriverObserver, 'peerRefused'>;
  /** Whether the node stopped: then nothing is admitted. */
  readonly stopped: () => boolean;
  /** Runs every tick owed up to now (core-ticker.ts), before the core is told anything. */
  readonly catchUpTicks: () => void;
  /** RaftCore.step: null when taken, 'ignore' when not worth a word, else why it was refused. */
  readonly step: (m: Message, authenticated: boolean) => string | null;
  /** The core was told something: carry out what it asks (on the next turn of the loop). */
  readonly schedule: () => void;
}

export class PeerAdmission {
  /** Refused peer messages: one warning per kind per 10 s, with a count of the rest. */
  private readonly refused: WarningThrottle;

  constructor(private readonly deps: PeerAdmissionDeps) {
    this.refused = new WarningThrottle(deps.logger, deps.clock);
  }

  /** One message from the transport, with what the transport proved of its sender. */
  admit(m: Message, sender: MessageSender): void {
    const d = this.deps;
    if (d.stopped()) return;
    if (sender.kind === 'verified' && sender.id !== m.from) {
      this.refused.warn('sender', { claimed: m.from, proven: sender.id, type: m.type }, 'peer message refused: its from is not the voter its certificate names');
      d.observer.peerRefused(m.type, 'sender');
      return;
    }
    d.catchUpTicks();
    const problem = d.step(m, sender.kind === 'verified');
    if (problem !== null && problem !== 'ignore') {
      this.refused.warn(`peer:${m.type}`, { from: m.from, type: m.type, term: m.term, reason: problem }, 'peer message refused');
      d.observer.peerRefused(m.type, 'invalid');
    }
    d.schedule();
  }
}
