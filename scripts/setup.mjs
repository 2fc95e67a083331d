#!/usr/bin/env node
// Makes a fresh checkout ready to run: checks Node and Java, installs ZooKeeper (and
// openssl, for the TLS tests, and shellcheck, for the deployment test) when it is missing (Debian's package, as root), and installs the npm dependencies when
// node_modules is missing or older than package-lock.json. Safe to run again: it does
// only what is missing. Plain Node, no dependencies, so it runs before `npm ci`.
//
// Optional parts, only when asked:
//   --with-netns  iproute2 and nftables, for the network-namespace harness (chaos --net
//                 netns, the netns bench parts and tests; they also need root)
//   --with-etcd   etcd-server (etcd 3.4), for `duoraft bench --suite --compare etcd`
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (m) => process.stderr.write(`setup: ${m}\n`);
const fail = (m) => {
  process.stderr.write(`setup: error: ${m}\n`);
  process.exit(1);
};

// Node 20.19 or newer.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) fail(`Node ${process.versions.node} is too old: duoraft needs 20.19 or newer`);

function has(cmd, args = ['-version']) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

function zooKeeperJar() {
  const home = process.env.ZOOKEEPER_HOME;
  if (home) return existsSync(home) ? home : null;
  return existsSync('/usr/share/java/zookeeper.jar') ? '/usr/share/java/zookeeper.jar' : null;
}

function aptInstall(pkgs) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !has('apt-get', ['--version'])) return false;
  say(`installing ${pkgs.join(' ')} with apt-get...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', ...pkgs], { stdio: 'inherit', env }).status === 0;
  if (install()) return true;
  spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  return install();
}

if (!zooKeeperJar()) {
  if (!aptInstall(['zookeeper']) || !zooKeeperJar()) {
    fail('ZooKeeper is not installed. Install it with `apt-get install -y zookeeper` (Debian/Ubuntu) or set ZOOKEEPER_HOME to an unpacked ZooKeeper 3.8 release');
  }
}
if (!process.env.JAVA_HOME && !has('java')) {
  if (!aptInstall(['default-jre-headless']) || !has('java')) fail('Java is not installed (ZooKeeper needs it): `apt-get install -y default-jre-headless` or set JAVA_HOME');
}

// The TLS tests make their certificates with openssl (Debian's package; usually present).
if (!has('openssl', ['version'])) {
  if (!aptInstall(['openssl']) || !has('openssl', ['version'])) fail('openssl is not installed (the TLS tests need it): `apt-get install -y openssl`');
}

// The deployment test (test/integration/deploy-files.test.ts) runs shellcheck on the
// scripts under docker/ (Debian's package). Without it that part skips and says why, so
// a machine where it cannot be installed still runs everything else.
if (!has('shellcheck', ['--version'])) {
  if (!aptInstall(['shellcheck']) || !has('shellcheck', ['--version'])) say('shellcheck is not installed and could not be: the deployment test skips its shellcheck part (as root: apt-get install -y shellcheck)');
}

const wants = new Set(process.argv.slice(2));
for (const arg of wants) if (!['--with-netns', '--with-etcd'].includes(arg)) fail(`unknown option ${arg}; the options are --with-netns and --with-etcd`);
if (wants.has('--with-netns')) {
  const missing = [has('ip', ['-V']) ? null : 'iproute2', has('nft', ['--version']) ? null : 'nftables'].filter(Boolean);
  if (missing.length > 0 && !aptInstall(missing)) fail(`could not install ${missing.join(' ')}: as root, apt-get install -y ${missing.join(' ')}`);
}
if (wants.has('--with-etcd') && !has('etcd', ['--version'])) {
  if (!aptInstall(['etcd-server']) || !has('etcd', ['--version'])) fail('could not install etcd: as root, apt-get install -y etcd-server (etcd 3.4)');
}

const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  say('installing npm dependencies (npm ci)...');
  try {
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  } catch {
    fail('npm ci failed');
  }
}
