// Issue 3 acceptance: session expiry happens at the same index on both voters, and
// survives a restart. Two real nodes (gRPC, local WALs) in this process, so each one's
// state machine can be inspected; a real ZooKeeper.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { type RunningNode, runNode } from '../../src/server/run-node.js';
import { DuoraftError } from '../../src/common/errors.js';
import type { Applied } from '../../src/server/proposals.js';
import type { KvCommand, WriteContext } from '../../src/statemachine/command.js';
import { sleep, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;
let dir: string;

beforeAll(async () => {
  zk = await startZooKeeper();
  dir = await mkdtemp(join(tmpdir(), 'duoraft-sessions-'));
});

afterAll(async () => {
  await zk?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function leaderOf(nodes: RunningNode[], timeoutMs = 10_000): Promise<RunningNode> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = nodes.find((n) => n.driver.status().role === 'leader' && n.driver.status().commitIndex > 0);
    if (l) return l;
    if (Date.now() > deadline) throw new Error('no leader');
    await sleep(20);
  }
}

/**
 * Submits through whichever node leads, retrying (bounded) when it cannot take the write now
 * (a lease lapsed on a loaded machine, a take-over under way), as a client would. A write
 * under a session context is exactly-once however often it is retried.
 */
async function submit(nodes: () => RunningNode[], command: KvCommand, ctx?: WriteContext): Promise<Applied> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const leader = await leaderOf(nodes());
    try {
      return await leader.driver.submit(command, ctx);
    } catch (err) {
      const retryable = err instanceof DuoraftError && (err.code === 'NOT_LEADER' || err.code === 'UNKNOWN_OUTCOME' || err.code === 'BUSY');
      if (!retryable || Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

async function appliedAtLeast(node: RunningNode, index: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (node.driver.status().appliedIndex < index) {
    if (Date.now() > deadline) throw new Error(`${node.driver.id} did not apply ${index}`);
    await sleep(10);
  }
}

describe('session expiry', () => {
  it('happens at the same index on both voters, and a restarted voter finds it at that index again', async () => {
    const cluster = uniqueCluster('expiry');
    const start = (id: string): Promise<RunningNode> =>
      runNode({ id, cluster, zk: zk.connectString, listen: '127.0.0.1:0', dataDir: join(dir, id), logLevel: 'warn' });
    let a = await start('a');
    let b = await start('b');
    try {
      const nodes = (): RunningNode[] => [a, b];
      const reg = await submit(nodes, { kind: 'registerSession', timeoutMs: 1000, nonce: new Uint8Array([42]) });
      expect(reg.result).toMatchObject({ ok: true, kind: 'session' });
      const sid = reg.index;
      const w = await submit(nodes, { kind: 'put', key: 's', value: new Uint8Array([1]) }, { sessionId: sid, sequence: 1, firstOutstanding: 1 });
      expect(w.result).toMatchObject({ ok: true });
      // Other clients keep writing: log time moves on past the session's timeout.
      let last = 0;
      for (let i = 0; i < 16; i++) {
        last = (await submit(nodes, { kind: 'put', key: `other${i}`, value: new Uint8Array([i]) })).index;
        await sleep(100);
      }
      await appliedAtLeast(a, last);
      await appliedAtLeast(b, last);
      const atA = a.driver.inspect().kv.sessions.expiredAt(sid);
      const atB = b.driver.inspect().kv.sessions.expiredAt(sid);
      expect(atA).toBeDefined();
      expect(atA).toBeGreaterThan(w.index);
      expect(atB).toBe(atA);
      // The session is gone for good: a write under it is refused.
      const late = await submit(nodes, { kind: 'put', key: 's', value: new Uint8Array([2]) }, { sessionId: sid, sequence: 2, firstOutstanding: 2 });
      expect(late.result).toMatchObject({ ok: false, code: 'session_expired' });

      // Restart both, one after the other, on their data folders: each replays its log
      // and finds the expiry at the same index.
      const follower = (await leaderOf(nodes())) === a ? 'b' : 'a';
      if (follower === 'b') {
        await b.stop();
        b = await start('b');
        await appliedAtLeast(b, late.index);
        expect(b.driver.inspect().kv.sessions.expiredAt(sid)).toBe(atA);
        await a.stop({ transfer: true });
        a = await start('a');
        await appliedAtLeast(a, late.index);
        expect(a.driver.inspect().kv.sessions.expiredAt(sid)).toBe(atA);
      } else {
        await a.stop();
        a = await start('a');
        await appliedAtLeast(a, late.index);
        expect(a.driver.inspect().kv.sessions.expiredAt(sid)).toBe(atA);
        await b.stop({ transfer: true });
        b = await start('b');
        await appliedAtLeast(b, late.index);
        expect(b.driver.inspect().kv.sessions.expiredAt(sid)).toBe(atA);
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
