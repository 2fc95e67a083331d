// A ZooKeeper ensemble on loopback: N QuorumPeerMain JVMs with distinct free client,
// peer and election ports, one temp directory each (zoo.cfg, data/myid, server.log)
// under one root that stop() removes.
//
// With proxiedQuorumLinks, each server reaches the others' quorum (peer) ports through
// TCP proxies of its own: its zoo.cfg names a proxy's port for every other server (its
// own line keeps its real port, which it binds). A follower's link to its leader then runs
// through a proxy that can be held: the follower falls behind and serves stale reads,
// as a real follower does behind a slow network or a stalled leader. Election ports stay
// direct.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../common/logger.js';
import { freePorts } from './free-port.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { findZooKeeperJar, javaExecutable } from './zk-java.js';
import { serverMode } from './zk-four-letter.js';
import { quorumMainClass, renderZooCfg, ZooKeeperServerProcess } from './zk-server-process.js';
import { commonZooCfg, defaultTuning, type ZooKeeperTuning } from './zk-standalone.js';

export interface EnsembleMember {
  /** The server's myid (1-based). */
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly connectString: string;
  /** Pid of the running JVM; -1 while stopped or killed. */
  readonly pid: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** SIGKILL; data stays. */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after a bound; data stays (the ensemble's stop() removes it). */
  stop(): Promise<void>;
  /** Starts again with the same ports and data (stopping it first if it runs); waits until it serves again. */
  restart(): Promise<void>;
  /** SIGSTOP; resolves once the process is really stopped. */
  pause(): Promise<void>;
  /** SIGCONT; resolves once it runs again. */
  resume(): Promise<void>;
  mode(): Promise<string | null>;
  logTail(lines?: number): string;
}

export interface EnsembleOptions extends ZooKeeperTuning {
  /** Route every server's links to the others' quorum ports through proxies (see above), for holdQuorumLinks. */
  readonly proxiedQuorumLinks?: boolean;
  /** More zoo.cfg lines for every server (for example ['localSessionsEnabled', 'true']). */
  readonly extraConfig?: ReadonlyArray<readonly [string, string | number]>;
}

export interface LocalEnsemble {
  readonly provider: 'local';
  /** 'host:p1,host:p2,host:p3' */
  readonly connectString: string;
  readonly servers: readonly EnsembleMember[];
  /** The member that currently reports Mode: leader, or null. */
  leader(): Promise<EnsembleMember | null>;
  /**
   * Holds every quorum link member `id` opened to another server (with proxiedQuorumLinks):
   * nothing passes either way and nothing is closed. A follower held this way falls behind
   * its leader (which drops it after syncLimit ticks: 2 s here). Returns the release.
   */
  holdQuorumLinks(id: number): () => void;
  /** Stops every member and removes the directories. Idempotent. */
  stop(): Promise<void>;
}

const pollMs = 50;

/** Polls until every running member serves and exactly one is the leader. */
export async function waitForQuorum(members: readonly EnsembleMember[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let modes: Array<string | null> = [];
  for (;;) {
    modes = await Promise.all(members.map((m) => (m.pid === -1 ? Promise.resolve('down') : m.mode())));
    const running = modes.filter((m) => m !== 'down');
    if (running.every((m) => m !== null) && modes.filter((m) => m === 'leader').length === 1) return;
    if (Date.now() >= deadline) {
      const tails = members.map((m) => `--- server ${m.id} (${m.logFile}):\n${m.logTail(15)}`).join('\n');
      throw new Error(`ensemble did not form within ${timeoutMs} ms (modes: ${modes.join(', ')})\n${tails}`);
    }
    await new Promise((r) => setTimeout(r, pollMs).unref());
  }
}

export async function startEnsemble(size = 3, options: EnsembleOptions = {}): Promise<LocalEnsemble> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`ensemble size must be a positive integer, got ${size}`);
  const logger = options.logger ?? silentLogger;
  const installation = findZooKeeperJar(options.env ?? {});
  const java = javaExecutable(options.env ?? {});
  const host = '127.0.0.1';
  const ports = await freePorts(size * 3, host);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'duoraft-zk-ensemble-'));
  const startTimeoutMs = options.startTimeoutMs ?? defaultTuning.startTimeoutMs;
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const clientPort = (id: number): number => ports[(id - 1) * 3];
  const quorumPort = (id: number): number => ports[(id - 1) * 3 + 1];
  const electionPort = (id: number): number => ports[(id - 1) * 3 + 2];
  /** quorumProxies.get(from)?.get(to): the proxy `from` reaches `to`'s quorum port through. */
  const quorumProxies = new Map<number, Map<number, TcpProxy>>();
  const closeProxies = async (): Promise<void> => {
    await Promise.all([...quorumProxies.values()].flatMap((m) => [...m.values()]).map((p) => p.close()));
  };
  if (options.proxiedQuorumLinks) {
    for (const from of ids) {
      const mine = new Map<number, TcpProxy>();
      quorumProxies.set(from, mine);
      for (const to of ids) if (to !== from) mine.set(to, await startTcpProxy({ host, port: quorumPort(to) }, { host, logger }));
    }
  }
  /** The server lines as server `from` sees them. */
  const peerLines = (from: number): Array<[string, string]> =>
    ids.map((to) => [`server.${to}`, `${host}:${quorumProxies.get(from)?.get(to)?.port ?? quorumPort(to)}:${electionPort(to)}`]);

  const processes: ZooKeeperServerProcess[] = [];
  const members: EnsembleMember[] = ids.map((id) => {
    const dir = path.join(root, `server-${id}`);
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'myid'), `${id}\n`);
    const configFile = path.join(dir, 'zoo.cfg');
    const port = clientPort(id);
    fs.writeFileSync(
      configFile,
      renderZooCfg([
        ...commonZooCfg(options, dataDir, host, port),
        // Ticks: 20 × 200 ms for a follower to connect and sync, 10 × 200 ms to stay in sync.
        ['initLimit', 20],
        ['syncLimit', 10],
        ...(options.extraConfig ?? []).map(([k, v]): [string, string | number] => [k, v]),
        ...peerLines(id),
      ]),
    );
    const logFile = path.join(dir, 'server.log');
    const proc = new ZooKeeperServerProcess({
      name: `zookeeper-${id}@${port}`,
      mainClass: quorumMainClass,
      configFile,
      logFile,
      host,
      port,
      installation,
      java,
      ...(options.heapMb !== undefined ? { heapMb: options.heapMb } : {}),
      logger,
    });
    processes.push(proc);
    return {
      id,
      host,
      port,
      connectString: `${host}:${port}`,
      get pid() {
        return proc.pid;
      },
      dataDir,
      logFile,
      kill: () => proc.kill(),
      stop: () => proc.stop(),
      async restart() {
        await proc.stop();
        await proc.start(startTimeoutMs);
      },
      pause: () => proc.pause(),
      resume: () => proc.resume(),
      mode: () => serverMode(host, port),
      logTail: (lines = 30) => proc.logTail(lines),
    };
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(processes.map((p) => p.stop()));
    await closeProxies();
    fs.rmSync(root, { recursive: true, force: true });
  };

  try {
    // All members must run before any can serve: a member only serves once a quorum formed.
    await Promise.all(processes.map((p) => p.start(startTimeoutMs)));
    await waitForQuorum(members, startTimeoutMs);
  } catch (err) {
    await Promise.all(processes.map((p) => p.kill()));
    await closeProxies();
    throw err;
  }
  logger.info({ connectString: members.map((m) => m.connectString).join(','), root }, 'local ZooKeeper ensemble serving');

  return {
    provider: 'local',
    connectString: members.map((m) => m.connectString).join(','),
    servers: members,
    async leader() {
      for (const m of members) if (m.pid !== -1 && (await m.mode()) === 'leader') return m;
      return null;
    },
    holdQuorumLinks(id: number) {
      const proxies = quorumProxies.get(id);
      if (!proxies) throw new Error(`holdQuorumLinks(${id}): start the ensemble with proxiedQuorumLinks (and an id in 1..${size})`);
      for (const p of proxies.values()) p.hold();
      return () => {
        for (const p of proxies.values()) p.release();
      };
    },
    stop,
  };
}
