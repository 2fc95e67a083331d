// The commit gate (fuzz finding 9) on the real driver: a voter cut off from ZooKeeper
// across a failover. The leader loses ZooKeeper, the other voter takes over, and the cut-off
// one follows the new leader without ever seeing its term in the epoch: its commit index is
// held. It must take at most the bound past its commit index (here lowered to 40 entries),
// refuse the new leader's snapshot offers, tell its metrics it is held, and, once it reaches
// ZooKeeper again, catch up with everything the new leader committed by the normal paths.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { defaultSnapshotPolicy } from '../../src/server/snapshotter.js';
import type { KvCommand } from '../../src/statemachine/command.js';
import { SimNetwork } from './sim/sim-network.js';
import { SimNode } from './sim/sim-node.js';
import { SimScheduler } from './sim-scheduler.js';
import { ZkModel } from './zk-model.js';

const MAX_HELD = 40;
const put = (key: string, value: string): KvCommand => ({ kind: 'put', key, value: new TextEncoder().encode(value) });

describe('the commit gate on the real driver', () => {
  it('a voter cut off from ZooKeeper across a failover holds at most the bound, then catches up', async () => {
    const sched = new SimScheduler(11);
    const model = new ZkModel(sched, { servers: 1, latencyMs: [1, 3], sessionTimeoutMs: 4000, requestTimeoutMs: 3000 });
    const net = new SimNetwork(sched);
    // The leaders' lines about snapshot offers the follower did not install, with the reason.
    const refusals: string[] = [];
    const logger = pino({ level: 'info' }, {
      write: (line: string) => {
        const l = JSON.parse(line) as { msg: string; reason?: string };
        if (l.msg.startsWith('the follower did not install the snapshot offered')) refusals.push(l.reason ?? '');
      },
    });
    const nodes = ['a', 'b'].map(
      (id) =>
        new SimNode({
          id,
          cluster: 'gate',
          sched,
          model,
          net,
          wallOffsetMs: 1_700_000_000_000,
          // Snapshots (and the leader's compaction) every 120 entries: the held voter reaches
          // its bound first, then the new leader compacts past it and offers it a snapshot,
          // which it must refuse while held.
          snapshotPolicy: { ...defaultSnapshotPolicy, everyEntries: 120, everyBytes: 1 << 20, retainEntries: 0 },
          snapshotPieces: { zkChunkBytes: 4096, rangeBytes: 4096 },
          limits: { maxHeldEntries: MAX_HELD },
          logger,
        }),
    );
    for (const n of nodes) n.start();
    let worst = 0;
    let heldSeen = false;
    const watched: { node: SimNode | null } = { node: null };
    /** Runs virtual time until `done()` or `ms` passed; checks the bound on the watched node after every event. */
    const runUntil = async (done: () => boolean, ms: number): Promise<boolean> => {
      const until = sched.now() + ms;
      while (!done() && sched.nextAt() <= until) {
        await sched.step();
        const d = watched.node?.driver;
        if (d) {
          const f = d.figures();
          if (f.commitHeld) {
            heldSeen = true;
            worst = Math.max(worst, f.lastIndex - f.commitIndex);
          }
        }
      }
      return done();
    };
    const role = (n: SimNode): string | undefined => n.driver?.inspect().softState.role;
    const leader = (): SimNode | undefined => nodes.find((n) => n.state === 'up' && role(n) === 'leader' && n.driver!.inspect().leaseHolds);
    /** Writes `count` keys through whichever node leads, waiting for each. */
    const write = async (prefix: string, count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        let ok = false;
        for (let attempt = 0; attempt < 200 && !ok; attempt++) {
          const l = leader();
          if (l) {
            const p = l.call((d) => d.submit(put(`${prefix}${i}`, `v${i}`)));
            let out: 'ok' | 'failed' | null = null;
            p.then(
              () => (out = 'ok'),
              () => (out = 'failed'),
            );
            await runUntil(() => out !== null, 5000);
            ok = out === 'ok';
          }
          if (!ok) await runUntil(() => false, 20);
        }
        if (!ok) throw new Error(`write ${prefix}${i} found no leader`);
      }
    };

    expect(await runUntil(() => leader() !== undefined, 10_000)).toBe(true);
    await write('before-', 20);
    const old = leader()!;
    const other = nodes.find((n) => n !== old)!;
    const oldTerm = old.driver!.inspect().softState.term;

    // The leader loses ZooKeeper: the other voter takes over, the old leader follows it.
    old.cutZk();
    watched.node = old;
    expect(await runUntil(() => role(other) === 'leader' && other.driver!.inspect().leaseHolds, 10_000)).toBe(true);
    await write('during-', 200);
    const newTerm = other.driver!.inspect().softState.term;
    expect(newTerm).toBeGreaterThan(oldTerm);
    expect(await runUntil(() => old.driver?.inspect().softState.term === newTerm, 5000)).toBe(true);
    const held = old.driver!.figures();
    expect(held.commitHeld).toBe(true);
    expect(held.leaderId).toBe(other.id);
    // Held: it took entries of the new leader, never more than the bound past its commit
    // index, and committed none of the 200 writes.
    expect(heldSeen).toBe(true);
    expect(worst).toBe(MAX_HELD);
    expect(held.commitIndex).toBeLessThan(other.driver!.inspect().commitIndex - 200);
    await runUntil(() => false, 2000);
    expect(old.driver!.figures().commitHeld).toBe(true);
    // The new leader compacted past it: its offers were refused, at most one a second (3 in
    // the 4 s of this cut; offered again at once, they were hundreds), and none was pulled.
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThanOrEqual(5);
    expect(refusals[0]).toMatch(/is not vouched for by ZooKeeper's epoch here yet/);
    expect(old.driver!.figures().lastIndex - old.driver!.figures().commitIndex).toBeLessThanOrEqual(MAX_HELD);

    // ZooKeeper again: the epoch watch shows the new term, and it catches up.
    old.healZk();
    const target = other.driver!.inspect().commitIndex;
    expect(await runUntil(() => (old.driver?.inspect().appliedIndex ?? 0) >= target, 10_000)).toBe(true);
    expect(old.driver!.figures().commitHeld).toBe(false);
    const decoded = (k: string): string | undefined => {
      const v = old.driver!.inspect().kv.get(k);
      return v === undefined ? undefined : new TextDecoder().decode(v);
    };
    for (let i = 0; i < 200; i += 37) expect(decoded(`during-${i}`)).toBe(`v${i}`);
    expect(worst).toBeLessThanOrEqual(MAX_HELD);
  }, 120_000);
});
