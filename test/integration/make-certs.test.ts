// docker/make-certs.sh makes what docker/docker-compose.tls.yml mounts. This runs the
// script, starts two voters on its certificates the way the override configures them
// (DUORAFT_TLS_* variables, the token file), and drives the cluster with the CLI as the
// compose `client` service does: with the client certificate, with the token, and
// refused without either.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { dockerDir } from './compose-file.js';
import { runCli } from './cli-run.js';
import { uniqueCluster } from './helpers.js';

const script = join(dockerDir, 'make-certs.sh');
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe.skipIf(!hasOpenssl)('docker/make-certs.sh (openssl needed: node scripts/setup.mjs installs it)', () => {
  let zk: LocalZooKeeper;
  let dir: string;
  const cluster = uniqueCluster('certs');

  beforeAll(async () => {
    zk = await startZooKeeper();
    dir = await mkdtemp(join(tmpdir(), 'duoraft-make-certs-'));
  });

  afterAll(async () => {
    await zk?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses bad options and never overwrites what it made', () => {
    const bad = spawnSync(script, ['--voters', 'a', join(dir, 'x')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('exactly two ids');
    const made = spawnSync(script, ['--cluster', cluster, join(dir, 'tls')], { encoding: 'utf8' });
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    const again = spawnSync(script, ['--cluster', cluster, join(dir, 'tls')], { encoding: 'utf8' });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('exists; nothing was changed');
  });

  it('its certificates and token run a TLS cluster that the CLI reaches by certificate or token, and nothing else', async () => {
    const tls = join(dir, 'tls');
    const voterEnv = (id: string): string[] => ['--tls-ca', join(tls, 'ca.crt'), '--tls-cert', join(tls, `${id}.crt`), '--tls-key', join(tls, `${id}.key`), '--token-file', join(tls, 'token')];
    const ca = await readFile(join(tls, 'ca.crt'));
    const token = (await readFile(join(tls, 'token'), 'utf8')).trim();
    const nodes = await ProcessCluster.start({ zk: zk.connectString, cluster, nodeArgsFor: voterEnv, clientSecurity: { tls: { ca }, token } });
    try {
      const base = { DUORAFT_ZK: zk.connectString, DUORAFT_CLUSTER: cluster, DUORAFT_TLS_CA: join(tls, 'ca.crt') };
      const byCert = { ...base, DUORAFT_TLS_CERT: join(tls, 'client.crt'), DUORAFT_TLS_KEY: join(tls, 'client.key') };
      const put = await runCli(['put', 'greeting', 'hello'], { env: byCert });
      expect(put.stderr).toBe('');
      expect(put.code).toBe(0);
      const get = await runCli(['get', 'greeting'], { env: { ...base, DUORAFT_TOKEN_FILE: join(tls, 'token') } });
      expect(get.stderr).toBe('');
      expect(get.stdout.toString('utf8')).toBe('hello');
      // The compose load client, on the same credentials: a short checked load that passes.
      const watch = await runCli(['watch', '--duration', '2', '--clients', '2', '--progress-ms', '0'], { env: byCert, timeoutMs: 60_000 });
      expect(watch.stderr).toBe('');
      expect(watch.code).toBe(0);
      expect(watch.stdout.toString('utf8')).toContain('the cluster acknowledged a write');
      const none = await runCli(['get', 'greeting'], { env: base });
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('UNAUTHENTICATED');
      const plaintext = await runCli(['get', 'greeting'], { env: { DUORAFT_ZK: zk.connectString, DUORAFT_CLUSTER: cluster } });
      expect(plaintext.code).not.toBe(0);
      expect(plaintext.stderr).toContain('CONFIG: the member at');
      expect(plaintext.stderr).toContain('requires TLS');
    } finally {
      await nodes.stop();
    }
  }, 60_000);
});
