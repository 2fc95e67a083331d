// Issue 13: a voter follows the config znode live (src/server/voter-config.ts). After a
// demotion the remaining voter forgets its peer at once (before, it kept sending appends,
// heartbeats and votes to the demoted member until it was restarted); after a promotion it
// learns the new peer, replicates to it and can lose itself to it, all in the same process.
// Real ZooKeeper, real processes; bounded by its waits (about 20 to 30 s on this machine).
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duoraftBin, ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { client, missingKeys, sleep, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [duoraftBin, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** The structured log lines of a member with message `msg`. */
async function logLines(file: string, msg: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function writeKeys(c: Awaited<ReturnType<typeof client>>, prefix: string, n: number): Promise<{ keys: string[]; last: number }> {
  const keys: string[] = [];
  let last = 0;
  for (let i = 0; i < n; i++) {
    const key = `${prefix}-${i}`;
    last = (await c.put(key, `value-${i}`)).index;
    keys.push(key);
  }
  return { keys, last };
}

describe('voters follow the config live (issue 13)', () => {
  it('after a demotion the remaining voter has no peer; after a promotion it pairs with the promoted listener, which can then take over; no restart', async () => {
    const name = uniqueCluster('cfglive');
    const cluster = await ProcessCluster.start({
      zk: zk.connectString,
      cluster: name,
      ids: ['a', 'b', 'l1'],
      deferred: ['l1'],
      nodeArgsFor: (id) => (id === 'l1' ? ['--role', 'listener'] : []),
    });
    const c = await client(zk.connectString, name);
    try {
      const leader = await cluster.waitForLeader(20_000);
      const other = leader === 'a' ? 'b' : 'a';
      cluster.startNode('l1');
      const first = await writeKeys(c, 'x', 30);
      const leaderPid = cluster.pid(leader);
      expect(leaderPid).not.toBeNull();
      // Demote the follower: the leader forgets it as its peer, in the same process.
      const demoted = await cli(['admin', 'demote', other, '--zk', zk.connectString, '--cluster', name]);
      expect(demoted.code, demoted.stderr).toBe(0);
      const gone = await waitFor('the leader drops its peer', 10_000, async () => {
        const lines = await logLines(cluster.node(leader).logFile, 'no other voter in the cluster configuration');
        return lines.find((l) => l.previous === other) ?? null;
      });
      expect(gone.peer).toBe('none');
      const second = await writeKeys(c, 'y', 30);
      // Promote l1 (one voter left: no --replace needed): the leader learns its new peer.
      await waitFor(`${other} running as a listener`, 20_000, async () => (await cluster.memberStatus(other))?.role === 'listener');
      await waitFor('l1 caught up', 20_000, async () => ((await cluster.memberStatus('l1'))?.appliedIndex ?? 0) >= second.last);
      const promoted = await cli(['admin', 'promote', 'l1', '--zk', zk.connectString, '--cluster', name]);
      expect(promoted.code, promoted.stderr).toBe(0);
      await waitFor('the leader knows l1 as its peer', 10_000, async () => {
        const lines = await logLines(cluster.node(leader).logFile, 'the other voter is known');
        return lines.some((l) => l.peer === 'l1');
      });
      await waitFor('l1 a follower', 20_000, async () => (await cluster.memberStatus('l1'))?.role === 'follower');
      const third = await writeKeys(c, 'z', 30);
      // The leader replicates to l1 (its commit index follows the leader's, as a voter's does).
      await waitFor('l1 applied the writes as a follower', 20_000, async () => {
        const s = await cluster.memberStatus('l1');
        return s !== null && s.role === 'follower' && s.leaderId === leader && s.appliedIndex >= third.last;
      });
      // Same process all along: the leader was never restarted.
      expect(cluster.pid(leader)).toBe(leaderPid);
      expect((await logLines(cluster.node(leader).logFile, 'node started')).length).toBe(1);
      // The pair is whole: SIGKILL the leader, l1 takes over, nothing lost.
      await cluster.kill(leader);
      const next = await cluster.waitForLeader(20_000, { not: leader });
      expect(next).toBe('l1');
      expect(await missingKeys(c, [...first.keys, ...second.keys, ...third.keys])).toEqual([]);
    } finally {
      await c.close();
      await cluster.stop();
    }
  }, 120_000);
});
