// Issue 10 point 5: a ZooKeeper connection that is not there at start-up is waited for,
// never a reason to exit. Both nodes start while nothing listens on ZooKeeper's port; they
// say they are waiting, stay alive, and once ZooKeeper comes up they elect and serve.
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/harness/free-port.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { client, sleep, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper | undefined;

afterAll(async () => {
  await zk?.stop();
});

describe('ZooKeeper down when the nodes start', () => {
  it('the nodes wait for it, then elect a leader and accept writes', async () => {
    const port = await freePort();
    const connect = `127.0.0.1:${port}`;
    const name = uniqueCluster('late-zk');
    const waiting = new Set<string>();
    const cluster = await ProcessCluster.start({
      zk: connect,
      cluster: name,
      waitForLeader: false,
      onLine: (id, line) => {
        if (line.includes('ZooKeeper does not answer yet')) waiting.add(id);
      },
    });
    try {
      // Both say what they wait for (bounded wait: a loaded machine starts processes slowly),
      // then stay up a while longer: the old behaviour gave up after a connect timeout and exited.
      for (let i = 0; i < 100 && waiting.size < 2; i++) await sleep(100);
      expect([...waiting].sort()).toEqual(['a', 'b']);
      await sleep(2_000);
      for (const id of cluster.ids()) expect(cluster.running(id), `node ${id} still running`).toBe(true);

      zk = await startZooKeeper({ port });
      await cluster.waitForLeader(30_000);
      const c = await client(connect, name);
      try {
        const r = await c.put('late', 'ok');
        expect(r.index).toBeGreaterThan(0);
        const g = await c.get('late');
        expect(g.found).toBe(true);
        expect(Buffer.from(g.value ?? []).toString()).toBe('ok');
      } finally {
        c.close();
      }
    } finally {
      await cluster.stop();
    }
  }, 60_000);
});
