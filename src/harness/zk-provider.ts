// Picks where ZooKeeper comes from. The CLI maps its flag or environment variable to a
// ZooKeeperProvider and passes it here.
import { silentLogger } from '../common/logger.js';
import { DockerUnavailableError, startZooKeeperContainer, type ContainerOptions } from './zk-container.js';
import { startZooKeeper, type StartZooKeeperOptions, type ZooKeeperInstance } from './zk-standalone.js';

export type ZooKeeperProvider = 'local' | 'testcontainers' | 'auto';

export interface ProviderOptions {
  readonly local?: StartZooKeeperOptions;
  readonly image?: string;
  readonly container?: ContainerOptions;
}

/**
 * 'local': a JVM from the installed ZooKeeper. 'testcontainers': a container (throws
 * DockerUnavailableError without an engine). 'auto': a container when an engine answers,
 * else the local ZooKeeper (logging why).
 *
 * Only the local provider gives kill/restart/pause: chaos tests should ask for 'local'.
 */
export async function startZooKeeperFromEnvChoice(provider: ZooKeeperProvider, options: ProviderOptions = {}): Promise<ZooKeeperInstance> {
  const logger = options.local?.logger ?? options.container?.logger ?? silentLogger;
  switch (provider) {
    case 'local':
      return startZooKeeper(options.local);
    case 'testcontainers':
      return startZooKeeperContainer(options.image, options.container);
    case 'auto':
      try {
        return await startZooKeeperContainer(options.image, options.container);
      } catch (err) {
        if (!(err instanceof DockerUnavailableError)) throw err;
        logger.info({ reason: err.message }, 'ZooKeeper provider: falling back to the local ZooKeeper');
        return startZooKeeper(options.local);
      }
  }
}
