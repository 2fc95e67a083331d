// Whether a node holds state to lead with (lead-permit.ts): withheld at start, lifted for
// good once a snapshot is installed; each refusal reports the reason, logged once.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LeadPermit } from '../../../src/server/lead-permit.js';

function rig() {
  const lines: Array<{ level: number; msg: string; reason?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  let snapshot = false;
  const permit = new LeadPermit(logger, () => snapshot);
  return { permit, lines, install: () => void (snapshot = true), remove: () => void (snapshot = false) };
}

describe('LeadPermit', () => {
  it('a node with state may lead', () => {
    const { permit, lines } = rig();
    expect(permit.mayLead()).toBe(true);
    expect(lines).toEqual([]);
  });

  it('withheld: refuses, with the reason, logged the first time only', () => {
    const { permit, lines } = rig();
    permit.withhold('ZooKeeper holds no usable snapshot');
    expect(permit.mayLead()).toBe(false);
    expect(permit.refusal()).toBe('ZooKeeper holds no usable snapshot');
    expect(permit.refusal()).toBe('ZooKeeper holds no usable snapshot');
    expect(lines).toMatchObject([{ level: 50, reason: 'ZooKeeper holds no usable snapshot', msg: expect.stringMatching(/^this node does not take over/) }]);
  });

  it('a snapshot that arrives lifts it for good', () => {
    const { permit, install, remove } = rig();
    permit.withhold('nothing to lead with');
    install();
    expect(permit.mayLead()).toBe(true);
    remove();
    expect(permit.mayLead()).toBe(true);
  });
});
