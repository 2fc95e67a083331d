// Where the ZooKeeper server jars and java are. The caller (the CLI, a test) reads the
// environment and passes the variables in; this module never reads process.env.
import fs from 'node:fs';
import path from 'node:path';

export interface ZooKeeperEnv {
  /** An unpacked ZooKeeper release: its lib/*.jar (and, for old releases, a root zookeeper-*.jar). */
  readonly ZOOKEEPER_HOME?: string | undefined;
  /** Where java lives; `java` on PATH otherwise. */
  readonly JAVA_HOME?: string | undefined;
}

export interface ZooKeeperInstallation {
  /** The ZooKeeper server jar itself. */
  readonly jar: string;
  /** Everything the server needs on its class path, the server jar included. */
  readonly classpath: readonly string[];
  readonly source: 'ZOOKEEPER_HOME' | 'system';
}

export class ZooKeeperNotFoundError extends Error {
  constructor(detail: string) {
    super(
      `ZooKeeper server jar not found (${detail}). Install it with \`apt-get install -y zookeeper\` ` +
        '(gives /usr/share/java/zookeeper.jar) or set ZOOKEEPER_HOME to an unpacked ZooKeeper release.',
    );
    this.name = 'ZooKeeperNotFoundError';
  }
}

/** The Debian/Ubuntu package's jar directory. */
export const systemJarDir = '/usr/share/java';

const serverJarName = /^zookeeper-\d[\w.-]*\.jar$/;
const notServerJar = /-(sources|javadoc|tests|jute|it|recipes|contrib)/;

function jarsIn(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.jar'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

function isServerJar(file: string): boolean {
  const name = path.basename(file);
  return serverJarName.test(name) && !notServerJar.test(name);
}

function fromZooKeeperHome(home: string): ZooKeeperInstallation {
  const rootJars = jarsIn(home).filter(isServerJar);
  const libJars = jarsIn(path.join(home, 'lib'));
  const jar = rootJars[0] ?? libJars.find(isServerJar);
  if (jar === undefined) throw new ZooKeeperNotFoundError(`ZOOKEEPER_HOME=${home} has no zookeeper-<version>.jar in it or in its lib/`);
  // conf/ on the class path lets the release's logback.xml configure the server's logging.
  const conf = path.join(home, 'conf');
  const classpath = [...rootJars, ...libJars, ...(fs.existsSync(conf) ? [conf] : [])];
  return { jar, classpath, source: 'ZOOKEEPER_HOME' };
}

/**
 * Finds the ZooKeeper server: ZOOKEEPER_HOME when given (an error if it holds no server
 * jar: a wrong setting should not silently fall back), else the system package's
 * /usr/share/java/zookeeper.jar. The Debian jar's manifest Class-Path pulls in its
 * dependencies; zookeeper-jute.jar is added explicitly as well, and slf4j-simple.jar
 * when present so the server writes its log (without a binding SLF4J logs nothing).
 */
export function findZooKeeperJar(env: ZooKeeperEnv = {}, jarDir: string = systemJarDir): ZooKeeperInstallation {
  const home = env.ZOOKEEPER_HOME?.trim();
  if (home) return fromZooKeeperHome(home);
  const jar = path.join(jarDir, 'zookeeper.jar');
  if (!fs.existsSync(jar)) throw new ZooKeeperNotFoundError(`no ${jar} and ZOOKEEPER_HOME is not set`);
  const extras = ['zookeeper-jute.jar', 'slf4j-simple.jar'].map((f) => path.join(jarDir, f)).filter((f) => fs.existsSync(f));
  return { jar, classpath: [jar, ...extras], source: 'system' };
}

/** The java executable: $JAVA_HOME/bin/java when given, else `java` from PATH. */
export function javaExecutable(env: ZooKeeperEnv = {}): string {
  const home = env.JAVA_HOME?.trim();
  return home ? path.join(home, 'bin', 'java') : 'java';
}

/**
 * How the JVM runs ZooKeeper. 'test': a small, fast-starting server (the serial collector,
 * only the C1 compiler, a heap that starts small); ZooKeeper's work in most tests is tiny
 * and startup time dominates. 'production': as ZooKeeper is run for real (a fixed heap, the
 * G1 collector, the full JIT), for benchmarks that hold tens of MiB in ZooKeeper: there the
 * serial collector's stop-the-world pauses over a growing heap are ZooKeeper's own stalls,
 * not the cluster's.
 */
export type ZooKeeperJvmProfile = 'test' | 'production';

export function javaArgs(installation: ZooKeeperInstallation, mainClass: string, configFile: string, heapMb = 512, profile: ZooKeeperJvmProfile = 'test'): string[] {
  const jvm = profile === 'production' ? [`-Xmx${heapMb}m`, `-Xms${heapMb}m`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20'] : [`-Xmx${heapMb}m`, '-Xms32m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
  return [
    ...jvm,
    '-Djava.net.preferIPv4Stack=true',
    '-Dzookeeper.admin.enableServer=false',
    '-Dorg.slf4j.simpleLogger.showDateTime=true',
    '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
    '-cp',
    installation.classpath.join(path.delimiter),
    mainClass,
    configFile,
  ];
}
