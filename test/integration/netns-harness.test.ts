// The network-namespace harness itself: each voter in its own namespace with no way out,
// the pid the harness tracks is the node's own (so SIGKILL reaches it, not just the
// `ip netns exec` wrapper), and stop() leaves none of the run's names behind.
import { readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsCluster } from '../../src/harness/netns/index.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { uniqueCluster } from './helpers.js';
import { netnsSkipReason, netnsTitle } from './netns-helpers.js';

let zk: LocalZooKeeper | undefined;

beforeAll(async () => {
  if (netnsSkipReason === null) zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

/** Whether a process of ours may run at SCHED_FIFO priority here (what the relay host asks `chrt` for). */
function mayUseRealtimePriority(): boolean {
  try {
    execFileSync('chrt', ['-f', '10', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(netnsSkipReason !== null)(netnsTitle('network-namespace harness'), () => {
  it('runs each voter in its own namespace with no route out, SIGKILLs the node itself, and removes every name it made', async () => {
    const nc = await NetnsCluster.start({ zk: zk!.connectString, cluster: uniqueCluster('nsh') });
    const names = nc.network.names;
    try {
      const leader = await nc.cluster.waitForLeader(20_000);
      for (const id of nc.cluster.ids()) {
        const pid = nc.cluster.pid(id)!;
        // The tracked pid is node itself, running in another network namespace than ours.
        expect(readlinkSync(`/proc/${pid}/exe`)).toBe(readlinkSync('/proc/self/exe'));
        expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
        const ns = nc.network.voter(id).ns;
        const routes = ip('-n', ns, 'route', 'show');
        expect(routes).not.toMatch(/^default/m);
        // Asking the kernel for a route out (no packet is sent) fails.
        expect(() => ip('-n', ns, 'route', 'get', '192.0.2.1')).toThrow();
      }
      // The relays run ahead of every normal process (relay-host.ts) wherever this machine
      // lets root use SCHED_FIFO, and report what they carried. Where it does not (a cgroup
      // without a real-time budget), the harness goes on at normal priority and says so.
      const relays = await nc.relayLateness();
      expect(relays.realtime).toBe(mayUseRealtimePriority());
      expect(relays.chunks).toBeGreaterThan(0);
      const pid = nc.cluster.pid(leader)!;
      await nc.cluster.kill(leader);
      // The signalled process is gone, not merely a wrapper around it.
      expect(() => process.kill(pid, 0)).toThrow();
      expect(nc.cluster.running(leader)).toBe(false);
      const next = await nc.cluster.waitForLeader(20_000, { not: leader });
      expect(next).not.toBe(leader);
    } finally {
      await nc.stop();
    }
    const netns = ip('netns', 'list');
    for (const ns of names.namespaces) expect(netns).not.toContain(ns);
    const links = ip('-o', 'link', 'show');
    for (const l of [names.bridge, ...names.hostVeths]) expect(links).not.toContain(l);
  });
});
