// Issue 10 points 8 and 9, against a real ZooKeeper and real node processes: what the
// cluster keeps in ZooKeeper stays under --zk-budget-bytes under sustained writes; a state
// too large for it is said loudly (status, log) and refused rather than written to
// ZooKeeper; `duoraft admin snapshot`, `duoraft zk inspect` and `duoraft status`.
//
// The soak's length: DUORAFT_SOAK_MS (default 30 s in CI; the acceptance run is 5
// minutes: DUORAFT_SOAK_MS=300000).
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuoraftClient, MemberStatusView } from '../../src/client/client.js';
import type { DuoraftError } from '../../src/common/errors.js';
import { realClock } from '../../src/common/real-clock.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import type { ZkSession } from '../../src/coordination/zk-api.js';
import { connectZk } from '../../src/coordination/zk-client.js';
import { inspectZk, type ZkUsage } from '../../src/coordination/zk-inspect.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { runCli } from './cli-run.js';
import { client, uniqueCluster } from './helpers.js';

const BUDGET = 2 * 1024 * 1024;
/** Small snapshot intervals: the budget is met by snapshotting and compacting often. */
const NODE_ARGS = ['--zk-budget-bytes', String(BUDGET), '--snapshot-every-bytes', String(128 * 1024), '--snapshot-retain-entries', '100'];

function soakMs(): number {
  const text = process.env['DUORAFT_SOAK_MS'];
  if (text === undefined || text === '') return 30_000;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1000) throw new Error(`DUORAFT_SOAK_MS must be an integer number of ms >= 1000, not ${JSON.stringify(text)}`);
  return n;
}

let zk: LocalZooKeeper;
let session: ZkSession;

beforeAll(async () => {
  zk = await startZooKeeper();
  session = connectZk({ connectString: zk.connectString });
  await session.waitConnected(5000);
});

afterAll(async () => {
  await session?.close();
  await zk?.stop();
});

/** Counts the cluster's znodes from ZooKeeper every `everyMs` until stopped; keeps every sample. */
class ZkSampler {
  readonly samples: ZkUsage[] = [];
  readonly errors: string[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly cluster: string,
    everyMs: number,
  ) {
    this.done = (async () => {
      while (!this.stopped) {
        try {
          this.samples.push(await inspectZk(session, new ClusterPaths(this.cluster), { clock: realClock }));
        } catch (err) {
          this.errors.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }

  max(): number {
    return Math.max(0, ...this.samples.map((s) => s.budgetBytes));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

function leaderOf(members: readonly MemberStatusView[]): MemberStatusView | undefined {
  return members.find((m) => m.role === 'leader');
}

function json<T>(stdout: Buffer): T {
  return JSON.parse(stdout.toString('utf8')) as T;
}

describe('the ZooKeeper budget (issue 10 point 8)', () => {
  it(
    `sustained writes: ZooKeeper's data stays under a ${BUDGET} byte budget (state about a third of it) for DUORAFT_SOAK_MS, sampled all along, and nothing is lost`,
    async () => {
      const name = uniqueCluster('budget-soak');
      const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: NODE_ARGS });
      const c = await client(zk.connectString, name);
      const sampler = new ZkSampler(name, 250);
      const modes = new Set<string>();
      try {
        // 700 keys of about 1 KiB, overwritten: a snapshot of about 730 KB. Three of them (two
        // kept, one uploading) and two intervals of log would be about 2.4 MB: over the
        // budget, so only the tight mode (one snapshot kept, wal/ compacted through it) fits.
        const keys = 700;
        const writers = 4;
        const last = new Map<string, string>();
        const errors: string[] = [];
        let writes = 0;
        const end = Date.now() + soakMs();
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let n = 0; Date.now() < end; n++) {
              const key = `k-${(n * writers + w) % keys}`;
              const value = `${w}:${n}:`.padEnd(1024, 'x');
              try {
                await c.put(key, value);
                last.set(key, value);
                writes++;
              } catch (err) {
                errors.push(`${key}: ${(err as DuoraftError).code ?? ''} ${(err as Error).message}`);
              }
              if (n % 200 === 0) {
                const l = leaderOf(await c.status());
                if (l?.zkBudget) modes.add(l.zkBudget.mode);
              }
            }
          }),
        );
        await sampler.stop();
        expect(errors).toEqual([]);
        expect(sampler.errors).toEqual([]);
        // Sampled all along (every 250 ms plus the count's own time).
        expect(sampler.samples.length).toBeGreaterThan(soakMs() / 2000);
        const maxUsed = sampler.max();
        console.log(`budget soak: ${writes} writes in ${soakMs()} ms, ${sampler.samples.length} samples, ZooKeeper max ${maxUsed} of ${BUDGET} bytes, modes ${[...modes].join(',')}`);
        expect(maxUsed).toBeLessThanOrEqual(BUDGET);
        // The budget was what kept it there: the leader had to work tight, and wal/ was compacted.
        expect(modes).toContain('tight');
        const final = sampler.samples[sampler.samples.length - 1]!;
        expect(final.wal.compactedThroughSnapshot).toBeGreaterThan(0);
        expect(final.snapshots.filter((s) => s.state === 'complete').length).toBeGreaterThanOrEqual(1);
        // Every key holds the last value acknowledged for it (each key has one writer).
        const wrong: string[] = [];
        for (const [key, value] of last) {
          const r = await c.get(key);
          if (!r.found || new TextDecoder().decode(r.value) !== value) wrong.push(key);
        }
        expect(wrong).toEqual([]);
      } finally {
        await sampler.stop();
        await c.close();
        await cluster.stop();
      }
    },
    soakMs() + 90_000,
  );

  it('a state too large for the budget: writes that add data are refused (ZK_BUDGET_EXCEEDED), status and the log say so, ZooKeeper stays under it; deletes make room again', async () => {
    const name = uniqueCluster('budget-over');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: NODE_ARGS });
    let c: DuoraftClient = await client(zk.connectString, name);
    const sampler = new ZkSampler(name, 200);
    try {
      const leader = await cluster.waitForLeader(10_000);
      // New keys of 2 KiB until the leader refuses (a state of 2 MiB could not be snapshotted twice).
      const value = 'v'.padEnd(2048, 'x');
      const written: string[] = [];
      let refused: DuoraftError | null = null;
      for (let i = 0; i < 1500 && refused === null; i++) {
        try {
          await c.put(`big-${i}`, value);
          written.push(`big-${i}`);
        } catch (err) {
          refused = err as DuoraftError;
        }
      }
      expect(refused?.code).toBe('ZK_BUDGET_EXCEEDED');
      expect(refused?.message).toMatch(/delete keys .* or raise --zk-budget-bytes/);
      expect(refused?.retryable).toBe(false);
      // More than half the budget of state was accepted, less than all of it.
      expect(written.length * 2048).toBeGreaterThan(BUDGET / 3);
      expect(written.length * 2048).toBeLessThan(BUDGET);

      // incr and cas are refused too; a delete passes.
      await expect(c.incr('counter', 1)).rejects.toMatchObject({ code: 'ZK_BUDGET_EXCEEDED' });
      await expect(c.cas('big-0', value, 'y')).rejects.toMatchObject({ code: 'ZK_BUDGET_EXCEEDED' });

      // status: the budget line says OVER, --json carries zkBudget on the leader.
      const text = await runCli(['status', '--zk', zk.connectString, '--cluster', name]);
      expect(text.code).toBe(0);
      expect(text.stdout.toString()).toMatch(/ZooKeeper budget: OVER: .* of 2\.0 MiB .*put, incr and cas are refused/);
      const members = json<MemberStatusView[]>((await runCli(['status', '--json', '--zk', zk.connectString, '--cluster', name])).stdout);
      const l = leaderOf(members)!;
      expect(l.id).toBe(leader);
      expect(l.zkBudget).toMatchObject({ over: true, mode: 'over', budgetBytes: BUDGET });
      expect(l.zkBudget!.usedBytes).toBeLessThanOrEqual(BUDGET);
      // The log: an error line, at every snapshot while over.
      const log = await readFile(cluster.node(leader).logFile, 'utf8');
      expect(log).toMatch(/"level":50.*ZooKeeper budget exceeded: the state is too large for --zk-budget-bytes/);

      // Deleting most of the state makes room: admin snapshot re-checks at once, uploads, and writes pass again.
      for (const key of written.slice(0, Math.floor(written.length * 0.75))) await c.del(key);
      const snap = await runCli(['admin', 'snapshot', '--json', '--zk', zk.connectString, '--cluster', name]);
      expect(snap.code).toBe(0);
      const taken = json<{ publish: string; memberId: string; zkBudget: { over: boolean } }>(snap.stdout);
      expect(taken).toMatchObject({ publish: 'published', memberId: leader, zkBudget: { over: false } });
      await c.close();
      c = await client(zk.connectString, name);
      expect((await c.put('after', 'x')).index).toBeGreaterThan(0);
      await sampler.stop();
      expect(sampler.errors).toEqual([]);
      console.log(`budget over: ${written.length} keys of 2 KiB accepted, ZooKeeper max ${sampler.max()} of ${BUDGET} bytes over ${sampler.samples.length} samples`);
      expect(sampler.samples.length).toBeGreaterThan(5);
      expect(sampler.max()).toBeLessThanOrEqual(BUDGET);
    } finally {
      await sampler.stop();
      await c.close();
      await cluster.stop();
    }
  });
});

describe('duoraft admin snapshot, zk inspect, status (issue 10 point 9)', () => {
  it('takes a snapshot on the leader or a given member, prints its index and size; zk inspect counts the znodes; status shows each member’s snapshot', async () => {
    const name = uniqueCluster('snap-cmds');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: NODE_ARGS });
    const c = await client(zk.connectString, name);
    const at = ['--zk', zk.connectString, '--cluster', name];
    try {
      const leader = await cluster.waitForLeader(10_000);
      const follower = cluster.ids().find((id) => id !== leader)!;
      let lastIndex = 0;
      for (let i = 0; i < 50; i++) lastIndex = (await c.put(`k-${i}`, `value-${i}`)).index;
      await cluster.waitForApplied(lastIndex, 10_000);

      // The leader (no --address): published to ZooKeeper.
      const onLeader = await runCli(['admin', 'snapshot', ...at]);
      expect(onLeader.stderr).toBe('');
      expect(onLeader.code).toBe(0);
      const line = onLeader.stdout.toString();
      expect(line).toMatch(new RegExp(`^snapshot at index (\\d+) \\(term \\d+\\), .* \\((\\d+) bytes\\), taken by ${leader} in \\d+ ms; uploaded to ZooKeeper`));
      const leaderIndex = Number(/index (\d+)/.exec(line)![1]);
      expect(leaderIndex).toBeGreaterThanOrEqual(lastIndex);
      expect(line).toMatch(/\nZooKeeper budget: .* of 2\.0 MiB used/);

      // A given member (the follower): kept locally.
      const onFollower = await runCli(['admin', 'snapshot', '--json', '--address', cluster.node(follower).address, ...at]);
      expect(onFollower.code).toBe(0);
      const f = json<{ memberId: string; index: number; sizeBytes: number; publish: string; zkBudget: unknown }>(onFollower.stdout);
      expect(f).toMatchObject({ memberId: follower, publish: 'not-leader', zkBudget: null });
      expect(f.index).toBeGreaterThanOrEqual(lastIndex);
      expect(f.sizeBytes).toBeGreaterThan(50 * 'value-0'.length);

      // status: each member's snapshot index, and the budget line.
      const members = json<MemberStatusView[]>((await runCli(['status', '--json', ...at])).stdout);
      expect(members.find((m) => m.id === leader)?.snapshotIndex).toBe(leaderIndex);
      expect(members.find((m) => m.id === follower)?.snapshotIndex).toBe(f.index);
      const table = (await runCli(['status', ...at])).stdout.toString();
      expect(table).toMatch(/^ID\s+ROLE\s+TERM\s+COMMITINDEX\s+APPLIEDINDEX\s+SNAPSHOT\s+LEADERID\s+ADDRESS/);
      expect(table).toMatch(new RegExp(`\\n${leader}\\s+leader\\s+\\d+\\s+\\d+\\s+\\d+\\s+${leaderIndex}\\s`));
      expect(table).toMatch(/\nZooKeeper budget: [\d.]+ (KiB|MiB) of 2\.0 MiB \(\d+%; wal\/ .*, snapshots .*\), counted by leader/);

      // zk inspect --json: every group, the segments, the snapshot just published, the voters' sessions, the total against the bound.
      const inspected = await runCli(['zk', 'inspect', '--json', '--zk-budget-bytes', String(BUDGET), ...at]);
      expect(inspected.code).toBe(0);
      const u = json<ZkUsage & { budget: { budgetBytes: number; usedBytes: number; over: boolean } }>(inspected.stdout);
      for (const g of ['epoch', 'leader', 'lease', 'tail', 'members', 'wal', 'snapshots'] as const) expect(u.groups[g].znodes).toBeGreaterThanOrEqual(1);
      expect(u.wal.segments).toBeGreaterThanOrEqual(1);
      expect(u.wal.tailLastIndex).toBeGreaterThanOrEqual(lastIndex);
      expect(u.snapshots.find((s) => s.index === leaderIndex)).toMatchObject({ state: 'complete' });
      expect(u.sessions).toHaveLength(2); // one per voter: its members/ znode (and the leader's leader znode)
      expect(u.sessions.flatMap((s) => s.znodes).sort()).toEqual(['leader', `members/${leader}`, `members/${follower}`].sort());
      expect(u.budget).toMatchObject({ budgetBytes: BUDGET, usedBytes: u.groups.wal.dataBytes + u.groups.snapshots.dataBytes, over: false });
      // ... and it matches a count made here, directly.
      const direct = await inspectZk(session, new ClusterPaths(name), { clock: realClock });
      expect(direct.snapshots.map((s) => s.index)).toEqual(u.snapshots.map((s) => s.index));
      // The text form: one line per group, the snapshots, the total against the bound.
      const report = (await runCli(['zk', 'inspect', ...at])).stdout.toString();
      expect(report).toMatch(/^cluster snap-cmds-\S+: \d+ znodes, /);
      expect(report).toMatch(/\nwal\s+\d+\s+\d+\s/);
      expect(report).toMatch(/\nsessions: 0x[0-9a-f]+ \(/);
      expect(report).toMatch(new RegExp(`\\n${leaderIndex}\\s+complete\\s`));
      expect(report).toMatch(/\nbudget \(wal \+ snapshots\): .* of 64\.0 MiB \([\d.]+%\)\n$/); // the default bound, when not given

      // Failures: typed, with stable codes, and what to do.
      const unreachable = await runCli(['admin', 'snapshot', '--address', '127.0.0.1:1', '--timeout', '3000', ...at]);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toMatch(/^duoraft: UNAVAILABLE: cannot reach 127\.0\.0\.1:1/);
      const noCluster = await runCli(['zk', 'inspect', '--zk', zk.connectString, '--cluster', 'no-such-cluster']);
      expect(noCluster.code).toBe(1);
      expect(noCluster.stderr).toMatch(/^duoraft: UNAVAILABLE: no duoraft cluster named "no-such-cluster"/);
      const badBudget = await runCli(['zk', 'inspect', '--zk-budget-bytes', '5', ...at]);
      expect(badBudget.code).toBe(2);
      expect(badBudget.stderr).toMatch(/^duoraft: CONFIG: --zk-budget-bytes must be an integer from 1048576 to/);
      const badNode = await runCli(['node', '--id', 'x', '--listen', '127.0.0.1:0', '--data', '/nonexistent', '--zk-budget-bytes', 'lots']);
      expect(badNode.code).toBe(2);
      expect(badNode.stderr).toMatch(/--zk-budget-bytes must be an integer/);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
});
