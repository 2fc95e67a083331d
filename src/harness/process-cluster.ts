// A two-voter cluster of real `duoraft node` processes on loopback, for integration tests,
// the demo, chaos runs and benchmarks. Each node keeps its port and data folder across
// restarts. Optional TCP proxies sit in front of each node's peer address (to cut the link
// between the voters while clients still reach both) and between each node and ZooKeeper
// (to cut one node off from ZooKeeper). Only processes it started are ever signalled, by pid.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvClient, kvService } from '../server/kv-service.js';
import { type ClientSecurity, memberChannelSecurity } from '../transport/channel-security.js';
import { childProcesses, type TrackedChild } from './child-processes.js';
import { freePorts } from './free-port.js';
import { type ProxyCutMode, startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { packageRoot } from './package-root.js';

export interface ProcessClusterOptions {
  /** ZooKeeper connect string the nodes use (through their own proxy when zkProxies). */
  readonly zk: string;
  readonly cluster: string;
  readonly ids?: readonly string[];
  /** Where data folders and logs go (default: a new temp folder, removed by stop()). */
  readonly workDir?: string;
  /** A TCP proxy in front of each node's peer address. */
  readonly peerProxies?: boolean;
  /** Each node reaches ZooKeeper through its own TCP proxies (one per server of the connect string). */
  readonly zkProxies?: boolean;
  /** Extra arguments for every `duoraft node` (timing flags, faults). */
  readonly nodeArgs?: readonly string[];
  /** Flags for the Node.js runtime of every node, before the script (profiling: `--cpu-prof`, `--cpu-prof-dir=DIR`). */
  readonly runtimeFlags?: readonly string[];
  /** Test only: run a deliberately broken build (src/server/broken-builds.ts) instead of duoraft node. */
  readonly brokenBuild?: string;
  /** Extra arguments for one node (its own TLS certificate, say). */
  readonly nodeArgsFor?: (id: string) => readonly string[];
  /** How the cluster's own status calls authenticate (needed when the nodes run with TLS). */
  readonly clientSecurity?: ClientSecurity;
  readonly logLevel?: string;
  /** Ids given a port and a data folder but not started (startNode starts them later). */
  readonly deferred?: readonly string[];
  /** Wait for a leader after starting (default true). */
  readonly waitForLeader?: boolean;
  /** Nodes placed elsewhere than loopback (network namespaces): their addresses and launcher, by id. */
  readonly placement?: ReadonlyMap<string, NodePlacement>;
  /** Called with every line a node writes (stdout and stderr), from its first start on. */
  readonly onLine?: (id: string, line: string) => void;
}

/** Where a node runs and the addresses it uses, when not simply on loopback. */
export interface NodePlacement {
  readonly listen: string;
  /** What clients use (and what acknowledgements name: `by`). */
  readonly advertise: string;
  readonly peerAdvertise: string;
  readonly zk: string;
  /** The harness's own status calls go here, past whatever faults the clients' path suffers. */
  readonly statusAddress: string;
  /**
   * A command prefix that runs the node elsewhere and execs it in place (`ip netns exec
   * NAME`), so the pid the harness signals is the node's own.
   */
  readonly launcher: readonly string[];
}

export interface MemberView {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly leaderId: string;
  /** Listeners only: who feeds it and how far behind it is. */
  readonly listener?: {
    readonly upstream: string;
    readonly depth: number;
    readonly lagEntries: number;
    readonly lagMs: number;
    /** The last batches it applied and when (machine monotonic clock, microseconds), oldest first. */
    readonly recentApplies: ReadonlyArray<{ readonly lastIndex: number; readonly atUs: number }>;
  };
}

export interface NodeHandle {
  readonly id: string;
  readonly port: number;
  /** Where clients reach it (its advertised address). */
  readonly address: string;
  /** Where the harness asks it for its status (the same as address on loopback). */
  readonly statusAddress: string;
  readonly placement: NodePlacement | null;
  readonly dataDir: string;
  readonly logFile: string;
  readonly peerProxy: TcpProxy | null;
  /** One per ZooKeeper server, in connect-string order (empty without zkProxies). */
  readonly zkProxies: readonly TcpProxy[];
  child: TrackedChild | null;
  log: WriteStream | null;
  starts: number;
}

const repoRoot = packageRoot(import.meta.url);
export const duoraftBin = join(repoRoot, 'bin', 'duoraft.js');
/** The test-only entry that runs a node with a deliberately broken build. */
const brokenNodeEntry = join(repoRoot, 'dist', 'cli', 'broken-node.js');

/** Lines of a node's log an error quotes. */
const EXIT_REPORT_LINES = 8;
/** How long an error waits for an exited node's last output to reach its log file. */
const LOG_SETTLE_MS = 100;

export class ProcessCluster {
  readonly nodes = new Map<string, NodeHandle>();
  private readonly statusClients = new Map<string, InstanceType<typeof KvClient>>();
  private ownsWorkDir = false;

  private constructor(
    readonly options: ProcessClusterOptions,
    readonly workDir: string,
  ) {}

  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'duoraft-cluster-')));
    const c = new ProcessCluster(options, workDir);
    c.ownsWorkDir = options.workDir === undefined;
    try {
      const ids = options.ids ?? (options.placement ? [...options.placement.keys()] : ['a', 'b']);
      if (options.placement && (options.peerProxies || options.zkProxies)) throw new Error('placed nodes take no TCP proxies: their faults are the network\'s');
      const ports = await freePorts(ids.length);
      const zkServers = zkServersOf(options.zk);
      for (const [k, id] of ids.entries()) {
        const port = ports[k]!;
        const placement = options.placement?.get(id) ?? null;
        const peerProxy = options.peerProxies ? await startTcpProxy({ host: '127.0.0.1', port }) : null;
        const zkProxies: TcpProxy[] = [];
        if (options.zkProxies) for (const server of zkServers) zkProxies.push(await startTcpProxy(server));
        const dataDir = join(workDir, id);
        await mkdir(dataDir, { recursive: true });
        c.nodes.set(id, {
          id,
          port,
          address: placement?.advertise ?? `127.0.0.1:${port}`,
          statusAddress: placement?.statusAddress ?? `127.0.0.1:${port}`,
          placement,
          dataDir,
          logFile: join(workDir, `${id}.log`),
          peerProxy,
          zkProxies,
          child: null,
          log: null,
          starts: 0,
        });
      }
      for (const id of ids) if (!options.deferred?.includes(id)) c.startNode(id);
      if (options.waitForLeader !== false) await c.waitForLeader(20_000);
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  node(id: string): NodeHandle {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  ids(): string[] {
    return [...this.nodes.keys()];
  }

  /** Starts the node's process (it must not be running). */
  startNode(id: string): void {
    const n = this.node(id);
    if (n.child?.running()) throw new Error(`node ${id} is already running`);
    const p = n.placement;
    const zk = p ? p.zk : n.zkProxies.length > 0 ? n.zkProxies.map((proxy) => proxy.address).join(',') + chrootOf(this.options.zk) : this.options.zk;
    const args = [
      ...(this.options.runtimeFlags ?? []),
      ...(this.options.brokenBuild ? [brokenNodeEntry, '--broken', this.options.brokenBuild] : [duoraftBin]),
      'node',
      '--id', id,
      '--cluster', this.options.cluster,
      '--zk', zk,
      '--listen', p ? p.listen : n.address,
      '--data', n.dataDir,
      '--log-level', this.options.logLevel ?? 'info',
      ...(p ? ['--advertise', p.advertise, '--peer-advertise', p.peerAdvertise] : []),
      ...(n.peerProxy ? ['--peer-advertise', n.peerProxy.address] : []),
      ...(this.options.nodeArgs ?? []),
      ...(this.options.nodeArgsFor?.(id) ?? []),
    ];
    n.log?.end();
    n.log = createWriteStream(n.logFile, { flags: 'a' });
    n.log.write(`--- start ${++n.starts} ---\n`);
    const [command, ...prefix] = [...(p?.launcher ?? []), process.execPath];
    const child = childProcesses.spawn(command!, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.child.stdout?.pipe(n.log, { end: false });
    child.child.stderr?.pipe(n.log, { end: false });
    const onLine = this.options.onLine;
    if (onLine) {
      for (const stream of [child.child.stdout, child.child.stderr]) {
        if (stream) splitLines(stream, (line) => onLine(id, line));
      }
    }
    n.child = child;
  }

  running(id: string): boolean {
    return this.node(id).child?.running() ?? false;
  }

  pid(id: string): number | null {
    const c = this.node(id).child;
    return c?.running() ? c.pid : null;
  }

  /** Sends a signal to the node's process; SIGKILL and SIGTERM wait until it has exited. */
  async signal(id: string, signal: NodeJS.Signals, exitTimeoutMs = 10_000): Promise<void> {
    const c = this.node(id).child;
    if (!c?.running()) return;
    childProcesses.kill(c.pid, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      const exited = await childProcesses.waitForExit(c.pid, exitTimeoutMs);
      if (!exited) {
        childProcesses.kill(c.pid, 'SIGKILL');
        await childProcesses.waitForExit(c.pid, exitTimeoutMs);
      }
    }
  }

  kill(id: string): Promise<void> {
    return this.signal(id, 'SIGKILL');
  }

  pause(id: string): Promise<void> {
    return this.signal(id, 'SIGSTOP');
  }

  resume(id: string): Promise<void> {
    return this.signal(id, 'SIGCONT');
  }

  /** Exit code of the node's last process once it exited (waits up to timeoutMs). */
  async exitOf(id: string, timeoutMs: number): Promise<{ code: number | null; signal: string | null } | null> {
    const c = this.node(id).child;
    if (!c) return null;
    const r = await Promise.race([c.exited, new Promise<null>((res) => setTimeout(() => res(null), timeoutMs).unref())]);
    return r;
  }

  /** Kills (if running) and starts the node again; with wipe, its data folder is emptied first. */
  async restart(id: string, options: { wipe?: boolean } = {}): Promise<void> {
    await this.kill(id);
    if (options.wipe) await this.wipe(id);
    this.startNode(id);
  }

  /** Empties the data folder of a node that is not running (its disk is gone). */
  async wipe(id: string): Promise<void> {
    if (this.running(id)) throw new Error(`node ${id} is running: stop it before deleting its data folder`);
    const n = this.node(id);
    await rm(n.dataDir, { recursive: true, force: true });
    await mkdir(n.dataDir, { recursive: true });
  }

  cutPeerLinks(mode: ProxyCutMode = 'reset'): void {
    for (const n of this.nodes.values()) {
      if (!n.peerProxy) throw new Error('cluster started without peerProxies');
      n.peerProxy.cut(mode);
    }
  }

  healPeerLinks(): void {
    for (const n of this.nodes.values()) n.peerProxy?.heal();
  }

  /** Cuts the node off from every ZooKeeper server. */
  cutZk(id: string, mode: ProxyCutMode = 'reset'): void {
    const proxies = this.node(id).zkProxies;
    if (proxies.length === 0) throw new Error('cluster started without zkProxies');
    for (const p of proxies) p.cut(mode);
  }

  healZk(id: string): void {
    for (const p of this.node(id).zkProxies) p.heal();
  }

  /** One member's own view (Status RPC), or null when it does not answer. */
  async memberStatus(id: string, timeoutMs = 1000): Promise<MemberView | null> {
    const n = this.node(id);
    if (!n.child?.running()) return null;
    let client = this.statusClients.get(id);
    if (!client) {
      const security = memberChannelSecurity(this.options.cluster, this.options.clientSecurity ?? {}, n.statusAddress);
      client = new KvClient(n.statusAddress, security.credentials, security.options);
      this.statusClients.set(id, client);
    }
    const def = kvService.status;
    const c = client;
    return new Promise((resolve) => {
      c.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, {}, { deadline: Date.now() + timeoutMs }, (err, res) => {
        const m = res?.member;
        if (err || !m || res?.error?.code) return resolve(null);
        resolve({
          id: m.id ?? id,
          role: m.role ?? 'unknown',
          term: m.term ?? 0,
          commitIndex: m.commitIndex ?? 0,
          appliedIndex: m.appliedIndex ?? 0,
          leaderId: m.leaderId ?? '',
          ...(m.listener
            ? {
                listener: {
                  upstream: m.listener.upstream ?? '',
                  depth: m.listener.depth ?? 0,
                  lagEntries: m.listener.lagEntries ?? 0,
                  lagMs: m.listener.lagMs ?? 0,
                  recentApplies: (m.listener.recentApplies ?? []).map((b) => ({ lastIndex: b.lastIndex ?? 0, atUs: b.atUs ?? 0 })),
                },
              }
            : {}),
        });
      });
    });
  }

  async statuses(): Promise<MemberView[]> {
    const all = await Promise.all(this.ids().map((id) => this.memberStatus(id)));
    return all.filter((s): s is MemberView => s !== null);
  }

  /** The id of the leader that its follower (if up) agrees on, waiting up to timeoutMs. */
  async waitForLeader(timeoutMs: number, options: { not?: string; minTerm?: number } = {}): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      // Every node started has exited (a bad flag, a bad configuration): no leader can come;
      // say why now rather than after the whole timeout.
      const started = this.ids().filter((id) => this.node(id).child !== null);
      if (started.length > 0 && started.every((id) => !this.running(id))) {
        throw new Error(`no leader: every node exited\n${await this.exitReports(started)}`);
      }
      const ss = await this.statuses();
      // Every running member must answer (one still starting does not yet), except the one
      // we are told to disregard (it may be paused).
      const mustAnswer = this.ids().filter((id) => this.running(id) && id !== options.not);
      if (!mustAnswer.every((id) => ss.some((s) => s.id === id))) {
        last = JSON.stringify(ss);
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const leaders = ss.filter((s) => s.role === 'leader' && s.id !== options.not && s.term >= (options.minTerm ?? 0));
      const best = leaders.sort((x, y) => y.term - x.term)[0];
      if (best && ss.every((s) => s.id === best.id || s.term < best.term || s.leaderId === best.id || s.role !== 'follower')) {
        return best.id;
      }
      last = JSON.stringify(ss);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no leader within ${timeoutMs} ms; last statuses: ${last}\n${await this.exitReports(this.ids().filter((id) => this.node(id).child !== null))}`);
  }

  /** For an error: each node's state (running, or how it exited) and the end of its log. */
  private async exitReports(ids: readonly string[]): Promise<string> {
    const reports: string[] = [];
    for (const id of ids) {
      const n = this.node(id);
      let state = 'running';
      if (n.child && !n.child.running()) {
        const exit = await n.child.exited;
        state = `exited (code ${exit.code ?? '-'}, signal ${exit.signal ?? '-'})`;
        // Its last output may still be on its way from the pipe to the log file.
        await new Promise((r) => setTimeout(r, LOG_SETTLE_MS));
      }
      const text = await readFile(n.logFile, 'utf8').catch(() => '');
      const tail = text.trimEnd().split('\n').slice(-EXIT_REPORT_LINES).join('\n');
      reports.push(`--- node ${id}: ${state}; the end of ${n.logFile}:\n${tail}`);
    }
    return reports.join('\n');
  }

  /** Waits until every running member has applied at least index. */
  async waitForApplied(index: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ss = await this.statuses();
      const running = this.ids().filter((id) => this.running(id)).length;
      if (ss.length === running && ss.every((s) => s.appliedIndex >= index)) return;
      if (Date.now() > deadline) throw new Error(`members did not apply ${index} within ${timeoutMs} ms: ${JSON.stringify(ss)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    for (const c of this.statusClients.values()) c.close();
    this.statusClients.clear();
    for (const n of this.nodes.values()) {
      if (n.child?.running()) {
        childProcesses.kill(n.child.pid, 'SIGKILL');
        await childProcesses.waitForExit(n.child.pid, 5000);
      }
      n.log?.end();
      await n.peerProxy?.close();
      for (const p of n.zkProxies) await p.close();
    }
    if (this.ownsWorkDir) await rm(this.workDir, { recursive: true, force: true });
  }
}

/** The servers of a connect string 'h1:p1,h2:p2[/chroot]'. */
function zkServersOf(connect: string): Array<{ host: string; port: number }> {
  const hosts = connect.split('/')[0] ?? '';
  return hosts
    .split(',')
    .filter((h) => h.trim() !== '')
    .map((hostPort) => {
      const i = hostPort.lastIndexOf(':');
      return { host: hostPort.slice(0, i).trim(), port: Number(hostPort.slice(i + 1)) };
    });
}

/** '/chroot' of a connect string, or ''. */
function chrootOf(connect: string): string {
  const i = connect.indexOf('/');
  return i === -1 ? '' : connect.slice(i);
}

/** Calls onLine for every complete line of a text stream. A partial line waits (bounded) for its end. */
function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  const maxPartial = 1 << 20;
  let partial = '';
  stream.on('data', (chunk: Buffer | string) => {
    const text = partial + chunk.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    // A line longer than the bound is passed on in pieces rather than held without limit.
    if (partial.length > maxPartial) {
      lines.push(partial);
      partial = '';
    }
    for (const line of lines) if (line !== '') onLine(line);
  });
}
