// A standalone ZooKeeper server in a fresh temp directory, on a free loopback port.
// Tuned for tests: a 200 ms tick (so a 400 ms session timeout is allowed and expiry is
// quick), no admin server, every four-letter word allowed, no connection limit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type Logger } from '../common/logger.js';
import { freePort } from './free-port.js';
import { findZooKeeperJar, javaExecutable, type ZooKeeperEnv, type ZooKeeperJvmProfile } from './zk-java.js';
import { serverMode } from './zk-four-letter.js';
import { renderZooCfg, standaloneMainClass, ZooKeeperServerProcess } from './zk-server-process.js';

export interface ZooKeeperTuning {
  /** ZooKeeper's tick (default 200 ms). Session timeouts are negotiated within [2, 20] ticks unless overridden below. */
  readonly tickTimeMs?: number;
  /** Default 400 ms. */
  readonly minSessionTimeoutMs?: number;
  /** Default 60 000 ms. */
  readonly maxSessionTimeoutMs?: number;
  /** fsync the transaction log (default true, as in production; false speeds up tests that do not test durability). */
  readonly forceSync?: boolean;
  /**
   * Log a WARN line for every fsync of the transaction log that takes longer (ZooKeeper's
   * `fsync.warningthresholdms`, default 1000 ms). Benchmarks that hunt stalls set it low.
   */
  readonly fsyncWarningMs?: number;
  /** JVM heap limit in MiB (default 512). */
  readonly heapMb?: number;
  /** 'test' (default: quick to start) or 'production' (fixed heap, G1, full JIT; benchmarks). */
  readonly jvmProfile?: ZooKeeperJvmProfile;
  /** How long to wait for the server to serve (default 30 s). */
  readonly startTimeoutMs?: number;
  /** ZOOKEEPER_HOME / JAVA_HOME as read by the caller. This module does not read process.env. */
  readonly env?: ZooKeeperEnv;
  readonly logger?: Logger;
}

export interface StartZooKeeperOptions extends ZooKeeperTuning {
  /** Client port; a free one by default. */
  readonly port?: number;
}

/** Something that serves the ZooKeeper protocol at connectString. */
export interface ZooKeeperInstance {
  readonly provider: 'local' | 'testcontainers';
  readonly connectString: string;
  stop(): Promise<void>;
}

export interface LocalZooKeeper extends ZooKeeperInstance {
  readonly provider: 'local';
  readonly host: string;
  readonly port: number;
  /** Pid of the running JVM; -1 while stopped or killed. Changes on restart. */
  readonly pid: number;
  /** The temp directory holding zoo.cfg, data/ and the log. */
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** SIGTERM, SIGKILL after a bound, then removes the temp directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL. The data stays, for restart(). */
  kill(): Promise<void>;
  /** Starts again on the same port and data (stopping it first if it runs) and waits until it serves. */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing is answered. Resolves once the process is really stopped. */
  pause(): Promise<void>;
  /** SIGCONT; resolves once it runs again. */
  resume(): Promise<void>;
  /** `srvr` Mode (standalone, leader, follower), or null when it does not serve. */
  mode(): Promise<string | null>;
  /** The last lines of the server log, for failure messages. */
  logTail(lines?: number): string;
}

export const defaultTuning = {
  tickTimeMs: 200,
  minSessionTimeoutMs: 400,
  maxSessionTimeoutMs: 60_000,
  forceSync: true,
  startTimeoutMs: 30_000,
} as const;

/** The zoo.cfg lines every server of ours shares. */
export function commonZooCfg(tuning: ZooKeeperTuning, dataDir: string, host: string, clientPort: number): Array<[string, string | number]> {
  return [
    ['tickTime', tuning.tickTimeMs ?? defaultTuning.tickTimeMs],
    ['dataDir', dataDir],
    ['clientPort', clientPort],
    ['clientPortAddress', host],
    ['admin.enableServer', 'false'],
    ['4lw.commands.whitelist', '*'],
    ['minSessionTimeout', tuning.minSessionTimeoutMs ?? defaultTuning.minSessionTimeoutMs],
    ['maxSessionTimeout', tuning.maxSessionTimeoutMs ?? defaultTuning.maxSessionTimeoutMs],
    ['maxClientCnxns', 0],
    ['forceSync', (tuning.forceSync ?? defaultTuning.forceSync) ? 'yes' : 'no'],
    // ZooKeeper turns a key it does not know into the system property zookeeper.<key>.
    ...(tuning.fsyncWarningMs !== undefined ? [['fsync.warningthresholdms', tuning.fsyncWarningMs] as [string, number]] : []),
  ];
}

export async function startZooKeeper(options: StartZooKeeperOptions = {}): Promise<LocalZooKeeper> {
  const logger = options.logger ?? silentLogger;
  const installation = findZooKeeperJar(options.env ?? {});
  const host = '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoraft-zk-'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const configFile = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(configFile, renderZooCfg(commonZooCfg(options, dataDir, host, port)));
  const logFile = path.join(dir, 'server.log');
  const server = new ZooKeeperServerProcess({
    name: `zookeeper@${port}`,
    mainClass: standaloneMainClass,
    configFile,
    logFile,
    host,
    port,
    installation,
    java: javaExecutable(options.env ?? {}),
    ...(options.heapMb !== undefined ? { heapMb: options.heapMb } : {}),
    ...(options.jvmProfile !== undefined ? { jvmProfile: options.jvmProfile } : {}),
    logger,
  });
  const startTimeoutMs = options.startTimeoutMs ?? defaultTuning.startTimeoutMs;
  let removed = false;
  const removeDir = (): void => {
    if (removed) return;
    removed = true;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await server.start(startTimeoutMs);
  } catch (err) {
    await server.kill();
    // Keep the directory when the server failed: its log explains why (the error quotes it).
    throw err;
  }
  logger.info({ port, pid: server.pid, dir }, 'local ZooKeeper serving');

  return {
    provider: 'local',
    connectString: `${host}:${port}`,
    host,
    port,
    get pid() {
      return server.pid;
    },
    dir,
    dataDir,
    logFile,
    async stop() {
      await server.stop();
      removeDir();
    },
    kill: () => server.kill(),
    async restart() {
      if (removed) throw new Error(`zookeeper@${port} was stopped for good (its directory is gone); start a new one`);
      await server.stop();
      await server.start(startTimeoutMs);
    },
    pause: () => server.pause(),
    resume: () => server.resume(),
    mode: () => serverMode(host, port),
    logTail: (lines = 30) => server.logTail(lines),
  };
}
