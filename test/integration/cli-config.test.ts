// Issue 11 point 7 and issue 14 part 3: the command line and the configuration, through
// the real command. Every defect the issue lists has a test here (the WAL message is in
// test/unit/storage/wal-loss.test.ts): bad numbers refused with the flag and its range
// (exit 2, nothing started), every problem at once, `config check`, negative numbers as
// arguments, `get` writing raw bytes, and a cluster on IPv6 loopback.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childProcesses, type TrackedChild } from '../../src/harness/child-processes.js';
import { freePort } from '../../src/harness/free-port.js';
import { ProcessCluster, duoraftBin } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { configProblems, runCli } from './cli-run.js';
import { client, uniqueCluster } from './helpers.js';

let work: string;
/** One ZooKeeper for the tests that run nodes (the others refuse before any connection). */
let zk: LocalZooKeeper;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'duoraft-cli-'));
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('numeric flags: refused with the flag and its range, exit 2, nothing started', () => {
  it('put --timeout abc (was: a stack trace)', async () => {
    const r = await runCli(['put', 'k', 'v', '--timeout', 'abc']);
    expect(configProblems(r)).toEqual(['--timeout must be an integer from 1 to 3600000 (ms), not "abc"']);
  });

  it('put --timeout -5 and --timeout 0 (was: a misleading TIMEOUT)', async () => {
    for (const bad of ['-5', '0', '1.5', '1e3']) {
      const r = await runCli(['put', 'k', 'v', '--timeout', bad]);
      expect(configProblems(r)).toEqual([`--timeout must be an integer from 1 to 3600000 (ms), not "${bad}"`]);
    }
  });

  it('get --min-index abc (was: silently ignored)', async () => {
    const r = await runCli(['get', 'k', '--consistency', 'stale', '--min-index', 'abc']);
    expect(configProblems(r)).toEqual(['--min-index must be an integer from 0 to 9007199254740991, not "abc"']);
  });

  it('incr DELTA that is not an integer', async () => {
    for (const bad of ['abc', '1.5', '9007199254740993']) {
      const r = await runCli(['incr', 'n', bad]);
      expect(configProblems(r)).toEqual([`DELTA must be an integer from -9007199254740991 to 9007199254740991, not "${bad}"`]);
    }
  });

  it('node --zk-session-timeout -5 (was: silently replaced) and --zk-connect-timeout abc (was: "within NaN ms")', async () => {
    const data = join(work, 'never-created');
    const r = await runCli(['node', '--id', 'a', '--listen', '127.0.0.1:0', '--data', data, '--zk-session-timeout', '-5', '--zk-connect-timeout', 'abc']);
    expect(configProblems(r)).toEqual([
      '--zk-connect-timeout must be an integer from 0 to 600000 (ms), not "abc"',
      '--zk-session-timeout must be an integer from 1000 to 600000 (ms), not "-5"',
    ]);
    expect(existsSync(data)).toBe(false);
  });

  it('every problem at once: missing, malformed, unknown, repeated; from flags, environment and file', async () => {
    const file = join(work, 'bad.yaml');
    await writeFile(file, 'heartbeat-ms: fast\nlisten-on: 127.0.0.1:1\nfault-ack-before-commit: true\n');
    const r = await runCli(
      ['node', '--config', file, '--listen', '::1:7001', '--voters', 'a', '--bogus', '--timeout', '5', '--timeout', '6'],
      { env: { DUORAFT_ZK_SESSION_TIMEOUT: 'soon', DUORAFT_DATA: '' } },
    );
    const problems = configProblems(r);
    expect(problems).toEqual([
      `unknown flag --bogus (see duoraft node --help)`,
      `--timeout is given 2 times: give it once`,
      `--id is required (or DUORAFT_ID, or "id" in the config file): this voter id, a voter id (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)`,
      `--listen must be HOST:PORT (an IPv6 host in brackets: [::1]:7001), port 0 for any free port, not "::1:7001" (an IPv6 host goes in brackets: [::1]:7001)`,
      `--data is required (or DUORAFT_DATA, or "data" in the config file): data folder (local WAL), a folder name`,
      `--voters must be ID1,ID2: two different voter ids (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit), not "a"`,
      `DUORAFT_ZK_SESSION_TIMEOUT must be an integer from 1000 to 600000 (ms), not "soon"`,
      `heartbeat-ms in ${file} must be an integer from 1 to 60000 (ms), not "fast"`,
      `listen-on in ${file} is not a setting (settings are the flag names, e.g. zk-session-timeout)`,
      `fault-ack-before-commit in ${file} is not a setting (settings are the flag names, e.g. zk-session-timeout)`,
    ]);
  });

  it('rules between settings go the same way, naming the flags (the lease rule of notes/timing.md)', async () => {
    const r = await runCli(['node', '--id', 'a', '--listen', '127.0.0.1:0', '--data', join(work, 'x'), '--lease-duration-ms', '200', '--election-timeout-ms', '30']);
    expect(configProblems(r)).toEqual([
      'need tickMs <= heartbeatMs and 2*heartbeatMs <= electionTimeoutMs (set by --election-timeout-ms, --heartbeat-ms)',
      'lease rule broken: leaseDurationMs*(1+drift) = 210.0 must be below leaseWindowMs*(1-drift) = 57.0 (set by --lease-window-ms, --lease-duration-ms)',
    ]);
  });
});

describe('duoraft config check', () => {
  const nodeFlags = ['--id', 'a', '--data', './data/a'];

  it("prints the effective configuration with each value's source, secrets redacted, exit 0", async () => {
    const file = join(work, 'node.yaml');
    await writeFile(file, '# node a\nlisten: "[::1]:7001"\nzk-session-timeout: 6000\nvoters: [a, b]\nzk-user: ops\nzk-password: hunter2\ncluster: orders\n');
    const r = await runCli(['config', 'check', '--config', file, ...nodeFlags, '--zk-session-timeout', '7000', '--json'], {
      env: { DUORAFT_CLUSTER: 'billing', DUORAFT_HEARTBEAT_MS: '25', DUORAFT_TYPO: '1' },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).not.toContain('hunter2');
    const out = JSON.parse(r.stdout.toString()) as { valid: boolean; settings: Record<string, { value: unknown; source: string; where?: string }>; ignoredEnvironment: string[] };
    expect(out.valid).toBe(true);
    expect(out.settings['zk-session-timeout']).toEqual({ value: 7000, source: 'flag', where: '--zk-session-timeout' });
    expect(out.settings['cluster']).toEqual({ value: 'billing', source: 'env', where: 'DUORAFT_CLUSTER' });
    expect(out.settings['heartbeat-ms']).toEqual({ value: 25, source: 'env', where: 'DUORAFT_HEARTBEAT_MS' });
    expect(out.settings['listen']).toEqual({ value: '[::1]:7001', source: 'file', where: file });
    expect(out.settings['voters']).toEqual({ value: ['a', 'b'], source: 'file', where: file });
    expect(out.settings['zk-password']).toEqual({ value: '(redacted)', source: 'file', where: file });
    expect(out.settings['lease-window-ms']).toEqual({ value: 60, source: 'default' });
    expect(out.settings['advertise']).toEqual({ value: null, source: 'unset' });
    expect(out.ignoredEnvironment).toEqual(['DUORAFT_TYPO']);

    const table = await runCli(['config', 'check', '--config', file, ...nodeFlags]);
    expect(table.code).toBe(0);
    const text = table.stdout.toString();
    expect(text).toMatch(/^zk-password +\(redacted\) +file /m);
    expect(text).toMatch(/^id +a +flag$/m);
    expect(text).toMatch(/configuration is valid\n$/);
  });

  it('takes exactly the node flags, and refuses what node refuses; no flag switches a safety rule off', async () => {
    const ok = await runCli(['config', 'check', ...nodeFlags, '--listen', '127.0.0.1:0']);
    expect(ok.code).toBe(0);
    const fault = await runCli(['config', 'check', ...nodeFlags, '--listen', '127.0.0.1:0', '--fault-read-tail-before-fence']);
    expect(configProblems(fault)).toEqual(['unknown flag --fault-read-tail-before-fence (see duoraft config check --help)']);
    const bad = await runCli(['config', 'check', ...nodeFlags, '--listen', '127.0.0.1:70000', '--zk-user', 'ops']);
    expect(configProblems(bad)).toEqual([
      '--listen must be HOST:PORT (an IPv6 host in brackets: [::1]:7001), port 0 for any free port, not "127.0.0.1:70000" (port 70000 is outside 0..65535)',
    ]);
    const rule = await runCli(['config', 'check', ...nodeFlags, '--listen', '127.0.0.1:1', '--zk-user', 'ops', '--token', 'sekrit-token']);
    expect(configProblems(rule)).toEqual([
      '--zk-user and --zk-password go together (env DUORAFT_ZK_USER and DUORAFT_ZK_PASSWORD)',
      'a cluster token needs TLS (--tls-ca): without it the token would travel in clear text',
    ]);
    expect(rule.stderr).not.toContain('sekrit-token');
  });
});

describe('against a running cluster', () => {
  let cluster: ProcessCluster;
  let name: string;
  const common = (): string[] => ['--zk', zk.connectString, '--cluster', name];

  beforeAll(async () => {
    name = uniqueCluster('cli');
    cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('incr n -5 and incr n -- -5 both subtract (was: -- -5 added 1)', async () => {
    expect((await runCli(['incr', 'n', '10', ...common()])).stdout.toString()).toBe('10\n');
    const plain = await runCli(['incr', 'n', '-5', ...common()]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.toString()).toBe('5\n');
    const dashed = await runCli(['incr', 'n', ...common(), '--', '-5']);
    expect(dashed.code).toBe(0);
    expect(dashed.stdout.toString()).toBe('0\n');
    const extra = await runCli(['incr', 'n', ...common(), '--', '-5', '7']);
    expect(configProblems(extra)).toEqual(['unexpected argument "7" (see duoraft incr --help)']);
  });

  it('get writes a binary value as its exact bytes to a pipe, and --json carries it as base64 (was: 474,843 mangled bytes)', async () => {
    const value = randomBytes(262_144);
    const file = join(work, 'blob');
    await writeFile(file, value);
    expect((await runCli(['put', 'blob', '--value-file', file, ...common()])).code).toBe(0);

    const raw = await runCli(['get', 'blob', ...common()]);
    expect(raw.code).toBe(0);
    expect(raw.stdout.length).toBe(262_144);
    expect(raw.stdout.equals(value)).toBe(true);

    const json = JSON.parse((await runCli(['get', 'blob', '--json', ...common()])).stdout.toString()) as Record<string, unknown>;
    expect(json['value']).toBeUndefined();
    expect(Buffer.from(String(json['valueBase64']), 'base64').equals(value)).toBe(true);
    const cas = JSON.parse((await runCli(['cas', 'blob', 'not-it', 'new', '--json', ...common()])).stdout.toString()) as Record<string, unknown>;
    expect(cas).toMatchObject({ succeeded: false });
    expect(cas['current']).toBeUndefined();
    expect(Buffer.from(String(cas['currentBase64']), 'base64').equals(value)).toBe(true);

    // Text: `value` too; to a pipe no newline is added.
    expect((await runCli(['put', 'greeting', 'héllo', ...common()])).code).toBe(0);
    expect((await runCli(['get', 'greeting', ...common()])).stdout.toString()).toBe('héllo');
    const text = JSON.parse((await runCli(['get', 'greeting', '--json', ...common()])).stdout.toString()) as Record<string, unknown>;
    expect(text).toMatchObject({ key: 'greeting', found: true, value: 'héllo', valueBase64: Buffer.from('héllo').toString('base64') });
    // An absent key writes nothing to the pipe.
    const missing = await runCli(['get', 'absent', ...common()]);
    expect(missing.code).toBe(0);
    expect(missing.stdout.length).toBe(0);
    expect(missing.stderr).toBe('(not found)\n');
  });
});

/** Whether this machine can listen on ::1. */
function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port: 0, host: '::1' }, () => server.close(() => resolve(true)));
  });
}

describe('IPv6 listen and advertise addresses', () => {
  it('two voters on [::1] elect a leader, replicate, hand over and serve the CLI', async (ctx) => {
    if (!(await hasIpv6Loopback())) {
      ctx.skip('this machine has no IPv6 loopback (::1): the IPv6 test cannot run here');
    }
    const name = uniqueCluster('ipv6');
    const children: TrackedChild[] = [];
    const common = ['--zk', zk.connectString, '--cluster', name];
    try {
      const portB = await freePort('::1');
      const nodes = [
        ['--id', 'a', '--listen', '[::1]:0'],
        ['--id', 'b', '--listen', `[::1]:${portB}`, '--advertise', `[::1]:${portB}`],
      ];
      for (const args of nodes) {
        children.push(childProcesses.spawn(process.execPath, [duoraftBin, 'node', ...args, '--data', join(work, `v6-${args[1]}`), '--voters', 'a,b', ...common], { stdio: 'ignore' }));
      }
      // The first node to start creates the cluster's znodes.
      const c = await waitFor(() => client(zk.connectString, name));
      try {
        const { index } = await c.put('k', 'v6');
        const members = await waitFor(async () => {
          const all = await c.status();
          return all.length === 2 && all.every((m) => m.appliedIndex >= index) ? all : null;
        });
        for (const m of members) expect(m.address).toMatch(/^\[::1\]:\d+$/);
        expect(members.find((m) => m.id === 'b')?.address).toBe(`[::1]:${portB}`);
        const before = members.find((m) => m.role === 'leader')?.id;
        const handed = await runCli(['admin', 'transfer-leader', '--json', ...common]);
        expect(handed.code).toBe(0);
        expect(JSON.parse(handed.stdout.toString())).toMatchObject({ leaderId: before === 'a' ? 'b' : 'a' });
        const got = await runCli(['get', 'k', '--consistency', 'stale', ...common]);
        expect(got.stdout.toString()).toBe('v6');
      } finally {
        await c.close();
      }
    } finally {
      for (const child of children) {
        if (child.running()) childProcesses.kill(child.pid, 'SIGKILL');
        await childProcesses.waitForExit(child.pid, 5000);
      }
    }
  });
});

async function waitFor<T>(probe: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe().catch(() => null);
    if (got !== null) return got;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
