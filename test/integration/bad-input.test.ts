// Issue 2 acceptance (h): bad input gets a clear error and loses nothing. Unknown
// commands, bad flags, oversized values, malformed requests, corrupt znodes, a corrupt
// local WAL and an unreachable ZooKeeper.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pb } from '../../src/common/proto.js';
import { connectZk } from '../../src/coordination/zk-client.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { freePort } from '../../src/harness/free-port.js';
import { ProcessCluster, duoraftBin } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { DirectMember, client, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;
// The data folders of the nodes that must refuse to start: this run's own, removed afterwards.
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'duoraft-bad-input-'));
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function cli(args: string[], timeoutMs = 30_000, stdin?: string): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [duoraftBin, ...args], { timeout: timeoutMs, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** A failure message: exactly one line on stderr. */
function oneLine(r: Run): string {
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('bad input: the command line', () => {
  it('an unknown command is a usage error (exit 2, one line)', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/usage: .*frobnicate/i);
  });

  it('a missing required flag is a configuration error (exit 2, one line per missing flag)', async () => {
    const r = await cli(['node', '--listen', '127.0.0.1:1']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^duoraft: CONFIG: --id is required/);
    expect(lines[1]).toMatch(/^duoraft: CONFIG: --data is required/);
  });

  it('an unknown flag is a configuration error', async () => {
    const r = await cli(['get', 'k', '--bogus-flag']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/CONFIG: unknown flag --bogus-flag/);
  });

  it('put takes exactly one value source', async () => {
    const r = await cli(['put', 'k', 'v', '--stdin', '--zk', '127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/CONFIG: put takes exactly one of VALUE, --stdin or --value-file/);
  });

  it('a bad consistency is refused', async () => {
    const r = await cli(['get', 'k', '--consistency', 'eventual']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/--consistency must be one of linearizable, lease, stale, not "eventual"/);
  });

  it('a malformed listen address and a bad cluster name are clear errors', async () => {
    const bad = await cli(['node', '--id', 'a', '--listen', 'nowhere', '--data', join(scratch, 'x'), '--zk', zk.connectString]);
    expect(bad.code).toBe(2);
    expect(oneLine(bad)).toMatch(/--listen must be HOST:PORT .*, not "nowhere" \(no :PORT\)/);
    const cluster = await cli(['status', '--zk', zk.connectString, '--cluster', 'no/slashes']);
    expect(cluster.code).toBe(2);
    expect(oneLine(cluster)).toMatch(/--cluster must be a cluster name .*, not "no\/slashes"/);
  });
});

describe('bad input: an unreachable ZooKeeper', () => {
  it('a client command fails with a clear error within its bound', async () => {
    const port = await freePort();
    const r = await cli(['put', 'k', 'v', '--zk', `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toMatch(/ZK_UNAVAILABLE: cannot reach ZooKeeper at 127\.0\.0\.1:\d+/);
    expect(r.ms).toBeLessThan(15_000);
  });

  it('a node that cannot reach ZooKeeper at start exits with a clear error', async () => {
    const port = await freePort();
    const r = await cli(['node', '--id', 'a', '--listen', '127.0.0.1:0', '--data', join(scratch, 'unreachable'), '--zk', `127.0.0.1:${port}`, '--zk-connect-timeout', '1000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ZooKeeper at 127\.0\.0\.1:\d+ did not answer within 1000 ms/);
  });
});

describe('bad input: against a running cluster', () => {
  it('refuses oversized values, malformed requests and non-integer incr without losing anything', async () => {
    const name = uniqueCluster('badinput');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
    const c = await client(zk.connectString, name);
    try {
      const leader = await cluster.waitForLeader(10_000);
      await c.put('k', 'original');
      const big = 'x'.repeat(256 * 1024 + 1);
      const tooBig = await cli(['put', 'k', '--stdin', '--zk', zk.connectString, '--cluster', name], 30_000, big);
      expect(tooBig.code).toBe(1);
      expect(oneLine(tooBig)).toMatch(/INVALID_ARGUMENT: value of 262145 bytes is over the limit of 262144 bytes/);
      const direct = new DirectMember(cluster.node(leader).address);
      try {
        const overServer = await direct.put('k', big);
        expect(overServer).toMatchObject({ code: 'INVALID_ARGUMENT' });
        const garbage = await direct.rawPut(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
        expect(garbage.code).toBe(pb.client.ErrorCode.INVALID_ARGUMENT);
        expect(garbage.message).toMatch(/cannot decode/);
        const emptyKey = await direct.put('', 'v');
        expect(emptyKey).toMatchObject({ code: 'INVALID_ARGUMENT' });
      } finally {
        direct.close();
      }
      const fits = await cli(['put', 'fits', '--stdin', '--zk', zk.connectString, '--cluster', name], 30_000, 'y'.repeat(200 * 1024));
      expect(fits.code).toBe(0);
      expect((await c.get('fits')).value.length).toBe(200 * 1024);
      const incr = await cli(['incr', 'k', '--zk', zk.connectString, '--cluster', name]);
      expect(incr.code).toBe(1);
      expect(oneLine(incr)).toMatch(/INVALID_ARGUMENT: value of "k" is not an integer/);
      const get = await cli(['get', 'k', '--json', '--zk', zk.connectString, '--cluster', name]);
      expect(get.code).toBe(0);
      expect(JSON.parse(get.stdout)).toMatchObject({ key: 'k', found: true, value: 'original', valueBase64: Buffer.from('original').toString('base64') });
      const missing = await cli(['get', 'nope', '--json', '--zk', zk.connectString, '--cluster', name]);
      expect(JSON.parse(missing.stdout)).toMatchObject({ key: 'nope', found: false });
      // Both members are still up.
      expect((await cluster.statuses()).length).toBe(2);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });

  it('a corrupt znode stops a node from starting with an error naming the znode, and changes nothing', async () => {
    const name = uniqueCluster('badznode');
    const session = connectZk({ connectString: zk.connectString });
    await session.waitConnected(5000);
    try {
      const paths = new ClusterPaths(name);
      const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
      await cluster.stop();
      await session.setData(paths.tail, new TextEncoder().encode('not a protobuf at all \u0000\u00ff'), -1);
      const port = await freePort();
      const r = await cli(['node', '--id', 'a', '--listen', `127.0.0.1:${port}`, '--data', join(scratch, 'badznode-a'), '--zk', zk.connectString, '--cluster', name]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`CORRUPT_ZNODE: corrupt znode ${paths.tail.replace(/[.]/g, '\\.')}`));
      const still = await session.getData(paths.tail);
      expect(new TextDecoder().decode(still.data)).toContain('not a protobuf');
    } finally {
      await session.close();
    }
  });

  it('a follower whose local WAL is corrupt in the middle names the file and offset, and rebuilds from ZooKeeper and its peer', async () => {
    const name = uniqueCluster('badwal');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
    const c = await client(zk.connectString, name);
    try {
      const leader = await cluster.waitForLeader(10_000);
      const followerId = cluster.ids().find((id) => id !== leader)!;
      let last = 0;
      for (let i = 0; i < 50; i++) last = (await c.put(`k${i}`, `v${i}`)).index;
      await cluster.waitForApplied(last, 10_000);
      await cluster.kill(followerId);
      const walDir = join(cluster.node(followerId).dataDir, 'wal');
      const file = join(walDir, (await readdir(walDir)).filter((f) => f.endsWith('.log')).sort()[0]!);
      const bytes = await readFile(file);
      const offset = Math.floor(bytes.length / 3);
      bytes[offset] = bytes[offset]! ^ 0xff;
      await writeFile(file, bytes);
      cluster.startNode(followerId);
      await cluster.waitForApplied(last, 15_000);
      const log = await readFile(cluster.node(followerId).logFile, 'utf8');
      expect(log).toMatch(/corrupt WAL record in [^ ]+wal-\d+\.log at offset \d+/);
      expect(log).toMatch(/rebuilding this node from ZooKeeper/);
      const direct = new DirectMember(cluster.node(followerId).address);
      try {
        expect(await direct.get('k49', 'stale')).toMatchObject({ found: true, value: 'v49' });
      } finally {
        direct.close();
      }
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
});
