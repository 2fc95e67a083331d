// Starting ZooKeeper for tests, the demo and chaos runs: one entry point for the
// standalone server, the ensemble and the container provider.
export { findZooKeeperJar, javaExecutable, ZooKeeperNotFoundError, type ZooKeeperEnv, type ZooKeeperInstallation } from './zk-java.js';
export {
  startZooKeeper,
  type LocalZooKeeper,
  type StartZooKeeperOptions,
  type ZooKeeperInstance,
  type ZooKeeperTuning,
} from './zk-standalone.js';
export { startEnsemble, type EnsembleMember, type EnsembleOptions, type LocalEnsemble } from './zk-ensemble.js';
export {
  DockerUnavailableError,
  dockerEngineAnswers,
  noDockerEngineMessage,
  startZooKeeperContainer,
  type ContainerOptions,
  type ZooKeeperContainer,
} from './zk-container.js';
export { startZooKeeperFromEnvChoice, type ProviderOptions, type ZooKeeperProvider } from './zk-provider.js';
export { fourLetterWord, serverMode } from './zk-four-letter.js';
