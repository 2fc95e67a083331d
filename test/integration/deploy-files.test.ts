// Issue 14 part 5: the deployment files checked without a Docker engine (this machine and
// CI have none). (a) docker-compose.yml is valid by the compose specification's JSON
// schema (shipped by the dclint package); (b) every duoraft service's command and
// environment are read by the CLI's own parser: `duoraft config check` for the voters,
// `duoraft watch --dry-run` for the load client; (c) the scripts under docker/ are
// shellcheck clean; and the Dockerfile is multi-stage, builds inside the image, runs as a
// non-root user with a health check, and its build context holds what it copies.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseHostPort } from '../../src/common/host-port.js';
import { runCli } from './cli-run.js';
import { commandOf, type ComposeFile, composePath, composeTlsPath, configMounts, mergeCompose, dockerDir, duoraftServices, environmentOf, readCompose, repoRoot } from './compose-file.js';

const compose = readCompose();
const voters = duoraftServices(compose).filter(([, s]) => commandOf(s)[0] === 'node');
const zooKeepers = Object.entries(compose.services).filter(([, s]) => (s.image ?? '').startsWith('zookeeper:'));

/** The compose specification's schema, as the dclint package ships it (a devDependency). */
function composeSchemaValidator(): (doc: unknown) => string[] {
  const require = createRequire(import.meta.url);
  const schemaPath = join(require.resolve('dclint/package.json'), '..', 'schemas', 'compose.schema.json');
  // It names draft-07 by an https URL that Ajv does not know by that spelling; draft-07 is
  // Ajv's own default, so the $schema key is left out rather than fetched.
  const { $schema: _draft, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  return (doc) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`));
}

/** Runs duoraft with a service's command and environment, its config targets mapped to the files in docker/ (secrets to secretsDir). */
function runAsService(file: ComposeFile, name: string, args: readonly string[], secretsDir?: string): ReturnType<typeof runCli> {
  const service = file.services[name]!;
  const mounts = configMounts(file, service, dockerDir, secretsDir);
  const onHost = (v: string): string => mounts.get(v) ?? v;
  const env = Object.fromEntries(Object.entries(environmentOf(service)).map(([k, v]) => [k, onHost(v)]));
  return runCli(args.map(onHost), { env });
}

interface CheckedSetting {
  readonly value: string | number | boolean | readonly string[] | null;
  readonly source: string;
}

/**
 * Whether `duoraft COMMAND --help` shows that command's own help. (For a command yargs
 * does not know it shows the general help, also with exit 0.)
 */
async function knownCommand(command: readonly string[], run: (args: readonly string[]) => ReturnType<typeof runCli> = (a) => runCli(a)): Promise<boolean> {
  const words = command.filter((w) => !w.startsWith('-'));
  const r = await run([...command, '--help']);
  const usage = r.stdout.toString('utf8').split('\n')[0] ?? '';
  return r.code === 0 && usage.startsWith(`duoraft ${words.join(' ')}`);
}

const checkedVoters = new Map<string, Promise<Record<string, CheckedSetting>>>();

/** `duoraft config check` of a voter of the compose file as it is (once per voter). */
function configCheckOfCompose(name: string): Promise<Record<string, CheckedSetting>> {
  let checked = checkedVoters.get(name);
  if (checked === undefined) {
    checked = configCheck(compose, name);
    checkedVoters.set(name, checked);
  }
  return checked;
}

async function configCheck(file: ComposeFile, name: string, secretsDir?: string): Promise<Record<string, CheckedSetting>> {
  const [, ...flags] = commandOf(file.services[name]!);
  const r = await runAsService(file, name, ['config', 'check', '--json', ...flags], secretsDir);
  expect(r.stderr, `config check of service ${name}`).toBe('');
  expect(r.code, `config check of service ${name}`).toBe(0);
  const out = JSON.parse(r.stdout.toString('utf8')) as { valid: boolean; settings: Record<string, CheckedSetting>; ignoredEnvironment: string[] };
  expect(out.valid).toBe(true);
  // A DUORAFT_* variable that sets nothing is a typo or a leftover: the node would ignore it.
  expect(out.ignoredEnvironment, `DUORAFT_* variables of service ${name} that set nothing`).toEqual([]);
  return out.settings;
}

describe('docker-compose.yml by the compose specification', () => {
  const validate = composeSchemaValidator();

  it('is valid by the compose specification schema', () => {
    expect(validate(compose)).toEqual([]);
  });

  it('the schema check bites: a misspelt key and a wrong type are refused', () => {
    const broken = readCompose();
    (broken.services['a'] as Record<string, unknown>)['restrat'] = 'always';
    (broken.services['b'] as Record<string, unknown>)['healthcheck'] = { interval: 5 };
    const problems = validate(broken);
    expect(problems.some((p) => p.startsWith('/services/a ') && p.includes('restrat'))).toBe(true);
    expect(problems.some((p) => p.startsWith('/services/b/healthcheck/interval '))).toBe(true);
  });

  it('runs a three-server ZooKeeper ensemble from the official image, pinned to a 3.8 or 3.9 release', () => {
    expect(zooKeepers.map(([name]) => name).sort()).toEqual(['zk1', 'zk2', 'zk3']);
    const ids = new Set<string>();
    for (const [name, s] of zooKeepers) {
      expect(s.image).toMatch(/^zookeeper:3\.[89]\.\d+$/);
      const env = environmentOf(s);
      ids.add(env['ZOO_MY_ID']!);
      // Every server lists all three, itself included.
      for (const [other] of zooKeepers) expect(env['ZOO_SERVERS'], `ZOO_SERVERS of ${name}`).toContain(`=${other}:2888:3888;2181`);
    }
    expect([...ids].sort()).toEqual(['1', '2', '3']);
  });

  it('has two voters, the load client, and the marked listener slot', () => {
    expect(voters.map(([name]) => name).sort()).toEqual(['a', 'b']);
    expect(commandOf(compose.services['load']!)[0]).toBe('watch');
    const text = readFileSync(composePath, 'utf8');
    expect(text).toMatch(/LISTENER SLOT \(issue 13/);
  });
});

describe('docker-compose.tls.yml, the TLS override', () => {
  const override = readCompose(composeTlsPath);
  const merged = mergeCompose(compose, override);
  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

  it('is valid by the compose specification schema, alone and merged with docker-compose.yml', () => {
    const validate = composeSchemaValidator();
    expect(validate(override)).toEqual([]);
    expect(validate(merged)).toEqual([]);
  });

  it('mounts only files docker/make-certs.sh makes, under the folder it tells the operator to use', () => {
    const made = ['ca.crt', 'a.crt', 'a.key', 'b.crt', 'b.key', 'client.crt', 'client.key', 'token'];
    const files = Object.values(override.secrets ?? {}).map((s) => s.file ?? '');
    expect(files.sort()).toEqual(made.map((f) => `./tls/${f}`).sort());
    expect(readFileSync(join(dockerDir, 'make-certs.sh'), 'utf8')).toContain('docker/make-certs.sh docker/tls');
  });

  it.skipIf(!hasOpenssl)('each voter: config check accepts it merged, TLS on from the environment, its own certificate; the clients present the client certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duoraft-compose-tls-'));
    try {
      const made = spawnSync(join(dockerDir, 'make-certs.sh'), [join(dir, 'tls')], { encoding: 'utf8' });
      expect(made.stderr).toBe('');
      const secrets = join(dir, 'tls');
      for (const [name] of voters) {
        const settings = await configCheck(merged, name, secrets);
        expect(settings['tls-ca']).toMatchObject({ value: join(secrets, 'ca.crt'), source: 'env' });
        expect(settings['tls-cert']!.value).toBe(join(secrets, `${settings['id']!.value as string}.crt`));
        expect(settings['tls-key']!.value).toBe(join(secrets, `${settings['id']!.value as string}.key`));
        expect(settings['token-file']!.value).toBe(join(secrets, 'token'));
      }
      for (const name of ['load', 'client']) {
        const env = environmentOf(merged.services[name]!);
        expect(env['DUORAFT_TLS_CERT'], name).toBe('/run/secrets/client.crt');
        expect(env['DUORAFT_TLS_CA'], name).toBe('/run/secrets/ca.crt');
      }
      const r = await runAsService(merged, 'load', [...commandOf(merged.services['load']!), '--dry-run', '--json'], secrets);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("every duoraft service's command, read by the CLI's own parser", () => {
  it('each voter: duoraft config check accepts its flags, environment and config file, and nothing is ignored', async () => {
    const zkHosts = zooKeepers.map(([name]) => `${name}:2181`).sort();
    const checked = await Promise.all(voters.map(async ([name]) => [name, await configCheckOfCompose(name)] as const));
    const ids: string[] = [];
    for (const [name, settings] of checked) {
      const id = settings['id']!.value as string;
      ids.push(id);
      // Reachable under its service name, on the port the image exposes and checks.
      const advertise = parseHostPort(String(settings['advertise']!.value));
      expect('host' in advertise && advertise.host).toBe(compose.services[name]!.hostname ?? name);
      expect('port' in advertise && advertise.port).toBe(7001);
      expect(String(settings['listen']!.value)).toBe('0.0.0.0:7001');
      // Its data on its own volume.
      const mounts = (compose.services[name]!.volumes ?? []).map(String);
      expect(mounts).toContain(`${name}-data:${String(settings['data']!.value)}`);
      // The whole ensemble, from the config file.
      expect(String(settings['zk']!.value).split(',').sort()).toEqual(zkHosts);
      expect(settings['zk']!.source).toBe('file');
    }
    expect(new Set(ids).size).toBe(voters.length);
    for (const [, settings] of checked) expect([...(settings['voters']!.value as string[])].sort()).toEqual([...ids].sort());
  });

  it('the check bites: a wrong value in a voter command is refused with exit 2', async () => {
    const broken = readCompose();
    const a = broken.services['a'] as { command: string[] };
    a.command = [...a.command, '--zk-session-timeout', '-5'];
    const [, ...flags] = a.command;
    const r = await runAsService(broken, 'a', ['config', 'check', ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--zk-session-timeout must be an integer from 1000 to 600000 (ms), not "-5"');
  });

  it('the load client: duoraft watch --dry-run accepts its flags and environment, on the voters\' cluster', async () => {
    const r = await runAsService(compose, 'load', [...commandOf(compose.services['load']!), '--dry-run', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.toString('utf8')) as { valid: boolean; options: { zk: string; cluster: string; gapMs: number } };
    const voter = await configCheckOfCompose(voters[0]![0]);
    expect(out.options.zk).toBe(voter['zk']!.value);
    expect(out.options.cluster).toBe(voter['cluster']!.value);
    // The chaos scripts say "100 ms" when no gap was reported.
    expect(out.options.gapMs).toBe(100);
  });

  it('every other duoraft service runs a command the CLI knows', async () => {
    const others = duoraftServices(compose).filter(([, s]) => !['node', 'watch'].includes(commandOf(s)[0] ?? ''));
    expect(others.length).toBeGreaterThan(0);
    for (const [name, s] of others) {
      expect(await knownCommand(commandOf(s), (a) => runAsService(compose, name, a)), `service ${name}: duoraft ${commandOf(s).join(' ')}`).toBe(true);
    }
    // The probe itself tells a known command from an unknown one.
    expect(await knownCommand(['no-such-command'])).toBe(false);
  });
});

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerfileInstructions(): Array<{ op: string; args: string }> {
  const text = readFileSync(join(dockerDir, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const space = l.indexOf(' ');
      return { op: l.slice(0, space).toUpperCase(), args: l.slice(space + 1).trim() };
    });
}

/** Whether .dockerignore (the simple patterns it uses: names, `*` within a name) leaves out `path`. */
function dockerIgnored(path: string): boolean {
  const patterns = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const p of patterns) {
    if (p.startsWith('!') || p.includes('**')) throw new Error(`.dockerignore pattern ${p}: this test reads only plain names and *`);
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(/.*)?$`);
    if (re.test(path)) return true;
  }
  return false;
}

describe('docker/Dockerfile', () => {
  const instructions = dockerfileInstructions();
  const stages = instructions.filter((i) => i.op === 'FROM');
  const runtimeStart = instructions.lastIndexOf(stages[stages.length - 1]!);
  const build = instructions.slice(0, runtimeStart);
  const runtime = instructions.slice(runtimeStart);

  it('builds inside the image: a build stage runs npm ci and npm run build, the runtime stage takes dist/ from it', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]!.args).toMatch(/ AS build$/i);
    expect(build.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args) && !i.args.includes('--omit=dev'))).toBe(true);
    expect(build.some((i) => i.op === 'RUN' && i.args.includes('npm run build'))).toBe(true);
    expect(runtime.some((i) => i.op === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.op === 'COPY' && /^--from=build\s+\S*dist\s/.test(i.args))).toBe(true);
    // dist/ never comes from the build context.
    expect(instructions.some((i) => i.op === 'COPY' && !i.args.startsWith('--from') && /(^|\s)\.?\/?dist\b/.test(i.args))).toBe(false);
  });

  it('runs as a non-root user, with a health check on the node port', () => {
    const users = runtime.filter((i) => i.op === 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]!.args).not.toMatch(/^(root|0)(:|$)/);
    const health = runtime.find((i) => i.op === 'HEALTHCHECK');
    expect(health?.args).toMatch(/CMD \["duoraft", "health", "--address", "127\.0\.0\.1:7001"\]/);
    expect(runtime.find((i) => i.op === 'EXPOSE')?.args).toBe('7001');
  });

  it('the health check command exists in this build', async (ctx) => {
    // `duoraft health` comes with the health service (issue 14 part 2), built beside this.
    const known = await knownCommand(['health']);
    ctx.skip(!known, 'duoraft health is not on this branch yet: the HEALTHCHECK is written against it');
    // Its exact arguments, in a voter's environment, pass the CLI's parser: no member
    // answers here, so exit 1 (not serving), never 2 (a wrong command line).
    const cmd = JSON.parse(/CMD (\[.*\])/.exec(runtime.find((i) => i.op === 'HEALTHCHECK')!.args)![1]!) as string[];
    expect(cmd[0]).toBe('duoraft');
    const r = await runAsService(compose, voters[0]![0], cmd.slice(1));
    expect(r.stderr).not.toMatch(/CONFIG|usage/);
    expect(r.code).toBe(1);
  });

  it('everything it copies from the context exists and is not left out by .dockerignore', () => {
    const copies = instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const parts = c.args.split(/\s+/);
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(join(repoRoot, source)), `COPY ${source}`).toBe(true);
        expect(dockerIgnored(source.replace(/^\.\//, '').replace(/\/$/, '')), `COPY ${source} is in .dockerignore`).toBe(false);
      }
    }
    // And what must not leak into the context is left out.
    for (const path of ['node_modules', 'dist', '.git']) expect(dockerIgnored(path), path).toBe(true);
  });
});

function shellScripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return shellScripts(path);
    return e.name.endsWith('.sh') ? [path] : [];
  });
}

describe('the scripts under docker/', () => {
  const scripts = shellScripts(dockerDir);

  it('are shellcheck clean', (ctx) => {
    const probe = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    ctx.skip(probe.status !== 0, 'shellcheck is not installed: `node scripts/setup.mjs` installs it (as root, Debian: apt-get install -y shellcheck)');
    expect(scripts.length).toBeGreaterThan(0);
    // -x follows `. lib.sh` (docker/.shellcheckrc says where it is).
    const r = spawnSync('shellcheck', ['-x', ...scripts], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('each fault script is executable bash; the shared library is only sourced', () => {
    const faults = ['kill', 'restart', 'pause', 'partition', 'wipe', 'kill-zk', 'check', 'all'].map((n) => join(dockerDir, 'chaos', `${n}.sh`));
    for (const path of faults) {
      expect(scripts, relative(repoRoot, path)).toContain(path);
      expect(readFileSync(path, 'utf8').startsWith('#!/usr/bin/env bash\n'), relative(repoRoot, path)).toBe(true);
      expect(statSync(path).mode & 0o111, `${relative(repoRoot, path)} is executable`).not.toBe(0);
    }
    const lib = join(dockerDir, 'chaos', 'lib.sh');
    expect(statSync(lib).mode & 0o111).toBe(0);
  });
});
