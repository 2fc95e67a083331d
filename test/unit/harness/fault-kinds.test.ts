// Which fault kinds a chaos run accepts with each network, and the schedule's parameters
// for the packet-level kinds.
import { describe, expect, it } from 'vitest';
import { defaultKinds, NETNS_FAULT_KINDS, parseFaultKinds } from '../../../src/harness/chaos/fault-kinds.js';
import { LATENCY_MS, LOSS_PERCENT, planFaults } from '../../../src/harness/chaos/schedule.js';

describe('fault kinds and networks', () => {
  it('refuses packet-level kinds on loopback and proxy cuts in namespaces, saying what to use', () => {
    expect(() => parseFaultKinds('kill-leader,loss', 'loopback')).toThrow(/--net netns/);
    expect(() => parseFaultKinds('cut-link', 'netns')).toThrow(/partition-voters/);
    expect(parseFaultKinds('partition-leader, latency', 'netns')).toEqual(['partition-leader', 'latency']);
    expect(() => parseFaultKinds('partition-everything', 'netns')).toThrow(/unknown fault kind/);
  });

  it('defaults to the process kinds plus the five network kinds in namespaces, and to the nine loopback kinds otherwise', () => {
    expect(defaultKinds('netns')).toEqual(['kill-leader', 'kill-follower', 'pause-leader', 'wipe-restart', ...NETNS_FAULT_KINDS, 'restart-both', 'wipe-both']);
    expect(defaultKinds('loopback')).toEqual([
      'kill-leader',
      'kill-follower',
      'pause-leader',
      'cut-link',
      'cut-zk',
      'wipe-restart',
      'kill-follower-after-failover',
      'restart-both',
      'wipe-both',
    ]);
  });

  it('plans latency and loss within their ranges, the same for the same seed', () => {
    const plans = planFaults(5, 50, NETNS_FAULT_KINDS, [100, 200]);
    expect(planFaults(5, 50, NETNS_FAULT_KINDS, [100, 200])).toEqual(plans);
    for (const p of plans) {
      if (p.kind === 'latency') {
        expect(p.latencyMs).toBeGreaterThanOrEqual(LATENCY_MS[0]);
        expect(p.latencyMs).toBeLessThanOrEqual(LATENCY_MS[1]);
        expect(p.jitterMs).toBeLessThanOrEqual(p.latencyMs);
      }
      if (p.kind === 'loss') {
        expect(p.percent).toBeGreaterThanOrEqual(LOSS_PERCENT[0]);
        expect(p.percent).toBeLessThanOrEqual(LOSS_PERCENT[1]);
      }
    }
    expect(new Set(plans.map((p) => p.kind))).toEqual(new Set(NETNS_FAULT_KINDS));
  });
});
