// The log lines of a held commit index (the commit gate): nothing for a failover's normal
// race with the epoch watch, a warning once a hold lasts, at most one per interval while it
// does, and a line when it ends.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommitHoldReport, type CommitHoldSample } from '../../../src/server/commit-hold-report.js';
import { ManualClock } from './manual-clock.js';

function rig() {
  const lines: Array<{ level: number; msg: string; heldMs?: number; heldEntries?: number }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const clock = new ManualClock();
  const report = new CommitHoldReport(logger, clock, 1000, 10_000);
  const sample = (): CommitHoldSample => ({ term: 4, trustedTerm: 3, leaderId: 'a', commit: 10, lastIndex: 60 });
  /** Notes the state every 10 ms (a tick) for `ms`. */
  const run = (held: boolean, ms: number): void => {
    const until = clock.now() + ms;
    while (clock.now() < until) {
      report.note(held, sample);
      clock.jump(clock.now() + 10);
    }
  };
  return { lines, report, run };
}

describe('CommitHoldReport', () => {
  it('says nothing about a hold shorter than a second (a failover racing the epoch watch)', () => {
    const { lines, report, run } = rig();
    run(true, 900);
    expect(report.holding).toBe(true);
    run(false, 100);
    expect(report.holding).toBe(false);
    expect(lines).toEqual([]);
  });

  it('warns once a hold lasts a second, then every 10 s, and says when it ends', () => {
    const { lines, run } = rig();
    run(true, 25_000);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.heldMs)).toEqual([1000, 11_000, 21_000]);
    expect(warnings[0]).toMatchObject({ heldEntries: 50, msg: expect.stringMatching(/^commit index held/) });
    run(false, 10);
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: expect.stringMatching(/^commit index released/) });
    expect(lines).toHaveLength(4);
  });
});
