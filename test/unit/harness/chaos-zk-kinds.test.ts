// The ZooKeeper and take-over fault kinds in the schedule and the options: who they aim
// at, in what turn, and which runs may use them.
import { describe, expect, it } from 'vitest';
import { ALL_FAULT_KINDS, defaultKinds, FAULT_KINDS, parseFaultKinds, ZK_FAULT_KINDS } from '../../../src/harness/chaos/fault-kinds.js';
import { CHAOS_DEFAULTS, type ChaosOptions, validateChaosOptions } from '../../../src/harness/chaos/options.js';
import { planDetail, planFaults } from '../../../src/harness/chaos/schedule.js';

const options = (over: Partial<ChaosOptions>): ChaosOptions => ({ ...CHAOS_DEFAULTS, env: {}, print: () => undefined, ...over });

describe('ZooKeeper fault kinds in the schedule', () => {
  it('alternates kill-zk and pause-zk between the ensemble leader and a follower', () => {
    const plans = planFaults(5, 8, ['kill-zk', 'pause-zk'], [0, 0]);
    for (const kind of ['kill-zk', 'pause-zk'] as const) {
      expect(plans.filter((p) => p.kind === kind).map((p) => p.target)).toEqual(['zk-leader', 'zk-follower', 'zk-leader', 'zk-follower']);
    }
  });

  it('aims expiries at each stage of a take-over in turn, at the follower that takes over', () => {
    const plans = planFaults(9, 6, ['expire-session'], [0, 0]);
    expect(plans.map((p) => (p.kind === 'expire-session' ? p.stage : null))).toEqual(['fencing', 'fenced', 'leading', 'fencing', 'fenced', 'leading']);
    expect(plans.every((p) => p.target === 'follower')).toBe(true);
  });

  it('deposes the old leader by a pause and by a ZooKeeper cut in turn, and kills it within the new leader\'s first appends', () => {
    const plans = planFaults(11, 4, ['kill-follower-after-failover'], [0, 0]);
    expect(plans.map((p) => (p.kind === 'kill-follower-after-failover' ? p.depose : null))).toEqual(['pause', 'cut-zk', 'pause', 'cut-zk']);
    for (const p of plans) {
      expect(p.target).toBe('leader');
      const d = planDetail(p);
      expect(d['killDelayMs']).toBeGreaterThanOrEqual(0);
      expect(d['killDelayMs']).toBeLessThanOrEqual(20);
    }
  });

  it('gives the same schedule for the same seed', () => {
    expect(planFaults(3, 12, ALL_FAULT_KINDS, [10, 20])).toEqual(planFaults(3, 12, ALL_FAULT_KINDS, [10, 20]));
  });
});

describe('which runs may use them', () => {
  it('parses the new kinds and names all kinds when one is unknown', () => {
    expect(parseFaultKinds('kill-zk,expire-session,kill-follower-after-failover')).toEqual(['kill-zk', 'expire-session', 'kill-follower-after-failover']);
    expect(() => parseFaultKinds('kill-zookeeper')).toThrow(/pause-zk/);
  });

  it('adds the ZooKeeper kinds to the default only with an ensemble', () => {
    expect(defaultKinds('loopback', 1)).toEqual(FAULT_KINDS);
    for (const k of ZK_FAULT_KINDS) expect(defaultKinds('loopback', 3)).toContain(k);
  });

  it('refuses kill-zk and pause-zk without an ensemble, and an even ensemble', () => {
    expect(() => validateChaosOptions(options({ kinds: ['kill-zk', 'pause-zk'] }))).toThrow(/kill-zk and pause-zk .*--zk-ensemble 3/);
    expect(() => validateChaosOptions(options({ kinds: ['kill-zk'], zkServers: 2 }))).toThrow(/--zk-ensemble must be one of/);
    expect(() => validateChaosOptions(options({ kinds: ['kill-zk'], zkServers: 3 }))).not.toThrow();
    // An expiry needs no ensemble.
    expect(() => validateChaosOptions(options({ kinds: ['expire-session'] }))).not.toThrow();
  });

  it('keeps ensembles and the server kinds out of --net netns, and lets the take-over kinds in', () => {
    expect(() => parseFaultKinds('kill-zk', 'netns')).toThrow(/loopback with --zk-ensemble 3/);
    expect(() => validateChaosOptions(options({ net: 'netns', kinds: ['pause-zk'], zkServers: 3 }))).toThrow(/relays one ZooKeeper server/);
    expect(() => validateChaosOptions(options({ net: 'netns', kinds: ['kill-leader'], zkServers: 3 }))).toThrow(/--zk-ensemble runs on loopback only/);
    expect(parseFaultKinds('expire-session,kill-follower-after-failover', 'netns')).toEqual(['expire-session', 'kill-follower-after-failover']);
    expect(() => validateChaosOptions(options({ net: 'netns', kinds: ['expire-session', 'kill-follower-after-failover'] }))).not.toThrow();
  });
});
