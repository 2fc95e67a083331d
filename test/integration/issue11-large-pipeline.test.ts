// Issue 11 defect 6: one large Pipeline message forced a failover. 150,000 gets (1.8 MB) in
// one message stalled the leader's event loop for 2.6 s, 20,000 puts for 4.1 s, dropping its
// ZooKeeper session: leadership was lost. Here each is sent in one message to the leader
// while a client writes in the background. The property, not a timing: the leader keeps
// its leadership (the epoch znode is not fenced, the same node leads in the same term), and
// no acknowledged write is lost (the writer's and the pipelined puts that were answered OK).
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pb } from '../../src/common/proto.js';
import { connectZk, type NodeZkSession } from '../../src/coordination/zk-client.js';
import { ClientCaller } from '../../src/harness/fuzz/client-caller.js';
import { ZkLogView } from '../../src/harness/fuzz/zk-log-view.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { client, missingKeys, sleep, uniqueCluster, Writer } from './helpers.js';

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

function getsBatch(n: number): Uint8Array {
  const requests = Array.from({ length: n }, (_, i) => ({ id: i + 1, get: { key: `g${i % 1000}` } }));
  return pb.client.PipelineRequestBatch.encode({ requests }).finish();
}

function putsBatch(n: number): Uint8Array {
  const requests = Array.from({ length: n }, (_, i) => ({ id: i + 1, put: { key: `bulk-${i}`, value: new TextEncoder().encode(`bulk-value-${i}`) } }));
  return pb.client.PipelineRequestBatch.encode({ requests }).finish();
}

describe('issue 11 defect 6: one large Pipeline message', () => {
  for (const [what, batch] of [
    ['150,000 gets', () => getsBatch(150_000)],
    ['20,000 puts', () => putsBatch(20_000)],
  ] as const) {
    it(`${what} in one message: the leader keeps its leadership, no acknowledged write is lost`, async () => {
      const name = uniqueCluster('big-pipeline');
      const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
      const c = await client(zk.connectString, name);
      const view = new ZkLogView(session, name);
      try {
        const leader = await cluster.waitForLeader(10_000);
        const writer = new Writer(c, 'bg');
        await sleep(300);
        const before = await view.state();
        const body = batch();
        const caller = new ClientCaller(cluster.node(leader).address);
        const outcome = await caller.pipeline([body], 60_000);
        caller.close();
        await sleep(500);
        const report = await writer.stop();
        const after = await view.state();
        const byCode = new Map<string, number>();
        const ackedPuts: string[] = [];
        for (const r of outcome.responses) {
          const code = r.error?.code ?? r.get?.error?.code ?? r.put?.error?.code ?? 0;
          const label = code === 0 ? 'ok' : (pb.client.ErrorCode[code] ?? String(code));
          byCode.set(label, (byCode.get(label) ?? 0) + 1);
          if (r.put && !r.put.error?.code) ackedPuts.push(`bulk-${(r.id ?? 1) - 1}`);
        }
        const log = await readFile(cluster.node(leader).logFile, 'utf8');
        const stalls = [...log.matchAll(/"stalledMs":(\d+)/g)].map((m) => Number(m[1]));
        process.stdout.write(
          `defect 6 (${what}, ${body.length} bytes): stream ${outcome.finished ? "ended" : "open at the deadline"} (code ${outcome.code} ${outcome.details}, ${outcome.undecodable} undecodable batches ${outcome.undecodableReason ?? ''}), ` +
            `${outcome.responses.length} responses ${JSON.stringify(Object.fromEntries(byCode))}; epoch ${before.term}/v${before.epochVersion} -> ${after.term}/v${after.epochVersion}; ` +
            `leader's longest event-loop stall ${Math.max(0, ...stalls)} ms; ${report.acked.length} background writes acknowledged\n`,
        );
        // Leadership kept: never fenced, the same leader in the same term.
        expect(after.epochVersion).toBe(before.epochVersion);
        expect(after.term).toBe(before.term);
        expect(await cluster.waitForLeader(5000)).toBe(leader);
        // Nothing acknowledged lost: the writer's keys, and every put the stream acknowledged.
        expect(await missingKeys(c, report.acked)).toEqual([]);
        for (const key of ackedPuts) {
          const n = key.slice('bulk-'.length);
          expect(new TextDecoder().decode((await c.get(key)).value), key).toBe(`bulk-value-${n}`);
        }
        // Every operation got an answer (a result, or BUSY), or the stream was refused whole.
        if (outcome.code === 0) expect(outcome.responses.length).toBe(pb.client.PipelineRequestBatch.decode(body).requests.length);
      } finally {
        await c.close();
        await cluster.stop();
      }
    });
  }
});
