// Issue 11 defect 2: one peer message with an absurd term took the cluster down for good (a
// Heartbeat to the leader with term 2^53 - 1 crashed it, the epoch znode ended at 2^53 and
// every later start failed), and a term of 999 was adopted. Sent here in plaintext by a
// stranger claiming to be the other voter: a Heartbeat to the leader, an AppendEntries to the
// follower (and, for good measure, a RequestVote and a TimeoutNow to each), with term
// 2^53 - 1 and with term 999. Each must be refused: the epoch znode (term and version) and
// every member's term stay as they were, the cluster keeps serving, and it restarts fine
// (a SIGKILL of the leader fails over with exactly one new term; both restarted, it leads).
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectZk, type NodeZkSession } from '../../src/coordination/zk-client.js';
import { waitRejoined } from '../../src/harness/failover.js';
import { encodePeerRequest, type PeerCallOutcome, PeerCaller } from '../../src/harness/fuzz/peer-caller.js';
import { ZkLogView } from '../../src/harness/fuzz/zk-log-view.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { client, missingKeys, uniqueCluster, Writer } from './helpers.js';

let zk: LocalZooKeeper;
let session: NodeZkSession;

beforeAll(async () => {
  zk = await startZooKeeper();
  session = connectZk({ connectString: zk.connectString });
  await session.waitConnected(5000);
});

afterAll(async () => {
  await session?.close();
  await zk?.stop();
});

const ABSURD = [Number.MAX_SAFE_INTEGER, 999];
/** A refused request is answered no_reply only after the transport's 2 s reply timeout: no need to wait that long. */
const CALL_MS = 500;
const noChain = new Uint8Array(16);

describe('issue 11 defect 2: absurd terms in peer messages', () => {
  it('a Heartbeat to the leader and an AppendEntries to the follower with term 2^53 - 1 or 999 are refused; nothing moves; the cluster serves and restarts', async () => {
    const name = uniqueCluster('absurd-term');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
    const c = await client(zk.connectString, name);
    const view = new ZkLogView(session, name);
    try {
      const leader = await cluster.waitForLeader(10_000);
      const follower = cluster.ids().find((id) => id !== leader)!;
      const writer = new Writer(c, 'absurd');
      const before = await view.state();
      const termsBefore = (await cluster.statuses()).map((s) => s.term);
      const toLeader = new PeerCaller(cluster.node(leader).address);
      const toFollower = new PeerCaller(cluster.node(follower).address);
      const outcomes: Array<[string, PeerCallOutcome]> = [];
      try {
        for (const term of ABSURD) {
          const { tailIndex } = await view.state();
          outcomes.push([`Heartbeat term ${term} to the leader`, await toLeader.call('Heartbeat', encodePeerRequest('Heartbeat', { cluster: name, from: follower, to: leader, term, commit: tailIndex, commitTerm: before.term, commitChain: noChain }), CALL_MS)]);
          outcomes.push([
            `AppendEntries term ${term} to the follower`,
            await toFollower.call(
              'AppendEntries',
              encodePeerRequest('AppendEntries', {
                cluster: name,
                from: leader,
                to: follower,
                term,
                prevLogIndex: tailIndex,
                prevLogTerm: before.term,
                prevLogChain: noChain,
                entries: [{ index: tailIndex + 1, term, type: 1, data: new Uint8Array(0), chain: noChain }],
                leaderCommit: tailIndex + 1,
              }),
              CALL_MS,
            ),
          ]);
          outcomes.push([`RequestVote term ${term} to the leader`, await toLeader.call('RequestVote', encodePeerRequest('RequestVote', { cluster: name, from: follower, to: leader, term, lastLogIndex: tailIndex + 5, lastLogTerm: term, preVote: false, transfer: true }), CALL_MS)]);
          outcomes.push([`TimeoutNow term ${term} to the follower`, await toFollower.call('TimeoutNow', encodePeerRequest('TimeoutNow', { cluster: name, from: leader, to: follower, term, leaseVersion: 1 }), CALL_MS)]);
        }
      } finally {
        toLeader.close();
        toFollower.close();
      }
      for (const [what, o] of outcomes) {
        // A TimeoutNow is never answered by the core (the transport acknowledges every one
        // at once): what it did is judged by the state below.
        if (what.startsWith('TimeoutNow')) continue;
        // Refused: answered no_reply, or not at all before the deadline; never a real reply.
        expect(o.noReply, `${what}: ${JSON.stringify(o)}`).not.toBe(false);
      }
      // Nothing moved: the epoch (term and version), every member's term, the leader.
      const after = await view.state();
      expect(after.term).toBe(before.term);
      expect(after.epochVersion).toBe(before.epochVersion);
      expect((await cluster.statuses()).map((s) => s.term)).toEqual(termsBefore);
      expect(await cluster.waitForLeader(5000)).toBe(leader);
      const log = await readFile(cluster.node(leader).logFile, 'utf8');
      expect(log).toMatch(/more than (one|two) above the highest term ZooKeeper vouched for[^\n]*peer message refused/);
      // The cluster serves, and nothing acknowledged was lost.
      await c.put('after-absurd', 'ok');
      const report = await writer.stop();
      expect(report.acked.length).toBeGreaterThan(0);
      expect(await missingKeys(c, report.acked)).toEqual([]);

      // It restarts fine: a SIGKILL of the leader makes exactly one new term...
      await cluster.kill(leader);
      const next = await cluster.waitForLeader(20_000, { not: leader });
      expect(next).toBe(follower);
      expect((await view.state()).term).toBe(before.term + 1);
      cluster.startNode(leader);
      await waitRejoined(cluster, leader, next, 20_000);
      // ...and both restarted at once come back with a leader and every write.
      await cluster.kill(leader);
      await cluster.kill(follower);
      cluster.startNode(leader);
      cluster.startNode(follower);
      await cluster.waitForLeader(20_000);
      expect(await missingKeys(c, report.acked)).toEqual([]);
      expect(new TextDecoder().decode((await c.get('after-absurd')).value)).toBe('ok');
      expect((await view.state()).term).toBeLessThan(before.term + 10);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
});
