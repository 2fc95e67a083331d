// Issue 14 part 5: the cluster in containers, where a Docker engine answers (testcontainers).
// It builds the image from docker/Dockerfile, starts a ZooKeeper container (the compose
// file's image) and the two voters with the compose file's commands, environment and
// config file (only the ZooKeeper address differs: one server here), runs the compose load
// client (duoraft watch), writes a key, SIGKILLs the leader's container, and checks that
// the key and everything the load client had acknowledged survived.
//
// This machine and CI have no Docker engine: there it skips and says so.
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sleep } from './helpers.js';
import { commandOf, configMounts, environmentOf, readCompose, repoRoot } from './compose-file.js';

type Testcontainers = typeof import('testcontainers');
type Started = Awaited<ReturnType<InstanceType<Testcontainers['GenericContainer']>['start']>>;

const ENGINE_TIMEOUT_MS = 3_000;
const IMAGE = 'duoraft:containers-test';
/** Building the image (npm ci, tsc) and pulling the base images can be slow on a cold cache. */
const TEST_TIMEOUT_MS = 20 * 60_000;

/** testcontainers and an engine that answers, or why not. */
async function engine(): Promise<{ tc: Testcontainers } | { reason: string }> {
  let tc: Testcontainers;
  try {
    tc = await import('testcontainers');
  } catch (err) {
    return { reason: `the testcontainers package cannot be loaded (${(err as Error).message})` };
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      tc.getContainerRuntimeClient(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ENGINE_TIMEOUT_MS} ms`)), ENGINE_TIMEOUT_MS);
      }),
    ]);
    return { tc };
  } catch (err) {
    return { reason: (err as Error).message.split('\n')[0] ?? String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Collects a container's output, line by line. */
function lineCollector(): { lines: string[]; consume: (stream: Readable) => void } {
  const lines: string[] = [];
  let partial = '';
  return {
    lines,
    consume: (stream) => {
      stream.on('data', (chunk: Buffer | string) => {
        partial += chunk.toString();
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
      });
    },
  };
}

async function duoraftIn(container: Started, args: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return container.exec(['duoraft', ...args]);
}

async function roleOf(container: Started, id: string): Promise<string | null> {
  const r = await duoraftIn(container, ['status', '--json', '--timeout', '2000']);
  if (r.exitCode !== 0) return null;
  const members = JSON.parse(r.stdout) as Array<{ id: string; role: string }>;
  return members.find((m) => m.id === id)?.role ?? null;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(500);
  }
}

describe('the cluster in containers (testcontainers)', () => {
  it('image built from docker/Dockerfile; SIGKILL of the leader container loses nothing acknowledged', { timeout: TEST_TIMEOUT_MS }, async (ctx) => {
    const found = await engine();
    if ('reason' in found) {
      ctx.skip(true, `no Docker engine answers: ${found.reason} (the deployment files are checked without one in deploy-files.test.ts)`);
      return;
    }
    const { tc } = found;
    const compose = readCompose();
    const zkImage = compose.services['zk1']!.image!;
    await tc.GenericContainer.fromDockerfile(repoRoot, 'docker/Dockerfile').build(IMAGE, { deleteOnExit: true });
    const network = await new tc.Network().start();
    const started: Started[] = [];
    try {
      started.push(
        await new tc.GenericContainer(zkImage)
          .withNetwork(network)
          .withNetworkAliases('zk')
          .withEnvironment({ ZOO_TICK_TIME: '500', ZOO_4LW_COMMANDS_WHITELIST: 'ruok,srvr', ZOO_ADMINSERVER_ENABLED: 'false' })
          .withWaitStrategy(tc.Wait.forSuccessfulCommand(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && grep -q "^Mode: " <&3'`))
          .withStartupTimeout(180_000)
          .start(),
      );

      /** A container of the duoraft image as compose runs service `name`: its command, environment and config file. */
      const asService = (name: string, extraEnv: Record<string, string>): InstanceType<Testcontainers['GenericContainer']> => {
        const service = compose.services[name]!;
        const files = [...configMounts(compose, service)].map(([target, source]) => ({ source, target, mode: 0o644 }));
        return new tc.GenericContainer(IMAGE)
          .withNetwork(network)
          .withNetworkAliases(service.hostname ?? name)
          .withHostname(service.hostname ?? name)
          .withCommand(commandOf(service))
          // One ZooKeeper server here instead of the ensemble: the environment overrides the config file.
          .withEnvironment({ ...environmentOf(service), DUORAFT_ZK: 'zk:2181', ...extraEnv })
          .withCopyFilesToContainer(files);
      };

      const voters = new Map<string, Started>();
      for (const id of ['a', 'b']) {
        const c = await asService(id, {}).start();
        started.push(c);
        voters.set(id, c);
      }
      const anyVoter = voters.get('a')!;
      const leader = await waitFor('a leader', 120_000, async () => ((await roleOf(anyVoter, 'a')) === 'leader' ? 'a' : (await roleOf(anyVoter, 'b')) === 'leader' ? 'b' : null));
      const follower = leader === 'a' ? 'b' : 'a';
      await waitFor(`${follower} following`, 60_000, async () => ((await roleOf(anyVoter, follower)) === 'follower' ? true : null));

      const loadOutput = lineCollector();
      const load = await asService('load', {})
        .withCommand([...commandOf(compose.services['load']!), '--json', '--progress-ms', '0'])
        .withLogConsumer(loadOutput.consume)
        .withWaitStrategy(tc.Wait.forLogMessage(/"event":"running"/))
        .withStartupTimeout(180_000)
        .start();
      started.push(load);

      const put = await duoraftIn(voters.get(follower)!, ['put', 'before-the-kill', 'kept']);
      expect(put.exitCode, put.stderr).toBe(0);
      await sleep(2000);

      const killedAt = Date.now();
      const client = await tc.getContainerRuntimeClient();
      await client.container.getById(voters.get(leader)!.getId()).kill({ signal: 'SIGKILL' });
      const survivor = voters.get(follower)!;
      await waitFor(`${follower} leading after the kill`, 60_000, async () => ((await roleOf(survivor, follower)) === 'leader' ? true : null));
      await sleep(2000);

      const got = await duoraftIn(survivor, ['get', 'before-the-kill', '--json']);
      expect(got.exitCode, got.stderr).toBe(0);
      expect(JSON.parse(got.stdout)).toMatchObject({ found: true, value: 'kept' });

      // SIGTERM, as `docker compose stop load`: the load client reads every checked key back.
      await load.stop({ timeout: 170_000, remove: false });
      const events = loadOutput.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const gaps = events.filter((e) => e['event'] === 'write-gap') as Array<{ toMs: number; ms: number }>;
      expect(gaps.some((g) => g.toMs > killedAt), `the failover's write gap, in ${JSON.stringify(gaps)}`).toBe(true);
      const summary = events.find((e) => e['event'] === 'summary');
      expect(summary, loadOutput.lines.slice(-20).join('\n')).toMatchObject({ passed: true, lost: 0, duplicated: 0 });
    } finally {
      for (const c of started.reverse()) await c.stop({ timeout: 10_000 }).catch(() => undefined);
      await network.stop().catch(() => undefined);
    }
  });
});
