// The configuration schema (src/cli/config): strict numbers, HOST:PORT, precedence of
// flags > environment > file > defaults, every problem at once, the config file, and
// the yargs middleware (positionals after --, unknown flags).
import { describe, expect, it } from 'vitest';
import { formatHostPort, parseHostPort } from '../../../src/common/host-port.js';
import { configMiddleware, ConfigProblemsError, resolutionOf } from '../../../src/cli/config/command-config.js';
import { parseConfigText, type ConfigFile } from '../../../src/cli/config/config-file.js';
import { readInteger } from '../../../src/cli/config/numbers.js';
import { resolveSchema } from '../../../src/cli/config/resolve.js';
import { commonSettings, envName, nodeSettings } from '../../../src/cli/config/settings.js';
import { kvCommandSpecs } from '../../../src/cli/kv-settings.js';
import { nodeRules, nodeSpec } from '../../../src/cli/node-command.js';

describe('readInteger', () => {
  const range = { min: 1, max: 1000 };
  it('takes decimal integers in range, as text or number', () => {
    expect(readInteger('12', range)).toBe(12);
    expect(readInteger(' 12 ', range)).toBe(12);
    expect(readInteger('+7', range)).toBe(7);
    expect(readInteger(1000, range)).toBe(1000);
    expect(readInteger('-5', { min: -10, max: 0 })).toBe(-5);
  });
  it('refuses everything Number() would let through and everything out of range', () => {
    for (const bad of ['', 'abc', '1e3', '0x10', '1.5', 'Infinity', 'NaN', '12abc', '0', '-5', '1001', 1.5, Number.NaN, true, null, undefined, [], {}]) {
      expect(readInteger(bad, range)).toBeNull();
    }
    expect(readInteger('9007199254740993', { min: 0, max: Number.MAX_SAFE_INTEGER })).toBeNull();
  });
});

describe('parseHostPort', () => {
  it('takes names, IPv4 and bracketed IPv6', () => {
    expect(parseHostPort('127.0.0.1:7001')).toEqual({ host: '127.0.0.1', port: 7001 });
    expect(parseHostPort('zk-1.example:2181')).toEqual({ host: 'zk-1.example', port: 2181 });
    expect(parseHostPort('[::1]:7001')).toEqual({ host: '::1', port: 7001 });
    expect(parseHostPort('[fe80::1%eth0]:7001')).toEqual({ host: 'fe80::1%eth0', port: 7001 });
    expect(parseHostPort('[::]:0', { allowPortZero: true })).toEqual({ host: '::', port: 0 });
  });
  it('says what is wrong', () => {
    expect(parseHostPort('::1:7001')).toEqual({ problem: 'an IPv6 host goes in brackets: [::1]:7001' });
    expect(parseHostPort('nowhere')).toEqual({ problem: 'no :PORT' });
    expect(parseHostPort('[::1]')).toMatchObject({ problem: expect.stringContaining('expected ]:PORT') });
    expect(parseHostPort('[nothost]:1')).toMatchObject({ problem: expect.stringContaining('not an IPv6 address') });
    expect(parseHostPort('h:70000')).toEqual({ problem: 'port 70000 is outside 1..65535' });
    expect(parseHostPort('h:0')).toEqual({ problem: 'port 0 is outside 1..65535' });
    expect(parseHostPort('h:x')).toEqual({ problem: 'port "x" is not a number' });
    expect(parseHostPort('a b:1')).toMatchObject({ problem: expect.stringContaining('is not a host name') });
    expect(parseHostPort(':1')).toMatchObject({ problem: expect.stringContaining('is not a host name') });
  });
  it('formats IPv6 hosts in brackets', () => {
    expect(formatHostPort('::1', 7)).toBe('[::1]:7');
    expect(formatHostPort('127.0.0.1', 7)).toBe('127.0.0.1:7');
  });
});

function file(values: Record<string, unknown>): ConfigFile {
  return { path: '/etc/duoraft.yaml', values: new Map(Object.entries(values)) };
}

describe('resolveSchema', () => {
  it('takes flags over the environment over the file over defaults, and says where each came from', () => {
    const r = resolveSchema(commonSettings, {
      flags: { timeout: '100' },
      env: { DUORAFT_TIMEOUT: '200', DUORAFT_CLUSTER: 'env-cluster', DUORAFT_ZK: '' },
      file: file({ timeout: 300, cluster: 'file-cluster', zk: 'zk1:2181', 'log-level': 'info' }),
    });
    expect(r.problems).toEqual([]);
    expect(r.values).toMatchObject({ timeout: 100, cluster: 'env-cluster', zk: 'zk1:2181', 'log-level': 'info', json: false });
    expect(r.origins.timeout).toEqual({ source: 'flag', where: '--timeout' });
    expect(r.origins.cluster).toEqual({ source: 'env', where: 'DUORAFT_CLUSTER' });
    // An empty variable is unset: the file's value stands.
    expect(r.origins.zk).toEqual({ source: 'file', where: '/etc/duoraft.yaml' });
    expect(r.origins.json).toEqual({ source: 'default', where: '' });
    expect(r.origins.config).toEqual({ source: 'unset', where: '' });
  });

  it('reports every problem, naming where the value came from, and never echoes a secret', () => {
    const r = resolveSchema(nodeSettings, {
      flags: { id: 'a', listen: '127.0.0.1:0', 'zk-password': ['x', 'y'], 'heartbeat-ms': '0' },
      env: { DUORAFT_DATA: 'd', DUORAFT_ZK_SESSION_TIMEOUT: '-5', DUORAFT_FAULT_ACK_BEFORE_COMMIT: 'true', DUORAFT_NOPE: '1' },
      file: file({ 'zk-user': '', timeout: 'soon', json: 'maybe', nonsense: 1, 'fault-read-tail-before-fence': true }),
    });
    expect(r.problems).toEqual([
      'json in /etc/duoraft.yaml must be true or false, not "maybe"',
      'timeout in /etc/duoraft.yaml must be an integer from 1 to 3600000 (ms), not "soon"',
      'zk-user in /etc/duoraft.yaml must be a non-empty text, not ""',
      '--zk-password is given 2 times: give it once',
      'DUORAFT_ZK_SESSION_TIMEOUT must be an integer from 1000 to 600000 (ms), not "-5"',
      '--heartbeat-ms must be an integer from 1 to 60000 (ms), not "0"',
      'nonsense in /etc/duoraft.yaml is not a setting (settings are the flag names, e.g. zk-session-timeout)',
      'fault-read-tail-before-fence in /etc/duoraft.yaml is not a setting (settings are the flag names, e.g. zk-session-timeout)',
    ]);
    // No setting switches a safety rule off (the broken builds are test-only entries).
    expect(Object.keys(r.values).some((k) => k.startsWith('fault'))).toBe(false);
    expect(r.ignoredEnv).toEqual(['DUORAFT_FAULT_ACK_BEFORE_COMMIT', 'DUORAFT_NOPE']);
    const secret = resolveSchema(nodeSettings, { flags: { 'zk-password': '' }, env: {}, file: null });
    expect(secret.problems).toContain('--zk-password must be a non-empty text, not (redacted)');
  });

  it('names the environment variable of every setting', () => {
    expect(envName('zk-session-timeout')).toBe('DUORAFT_ZK_SESSION_TIMEOUT');
    expect(envName('log-level')).toBe('DUORAFT_LOG_LEVEL');
  });
});

describe('the config file', () => {
  it('reads YAML and JSON mappings', () => {
    const yaml = parseConfigText('n.yaml', '# comment\nid: a\nvoters: [a, b]\nzk-session-timeout: 6000\n');
    expect(yaml).toEqual({ path: 'n.yaml', values: new Map<string, unknown>([['id', 'a'], ['voters', ['a', 'b']], ['zk-session-timeout', 6000]]) });
    expect(parseConfigText('n.json', '{"id": "a"}')).toEqual({ path: 'n.json', values: new Map([['id', 'a']]) });
    expect(parseConfigText('empty.yaml', '')).toEqual({ path: 'empty.yaml', values: new Map() });
  });
  it('refuses what is not a flat mapping, duplicate keys and aliases', () => {
    expect(parseConfigText('l.yaml', '- a\n- b\n')).toMatchObject({ problem: expect.stringContaining('must hold a mapping') });
    expect(parseConfigText('d.yaml', 'id: a\nid: b\n')).toMatchObject({ problem: expect.stringContaining('does not parse') });
    expect(parseConfigText('a.yaml', 'x: &x 1\ny: *x\n')).toMatchObject({ problem: expect.stringContaining('does not parse') });
    expect(parseConfigText('b.json', '{"id": ')).toMatchObject({ problem: expect.stringContaining('b.json does not parse') });
  });
});

describe('node rules', () => {
  const valid = resolveSchema(nodeSettings, { flags: { id: 'a', listen: '[::1]:0', data: 'd' }, env: {}, file: null });

  it('pass a valid configuration, IPv6 listen address included', () => {
    expect(valid.problems).toEqual([]);
    expect(nodeRules(valid.values)).toEqual([]);
  });

  it('report the cross-field rules of NodeConfig with the flags that set them', () => {
    const v = { ...valid.values, 'lease-interval-ms': 80, 'zk-user': 'u', 'tls-ca': 'ca.pem', 'tls-cert': 'a.pem' };
    expect(nodeRules(v)).toEqual([
      '--zk-user and --zk-password go together (env DUORAFT_ZK_USER and DUORAFT_ZK_PASSWORD)',
      'a node with --tls-ca needs --tls-cert and --tls-key (its voter certificate)',
      'leaseIntervalMs must be at most half of leaseDurationMs (a lost touch must not end the lease) (set by --lease-duration-ms, --lease-interval-ms)',
    ]);
  });
});

describe('the config middleware', () => {
  const specs = new Map([...kvCommandSpecs, ['node', nodeSpec]]);
  const middleware = configMiddleware((path) => specs.get(path.join(' ')), commonSettings, {});

  async function problemsOf(argv: Record<string, unknown>): Promise<readonly string[]> {
    try {
      await middleware(argv);
      return [];
    } catch (err) {
      if (err instanceof ConfigProblemsError) return err.problems;
      throw err;
    }
  }

  it('takes positionals after -- (incr n -- -5) and writes resolved values back', async () => {
    const argv: Record<string, unknown> = { _: ['incr'], $0: 'duoraft', key: 'n', '--': ['-5'] };
    await middleware(argv);
    expect(argv['delta']).toBe(-5);
    expect(argv['timeout']).toBe(10_000);
    expect(resolutionOf(argv)?.origins['delta']).toEqual({ source: 'flag', where: 'DELTA' });
  });

  it('reports unknown flags, extra arguments and bad values together', async () => {
    expect(await problemsOf({ _: ['incr'], $0: 'duoraft', key: 'n', delta: 'x', bogus: true, '--': ['7'] })).toEqual([
      'unexpected argument "7" (see duoraft incr --help)',
      'unknown flag --bogus (see duoraft incr --help)',
      'DELTA must be an integer from -9007199254740991 to 9007199254740991, not "x"',
    ]);
  });

  it('checks rules only once each value is valid', async () => {
    expect(await problemsOf({ _: ['put'], $0: 'duoraft', key: 'k', value: 'v', stdin: true })).toEqual([
      'put takes exactly one of VALUE, --stdin or --value-file',
    ]);
    expect(await problemsOf({ _: ['put'], $0: 'duoraft', key: 'k', value: 'v', stdin: true, timeout: '0' })).toEqual([
      '--timeout must be an integer from 1 to 3600000 (ms), not "0"',
    ]);
  });

  it('resolves the shared settings of commands without a spec (chaos, bench, demo)', async () => {
    const argv: Record<string, unknown> = { _: ['bench'], $0: 'duoraft', concurrency: 8 };
    await middleware(argv);
    expect(argv).toMatchObject({ zk: '127.0.0.1:2181', cluster: 'default', json: false, timeout: 10_000, concurrency: 8 });
    // Their numbers, which yargs made NaN from text, are refused.
    expect(await problemsOf({ _: ['chaos'], $0: 'duoraft', seed: Number.NaN, timeout: '0' })).toEqual([
      '--seed must be a number',
      '--timeout must be an integer from 1 to 3600000 (ms), not "0"',
    ]);
  });
});
