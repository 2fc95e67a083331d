// The pure parts of transport security: certificate identities, the token check, the
// warning throttle, and which ZooKeeper ACLs count as world-writable.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/common/clock.js';
import { ConfigError } from '../../../src/common/errors.js';
import type { Logger } from '../../../src/common/logger.js';
import { silentLogger } from '../../../src/common/logger.js';
import { worldWritable, ZK_PERMS } from '../../../src/coordination/zk-acl.js';
import { bearerValue, TokenCheck, tokenFromFile, validateToken } from '../../../src/transport/client-token.js';
import { sanUris, voterIdOf, voterIdentity } from '../../../src/transport/tls-identity.js';
import { WarningThrottle } from '../../../src/common/warning-throttle.js';

describe('voter identities in certificates', () => {
  it('finds the one voter of the cluster a SAN names', () => {
    expect(voterIdentity('c1', 'a')).toBe('duoraft://c1/voter/a');
    expect(voterIdOf('URI:duoraft://c1/voter/a, IP Address:127.0.0.1, DNS:localhost', 'c1')).toEqual({ id: 'a' });
  });

  it('refuses another cluster, a client identity, no URI, two voters, and quoted values', () => {
    expect(voterIdOf('URI:duoraft://c2/voter/a', 'c1')).toHaveProperty('problem');
    expect(voterIdOf('URI:duoraft://c1/client/a', 'c1')).toHaveProperty('problem');
    expect(voterIdOf('DNS:a, IP Address:127.0.0.1', 'c1')).toHaveProperty('problem');
    expect(voterIdOf(undefined, 'c1')).toHaveProperty('problem');
    expect(voterIdOf('URI:duoraft://c1/voter/a, URI:duoraft://c1/voter/b', 'c1')).toEqual({ problem: expect.stringContaining('several voters') as unknown });
    // Node quotes a SAN value holding ", " so it cannot smuggle a second entry in.
    expect(sanUris('URI:"duoraft://c1/voter/a, URI:x"')).toEqual([]);
    expect(sanUris('URI:"x\\", y", DNS:"a, b", URI:duoraft://c1/voter/b')).toEqual(['duoraft://c1/voter/b']);
    expect(voterIdOf('URI:duoraft://c1/voter/a/extra', 'c1')).toHaveProperty('problem');
    expect(voterIdOf('URI:duoraft://c1/voter/', 'c1')).toHaveProperty('problem');
  });
});

describe('the cluster token', () => {
  const token = 'a'.repeat(16) + '0123456789abcdef';

  it('accepts exactly "Bearer <token>"', () => {
    const check = new TokenCheck(token);
    expect(check.matches([bearerValue(token)])).toBe(true);
    expect(check.matches([`Bearer ${token}x`])).toBe(false);
    expect(check.matches([token])).toBe(false);
    expect(check.matches([`bearer ${token}`])).toBe(false);
    expect(check.matches([])).toBe(false);
    expect(check.matches([Buffer.from(bearerValue(token))])).toBe(false);
    expect(check.matches(['Bearer wrong', bearerValue(token)])).toBe(true);
  });

  it('refuses short, long or odd tokens with CONFIG', () => {
    expect(() => validateToken('short')).toThrow(ConfigError);
    expect(() => validateToken('x'.repeat(4097))).toThrow(ConfigError);
    expect(() => validateToken('has a space in it, long enough')).toThrow(ConfigError);
    expect(() => new TokenCheck('')).toThrow(ConfigError);
    expect(tokenFromFile(`${token}\n`, 'f')).toBe(token);
    expect(() => tokenFromFile(`${token}\nsecond line\n`, 'f')).toThrow(ConfigError);
  });
});

describe('WarningThrottle', () => {
  it('logs one warning per kind per interval and counts the rest', () => {
    let now = 0;
    const clock = { now: () => now } as unknown as Clock;
    const lines: Array<Record<string, unknown>> = [];
    const logger = { ...silentLogger, warn: (fields: Record<string, unknown>) => lines.push(fields) } as unknown as Logger;
    const t = new WarningThrottle(logger, clock, 1000);
    for (let i = 0; i < 100; i++) t.warn('x', { i }, 'refused');
    t.warn('y', {}, 'other kind');
    expect(lines).toHaveLength(2);
    now = 1000;
    t.warn('x', { i: 100 }, 'refused');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ i: 100, suppressedSinceLast: 99 });
  });
});

describe('ZooKeeper ACLs', () => {
  it('counts world permissions beyond read as world-writable', () => {
    expect(worldWritable([{ scheme: 'world', id: 'anyone', perms: ZK_PERMS.ALL }])).toBe(true);
    expect(worldWritable([{ scheme: 'world', id: 'anyone', perms: ZK_PERMS.CREATE }])).toBe(true);
    expect(worldWritable([{ scheme: 'world', id: 'anyone', perms: ZK_PERMS.READ }])).toBe(false);
    expect(worldWritable([{ scheme: 'digest', id: 'u:hash', perms: ZK_PERMS.ALL }])).toBe(false);
  });
});
