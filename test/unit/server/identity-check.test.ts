// The identity check (identity-check.ts): the root watch's reading of another identity, or of
// no root, stops the node only when a fresh read after sync() confirms it; a stale reading
// that sync() corrects, or a read that fails, stops nothing.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { type ClusterIdentity, encodeIdentity } from '../../../src/coordination/records.js';
import { ZkError } from '../../../src/coordination/zk-api.js';
import { IdentityCheck } from '../../../src/server/identity-check.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';

const paths = new ClusterPaths('t');
const ours: ClusterIdentity = { cluster: 't', clusterId: 'a1'.repeat(16), createdAtMs: 1 };
const theirs: ClusterIdentity = { cluster: 't', clusterId: 'b2'.repeat(16), createdAtMs: 2 };

function rig() {
  const zk = new ScriptedZk();
  const lines: Array<{ level: number; msg: string; reason?: string; err?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const lost: string[] = [];
  const check = new IdentityCheck({ zk, paths, logger, identity: ours, onLost: (reason) => void lost.push(reason) });
  return { zk, lines, lost, check };
}

/** Lets the check's chain of ZooKeeper answers (microtasks) finish. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

describe('IdentityCheck', () => {
  it('our own identity: nothing is read', async () => {
    const { zk, lost, check } = rig();
    check.seen(ours);
    await settle();
    expect(zk.calls).toEqual([]);
    expect(lost).toEqual([]);
  });

  it('another identity, confirmed after sync(): the cluster was lost and recreated', async () => {
    const { zk, lines, lost, check } = rig();
    zk.put(paths.root, encodeIdentity(theirs));
    check.seen(theirs);
    await settle();
    expect(zk.calls).toEqual(['sync', `getData ${paths.root}`]);
    expect(lost).toEqual([`ZooKeeper's tree of this cluster now has identity ${theirs.clusterId}, not ${ours.clusterId}: it was lost and recreated`]);
    expect(lines).toMatchObject([{ level: 50, msg: 'ZooKeeper lost the cluster: this node stops serving and keeps its data for duoraft admin restore-zk' }]);
  });

  it('the root gone, confirmed after sync(): ZooKeeper lost its data', async () => {
    const { lost, check } = rig();
    check.seen(null);
    await settle();
    expect(lost).toEqual([`ZooKeeper's tree of this cluster (${paths.root}) is gone: ZooKeeper lost its data`]);
  });

  it('a stale reading that the read after sync() corrects stops nothing', async () => {
    const { zk, lines, lost, check } = rig();
    zk.put(paths.root, encodeIdentity(ours));
    zk.serveStale(paths.root, encodeIdentity(theirs), 1);
    check.seen(theirs);
    await settle();
    expect(lost).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('a read that fails is logged and stops nothing (the watch reads again)', async () => {
    const { zk, lines, lost, check } = rig();
    zk.sync = () => Promise.reject(new ZkError('CONNECTION_LOSS', paths.root));
    check.seen(null);
    await settle();
    expect(lost).toEqual([]);
    expect(lines).toMatchObject([{ level: 40, msg: 'could not confirm the cluster identity; the watch reads again' }]);
  });
});
