// ZooKeeper in a container via testcontainers, for machines that have a Docker engine
// but no local ZooKeeper. testcontainers is a devDependency and is imported lazily,
// so production code that never asks for a container never loads it.
import { silentLogger, type Logger } from '../common/logger.js';
import { waitUntilServing } from './zk-four-letter.js';
import type { ZooKeeperInstance } from './zk-standalone.js';

export const noDockerEngineMessage = 'no Docker engine answers; using the local ZooKeeper instead';

/** No container runtime can be used here. Callers fall back to the local ZooKeeper. */
export class DockerUnavailableError extends Error {
  constructor(message: string = noDockerEngineMessage, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DockerUnavailableError';
  }
}

export interface ZooKeeperContainer extends ZooKeeperInstance {
  readonly provider: 'testcontainers';
  readonly host: string;
  readonly port: number;
  readonly containerId: string;
}

export interface ContainerOptions {
  /** How long the engine gets to answer (default 3 s). */
  readonly engineTimeoutMs?: number;
  /** Pull plus start (default 120 s: a first pull can be slow). */
  readonly startupTimeoutMs?: number;
  readonly logger?: Logger;
}

type Testcontainers = typeof import('testcontainers');

async function loadTestcontainers(): Promise<Testcontainers> {
  try {
    return await import('testcontainers');
  } catch (err) {
    throw new DockerUnavailableError('the testcontainers package is not installed (it is a devDependency); use the local ZooKeeper', { cause: err });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Whether a Docker (or compatible) engine answers within timeoutMs. Never throws. */
export async function dockerEngineAnswers(timeoutMs = 3_000): Promise<boolean> {
  try {
    const tc = await loadTestcontainers();
    await withTimeout(tc.getContainerRuntimeClient(), timeoutMs, 'container runtime');
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `image` (the official ZooKeeper image) with the same tuning as the local
 * launcher. Throws DockerUnavailableError with "no Docker engine answers; using the
 * local ZooKeeper instead" when no engine answers.
 */
export async function startZooKeeperContainer(image = 'zookeeper:3.8', options: ContainerOptions = {}): Promise<ZooKeeperContainer> {
  const logger = options.logger ?? silentLogger;
  const tc = await loadTestcontainers();
  try {
    await withTimeout(tc.getContainerRuntimeClient(), options.engineTimeoutMs ?? 3_000, 'container runtime');
  } catch (err) {
    throw new DockerUnavailableError(noDockerEngineMessage, { cause: err });
  }
  const clientPort = 2181;
  const started = await new tc.GenericContainer(image)
    .withExposedPorts(clientPort)
    .withEnvironment({
      ZOO_TICK_TIME: '200',
      ZOO_4LW_COMMANDS_WHITELIST: '*',
      ZOO_ADMINSERVER_ENABLED: 'false',
      ZOO_MAX_CLIENT_CNXNS: '0',
      ZOO_STANDALONE_ENABLED: 'true',
      // Lines appended to zoo.cfg by the image's entrypoint.
      ZOO_CFG_EXTRA: 'minSessionTimeout=400 maxSessionTimeout=60000',
    })
    .withWaitStrategy(tc.Wait.forListeningPorts())
    .withStartupTimeout(options.startupTimeoutMs ?? 120_000)
    .start();
  const host = started.getHost();
  const port = started.getMappedPort(clientPort);
  try {
    await waitUntilServing(host, port, { timeoutMs: 30_000 });
  } catch (err) {
    await started.stop();
    throw err;
  }
  logger.info({ image, host, port, id: started.getId() }, 'ZooKeeper container serving');
  let stopped = false;
  return {
    provider: 'testcontainers',
    connectString: `${host}:${port}`,
    host,
    port,
    containerId: started.getId(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await started.stop();
    },
  };
}
