// A three-member etcd cluster on loopback for the comparison bench: Debian's etcd-server
// (3.4), default timing (heartbeat 100 ms, election timeout 1 s), each member on free
// ports with its own data folder, started, killed (SIGKILL) and restarted by pid like our
// nodes. `node scripts/setup.mjs --with-etcd` installs it.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError } from '../../common/errors.js';
import { childProcesses, type TrackedChild } from '../child-processes.js';
import { freePorts } from '../free-port.js';
import { EtcdClient } from './etcd-client.js';

const MEMBERS = ['e1', 'e2', 'e3'] as const;

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  child: TrackedChild | null;
  client: EtcdClient;
  memberId: number;
}

/** etcd is not installed; the message says how to get it. */
export class EtcdNotFoundError extends ConfigError {
  constructor() {
    super('etcd is not installed: run `node scripts/setup.mjs --with-etcd` (or apt-get install -y etcd-server), or put an etcd 3.4 binary on PATH');
  }
}

export function etcdBinary(): string {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new EtcdNotFoundError();
  return 'etcd';
}

export function etcdVersion(): string {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  return /etcd Version: (\S+)/.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

export class EtcdCluster {
  private readonly members = new Map<string, Member>();
  private log: WriteStream | null = null;

  private constructor(
    private readonly bin: string,
    readonly workDir: string,
  ) {}

  static async start(): Promise<EtcdCluster> {
    const bin = etcdBinary();
    const workDir = await mkdtemp(join(tmpdir(), 'duoraft-etcd-'));
    const c = new EtcdCluster(bin, workDir);
    try {
      const ports = await freePorts(MEMBERS.length * 2);
      MEMBERS.forEach((name, k) => {
        const clientPort = ports[2 * k]!;
        c.members.set(name, { name, clientPort, peerPort: ports[2 * k + 1]!, child: null, client: new EtcdClient(`127.0.0.1:${clientPort}`), memberId: 0 });
      });
      c.log = createWriteStream(join(workDir, 'etcd.log'));
      for (const name of MEMBERS) c.startMember(name);
      await c.learnMemberIds(30_000);
      await c.waitForLeader(30_000);
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  names(): string[] {
    return [...this.members.keys()];
  }

  endpoint(name: string): string {
    return `127.0.0.1:${this.member(name).clientPort}`;
  }

  nameOf(memberId: number): string | undefined {
    return [...this.members.values()].find((m) => m.memberId === memberId)?.name;
  }

  private member(name: string): Member {
    const m = this.members.get(name);
    if (!m) throw new Error(`no etcd member ${name}`);
    return m;
  }

  startMember(name: string): void {
    const m = this.member(name);
    if (m.child?.running()) throw new Error(`etcd member ${name} is already running`);
    const initialCluster = [...this.members.values()].map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    const args = [
      '--name', name,
      '--data-dir', join(this.workDir, name),
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `duoraft-bench-${process.pid}`,
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
    const child = childProcesses.spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.log) {
      child.child.stdout?.pipe(this.log, { end: false });
      child.child.stderr?.pipe(this.log, { end: false });
    }
    m.child = child;
  }

  running(name: string): boolean {
    return this.member(name).child?.running() ?? false;
  }

  /** SIGKILL, waiting until the process has exited. */
  async kill(name: string): Promise<void> {
    const c = this.member(name).child;
    if (!c?.running()) return;
    childProcesses.kill(c.pid, 'SIGKILL');
    await childProcesses.waitForExit(c.pid, 10_000);
  }

  /** The leader every running member agrees on, waiting up to timeoutMs. */
  async waitForLeader(timeoutMs: number, options: { not?: string } = {}): Promise<{ name: string; term: number }> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const running = [...this.members.values()].filter((m) => m.child?.running());
      const ss = await Promise.all(running.map((m) => m.client.status(1000).catch(() => null)));
      const leaders = new Set(ss.map((s) => s?.leader ?? 0));
      const first = ss[0];
      if (first && ss.every((s) => s !== null) && leaders.size === 1 && first.leader !== 0) {
        const name = this.nameOf(first.leader);
        if (name !== undefined && name !== options.not) return { name, term: Math.max(...ss.map((s) => s!.raftTerm)) };
      }
      last = JSON.stringify(ss);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`etcd: no agreed leader within ${timeoutMs} ms; last statuses: ${last}`);
  }

  /** Each member's id, from its own Status answer (it answers before a leader is elected). */
  private async learnMemberIds(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const m of this.members.values()) {
      while (m.memberId === 0) {
        const s = await m.client.status(1000).catch(() => null);
        if (s) m.memberId = s.memberId;
        else if (Date.now() > deadline) throw new Error(`etcd member ${m.name} did not answer within ${timeoutMs} ms (log: ${join(this.workDir, 'etcd.log')})`);
        else await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async stop(): Promise<void> {
    for (const m of this.members.values()) {
      m.client.close();
      if (m.child?.running()) {
        childProcesses.kill(m.child.pid, 'SIGKILL');
        await childProcesses.waitForExit(m.child.pid, 5000);
      }
    }
    this.log?.end();
    await rm(this.workDir, { recursive: true, force: true });
  }
}
