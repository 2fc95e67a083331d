// The flags of issue 14 parts 1-2 in the configuration schema: `duoraft node --metrics
// HOST:PORT` (also DUORAFT_METRICS and the config file) and `duoraft health --address
// --service --timeout`, checked like every other setting before anything starts.
import { describe, expect, it } from 'vitest';
import { configMiddleware, ConfigProblemsError } from '../../../src/cli/config/command-config.js';
import { commonSettings } from '../../../src/cli/config/settings.js';
import { healthSpec } from '../../../src/cli/health-command.js';
import { nodeSpec } from '../../../src/cli/node-command.js';

const specs = new Map([
  ['node', nodeSpec],
  ['health', healthSpec],
]);

async function resolve(argv: Record<string, unknown>, env: Record<string, string> = {}): Promise<{ argv: Record<string, unknown>; problems: readonly string[] }> {
  const middleware = configMiddleware((path) => specs.get(path.join(' ')), commonSettings, env);
  try {
    await middleware(argv);
    return { argv, problems: [] };
  } catch (err) {
    if (err instanceof ConfigProblemsError) return { argv, problems: err.problems };
    throw err;
  }
}

const node = (extra: Record<string, unknown>): Record<string, unknown> => ({ _: ['node'], $0: 'duoraft', id: 'a', listen: '127.0.0.1:7001', data: '/tmp/x', ...extra });

describe('duoraft node --metrics', () => {
  it('takes HOST:PORT (IPv6 in brackets, port 0 allowed) from the flag or DUORAFT_METRICS; absent means off', async () => {
    expect((await resolve(node({ metrics: '[::1]:9464' }))).argv['metrics']).toBe('[::1]:9464');
    expect((await resolve(node({ metrics: '0.0.0.0:0' }))).argv['metrics']).toBe('0.0.0.0:0');
    expect((await resolve(node({}), { DUORAFT_METRICS: '127.0.0.1:9464' })).argv['metrics']).toBe('127.0.0.1:9464');
    const off = await resolve(node({}));
    expect(off.problems).toEqual([]);
    expect(off.argv['metrics']).toBeUndefined();
  });

  it('refuses an address that is not one, naming the flag', async () => {
    const { problems } = await resolve(node({ metrics: '::1:9464' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^--metrics must be HOST:PORT .*not "::1:9464"/);
    expect(problems[0]).toContain('brackets');
    expect((await resolve(node({ metrics: 'localhost' }))).problems[0]).toMatch(/^--metrics /);
  });
});

describe('duoraft health', () => {
  it('defaults to 127.0.0.1:7001, the whole member, and a 2 s deadline', async () => {
    const { argv, problems } = await resolve({ _: ['health'], $0: 'duoraft' });
    expect(problems).toEqual([]);
    expect(argv).toMatchObject({ address: '127.0.0.1:7001', timeout: 2000 });
    expect(argv['service']).toBeUndefined();
  });

  it('refuses a bad address, an unknown service, and a token without TLS, all at once where it can', async () => {
    const bad = await resolve({ _: ['health'], $0: 'duoraft', address: 'nohost', service: 'other' });
    expect(bad.problems).toHaveLength(2);
    expect(bad.problems[0]).toMatch(/^--address must be HOST:PORT/);
    expect(bad.problems[1]).toMatch(/^--service must be "duoraft.client.Kv"/);
    const token = await resolve({ _: ['health'], $0: 'duoraft', token: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' });
    expect(token.problems).toEqual(['a cluster token needs TLS (--tls-ca): without it the token would travel in clear text']);
  });
});
