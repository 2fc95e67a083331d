// Peer-message admission (peer-admission.ts): a message whose `from` is not the voter its
// certificate names never reaches the core; what the core refuses is counted and logged,
// throttled per kind; nothing is admitted once the node stopped; the owed ticks run before
// the core steps the message.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/core/messages.js';
import { PeerAdmission } from '../../../src/server/peer-admission.js';
import type { PeerRefusal } from '../../../src/server/telemetry.js';
import type { MessageSender } from '../../../src/transport/transport.js';
import { ManualClock } from './manual-clock.js';

const heartbeat: Message = { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 0, commitTerm: 0 };

function rig(answer: string | null = null) {
  const lines: Array<{ level: number; msg: string; reason?: string; suppressedSinceLast?: number }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const clock = new ManualClock();
  const events: string[] = [];
  const refusals: Array<[string, PeerRefusal]> = [];
  let stopped = false;
  const admission = new PeerAdmission({
    logger,
    clock,
    observer: { peerRefused: (type, why) => void refusals.push([type, why]) },
    stopped: () => stopped,
    catchUpTicks: () => void events.push('ticks'),
    step: (m, authenticated) => {
      events.push(`step ${m.type} ${authenticated ? 'verified' : 'claimed'}`);
      return answer;
    },
    schedule: () => void events.push('schedule'),
  });
  return { admission, clock, lines, events, refusals, stop: () => void (stopped = true) };
}

const verified = (id: string): MessageSender => ({ kind: 'verified', id });
const unverified: MessageSender = { kind: 'unverified' };

describe('PeerAdmission', () => {
  it('runs the owed ticks, steps the message (authenticated only when the transport proved its sender), then schedules', () => {
    const { admission, events, lines, refusals } = rig();
    admission.admit(heartbeat, verified('a'));
    admission.admit(heartbeat, unverified);
    expect(events).toEqual(['ticks', 'step heartbeat verified', 'schedule', 'ticks', 'step heartbeat claimed', 'schedule']);
    expect(lines).toEqual([]);
    expect(refusals).toEqual([]);
  });

  it('refuses a message whose from is not the voter its certificate names, before the core sees it', () => {
    const { admission, events, lines, refusals } = rig();
    admission.admit(heartbeat, verified('c'));
    expect(events).toEqual([]);
    expect(refusals).toEqual([['heartbeat', 'sender']]);
    expect(lines).toMatchObject([{ level: 40, msg: 'peer message refused: its from is not the voter its certificate names' }]);
  });

  it("counts every refusal of the core, logs one per kind per 10 s with the number suppressed, and says nothing of 'ignore'", () => {
    const { admission, clock, lines, refusals } = rig('term above the trusted term');
    for (let i = 0; i < 5; i++) admission.admit(heartbeat, unverified);
    expect(refusals).toHaveLength(5);
    expect(refusals[0]).toEqual(['heartbeat', 'invalid']);
    expect(lines).toMatchObject([{ level: 40, msg: 'peer message refused', reason: 'term above the trusted term' }]);
    clock.jump(10_000);
    admission.admit(heartbeat, unverified);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ suppressedSinceLast: 4 });

    const quiet = rig('ignore');
    quiet.admission.admit(heartbeat, unverified);
    expect(quiet.refusals).toEqual([]);
    expect(quiet.lines).toEqual([]);
    expect(quiet.events).toEqual(['ticks', 'step heartbeat claimed', 'schedule']);
  });

  it('admits nothing once the node stopped', () => {
    const { admission, events, stop } = rig();
    stop();
    admission.admit(heartbeat, verified('c'));
    admission.admit(heartbeat, unverified);
    expect(events).toEqual([]);
  });
});
