// duoraft watch, the compose deployment's load client, against real processes: it prints
// a write-gap line for the failover that a SIGKILL of the leader causes (the gap that the
// docker/chaos scripts report as the fault's downtime), and at SIGTERM (what `docker
// compose stop load` sends) reads every checked key back and finds nothing lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childProcesses } from '../../src/harness/child-processes.js';
import { duoraftBin, ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { sleep, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

interface WatchEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

describe('duoraft watch', () => {
  it('reports the write gap of a leader SIGKILL and, at SIGTERM, that nothing acknowledged was lost', async () => {
    const name = uniqueCluster('watch');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
    let out = '';
    // Gaps from 30 ms: a failover now often takes less than the default 100 ms (issue 12's
    // timing), and a SIGKILLed leader costs at least most of the lease window W (60 ms).
    const watch = childProcesses.spawn(process.execPath, [duoraftBin, 'watch', '--zk', zk.connectString, '--cluster', name, '--json', '--progress-ms', '0', '--gap-ms', '30'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    watch.child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    let err = '';
    watch.child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const events = (): WatchEvent[] =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as WatchEvent);
    try {
      const leader = await cluster.waitForLeader(10_000);
      const deadline = Date.now() + 30_000;
      while (!events().some((e) => e.event === 'running') && Date.now() < deadline) await sleep(50);
      expect(events().map((e) => e.event)).toContain('running');
      await sleep(1000);
      const killedAt = Date.now();
      await cluster.kill(leader);
      await cluster.waitForLeader(10_000, { not: leader });
      await sleep(1000);
      cluster.startNode(leader);
      await sleep(1000);

      childProcesses.kill(watch.pid, 'SIGTERM');
      const exit = await watch.exited;
      expect(err).toBe('');
      expect(exit.code).toBe(0);

      const gaps = events().filter((e) => e.event === 'write-gap') as unknown as Array<{ ms: number; fromMs: number; toMs: number }>;
      // The failover's gap: it began before the kill took effect and ended after it.
      const failover = gaps.find((g) => g.toMs > killedAt);
      expect(failover, JSON.stringify(gaps)).toBeDefined();
      expect(failover!.fromMs).toBeLessThanOrEqual(failover!.toMs);
      expect(failover!.toMs - failover!.fromMs).toBeCloseTo(failover!.ms, -1);
      expect(failover!.ms).toBeGreaterThanOrEqual(30);

      const summary = events().find((e) => e.event === 'summary') as { passed: boolean; lost: number; duplicated: number; gaps: number; ops: { acknowledged: number } } | undefined;
      expect(summary).toBeDefined();
      expect(summary!.lost).toBe(0);
      expect(summary!.duplicated).toBe(0);
      expect(summary!.passed).toBe(true);
      expect(summary!.gaps).toBe(gaps.length);
      expect(summary!.ops.acknowledged).toBeGreaterThan(0);
    } finally {
      if (watch.running()) childProcesses.kill(watch.pid, 'SIGKILL');
      await watch.exited;
      await cluster.stop();
    }
  });

  it('gives up with a clear error when no cluster acknowledges a write within --start-timeout', async () => {
    const watch = childProcesses.spawn(process.execPath, [duoraftBin, 'watch', '--zk', zk.connectString, '--cluster', uniqueCluster('absent'), '--start-timeout', '2000', '--timeout', '1000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    watch.child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const exit = await watch.exited;
    expect(exit.code).toBe(1);
    expect(err).toMatch(/^duoraft: TIMEOUT: no write was acknowledged within 2000 ms of starting/);
  });
});
