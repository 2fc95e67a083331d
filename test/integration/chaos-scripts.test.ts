// docker/chaos/*.sh run against a stand-in for the docker CLI (fixtures/fake-docker), since
// no engine is here: each script aims at the right container, injects and undoes its
// fault with the right docker commands, and reports as downtime the load client's first
// write gap that ended after the fault (not an earlier one); without an engine a script
// does nothing and exits 2; check.sh passes or fails with the load client's verdict.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerDir, repoRoot } from './compose-file.js';

const fakeDockerDir = join(repoRoot, 'test', 'integration', 'fixtures', 'fake-docker');
const made: string[] = [];

afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

const STATUS = JSON.stringify([
  { id: 'a', role: 'leader', term: 3, commitIndex: 10, appliedIndex: 10, leaderId: 'a', address: 'a:7001' },
  { id: 'b', role: 'follower', term: 3, commitIndex: 10, appliedIndex: 10, leaderId: 'a', address: 'b:7001' },
]);

function gapLine(ms: number, fromMs: number, toMs: number, lastBy: string, nextBy: string): string {
  return `write-gap ms=${ms} from_ms=${fromMs} to_ms=${toMs} from=${new Date(fromMs).toISOString()} to=${new Date(toMs).toISOString()} last_by=${lastBy} next_by=${nextBy}`;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly calls: string[];
}

/** Runs a chaos script with the fake docker first on the PATH, its answers from `files`. */
async function runScript(script: string, args: readonly string[], files: Readonly<Record<string, string>>): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'duoraft-fake-docker-'));
  made.push(dir);
  for (const [name, text] of Object.entries({ 'status.json': STATUS, 'load.log': '', networks: 'duoraft_duoraft\n', ...files })) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'calls'), '');
  const env = { ...process.env, PATH: `${fakeDockerDir}:${process.env['PATH'] ?? ''}`, FAKE_DOCKER_DIR: dir, CHAOS_RECOVERY_S: '5' };
  return new Promise((resolve) => {
    execFile(join(dockerDir, 'chaos', script), [...args], { env, timeout: 30_000 }, async (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      const calls = (await readFile(join(dir, 'calls'), 'utf8')).split('\n').filter(Boolean);
      resolve({ code, stdout, stderr, calls });
    });
  });
}

/** The calls that act on the cluster (not the questions), without the compose file flag. */
function actions(calls: readonly string[]): string[] {
  return calls
    .map((c) => c.replace(/^compose -f \S+\/docker\/chaos\/\.\.\/docker-compose\.yml /, 'compose '))
    .filter((c) => !/^(info|compose version|compose exec|compose logs|compose ps|inspect)\b/.test(c));
}

describe('docker/chaos scripts against a stand-in docker', () => {
  const later = Date.now() + 3_600_000;
  const log = [
    'duoraft watch: 4 clients on cluster compose at zk1:2181,zk2:2181,zk3:2181; reporting every stretch of 100 ms or more without an acknowledged write',
    'watch: the cluster acknowledged a write; load running',
    // Before the fault: not this fault's.
    gapLine(950, Date.now() - 60_000, Date.now() - 59_050, 'b:7001', 'a:7001'),
    gapLine(259, later, later + 259, 'a:7001', 'b:7001'),
    gapLine(369, later + 2000, later + 2369, 'b:7001', '-'),
  ].join('\n');

  it('kill.sh: SIGKILLs the leader, starts it again, and reports the first gap after the fault as its downtime', async () => {
    const r = await runScript('kill.sh', ['leader', '0'], { 'load.log': log });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(actions(r.calls)).toEqual(['compose up -d', 'compose kill -s SIGKILL a', 'compose start a']);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('SIGKILL a (leader); starting it again after 0 s');
    expect(lines[1]).toBe(
      `kill a (leader): downtime 259 ms as the load client saw it (no write acknowledged from ${new Date(later).toISOString()} to ${new Date(later + 259).toISOString()}; last by a:7001, then by b:7001)`,
    );
    expect(lines[2]).toBe(`  then, while it recovered: a write gap of 369 ms (${new Date(later + 2000).toISOString()} to ${new Date(later + 2369).toISOString()})`);
    expect(lines).toHaveLength(3);
  });

  it('kill.sh follower, with no gap after the fault: says the clients saw no downtime', async () => {
    const quiet = log.split('\n').slice(0, 3).join('\n');
    const r = await runScript('kill.sh', ['follower', '0'], { 'load.log': quiet });
    expect(r.code).toBe(0);
    expect(actions(r.calls)).toEqual(['compose up -d', 'compose kill -s SIGKILL b', 'compose start b']);
    expect(r.stdout).toContain('kill b (follower): no write gap reported (none as long as the load client --gap-ms, 100 ms): no downtime the clients could see');
  });

  it('pause.sh, restart.sh, wipe.sh and partition.sh aim at the leader and undo their fault', async () => {
    const [pause, restart, wipe, partition] = await Promise.all([
      runScript('pause.sh', ['leader', '0'], { 'load.log': log }),
      runScript('restart.sh', [], { 'load.log': log }),
      runScript('wipe.sh', ['a'], { 'load.log': log }),
      runScript('partition.sh', ['leader', '0'], { 'load.log': log }),
    ]);
    for (const r of [pause, restart, wipe, partition]) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(': downtime 259 ms as the load client saw it');
    }
    expect(actions(pause.calls)).toEqual(['compose up -d', 'compose pause a', 'compose unpause a']);
    expect(actions(restart.calls)).toEqual(['compose up -d', 'compose restart -t 20 a']);
    expect(actions(wipe.calls)).toEqual([
      'compose up -d',
      'compose kill -s SIGKILL a',
      'compose run --rm --no-deps -T --entrypoint sh a -c find /data -mindepth 1 -delete',
      'compose start a',
    ]);
    expect(actions(partition.calls)).toEqual([
      'compose up -d',
      'network disconnect duoraft_duoraft container-of-a',
      'network connect --alias a duoraft_duoraft container-of-a',
    ]);
  });

  it('kill-zk.sh: finds the ensemble leader by its srvr answer and kills that server', async () => {
    const r = await runScript('kill-zk.sh', ['leader', '0'], { 'load.log': log, 'mode-zk1': 'follower', 'mode-zk2': 'leader', 'mode-zk3': 'follower' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(actions(r.calls)).toEqual(['compose up -d', 'compose kill -s SIGKILL zk2', 'compose start zk2']);
    expect(r.stdout).toContain('kill ZooKeeper zk2 (leader): downtime 259 ms');
  });

  it('without a Docker engine a script does nothing and exits 2', async () => {
    const r = await runScript('kill.sh', [], { 'no-engine': '' });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('kill.sh: no Docker engine answers; nothing done');
    expect(actions(r.calls)).toEqual([]);
  });

  it("check.sh passes or fails with the load client's verdict", async () => {
    const verdict = (last: string): string => ['watch: stopping (SIGTERM); reading back every checked key...', 'lost:          0', last].join('\n');
    const passed = await runScript('check.sh', [], { 'load.log': verdict('checks passed') });
    expect(passed.code).toBe(0);
    expect(actions(passed.calls)).toEqual(['compose stop load', 'compose up -d load']);
    expect(passed.stdout).toContain('lost:          0');
    const failed = await runScript('check.sh', [], { 'load.log': verdict('CHECKS FAILED') });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("the load client's checks did not pass");
  });
});
