// The password derivation must match ZooKeeper's own (java.util.Random seeded with
// id ^ 0xB3415C00). The vectors came from the JVM: `java Pw.java <id>` running the same
// three lines as ZooKeeperServer.generatePasswd.
import { describe, expect, it } from 'vitest';
import { javaRandomBytes, parseSessionId, zkSessionPassword } from '../../../src/harness/zk-session-password.js';

describe('ZooKeeper session password', () => {
  it.each([
    ['0100002ace620001', '7fe4baac29baaa9e1f35a1884ea9acce'],
    ['0000000000000000', 'f22acd4a97e69d6d20a49bb638eadb38'],
    ['ffffffffffffffff', '20f62cb5648dc2d771471c8a2486a9ee'],
    // id ^ secret has its low 32 bits zero: the seed is just the high word.
    ['7fffffffb3415c00', '60b471d4385156627acbccc9be707e85'],
  ])('session %s has the password the JVM computes', (id, password) => {
    expect(zkSessionPassword(id).toString('hex')).toBe(password);
  });

  it('fills a length that is not a multiple of four like nextBytes does', () => {
    // nextBytes takes each int's bytes from the low end: the first 3 bytes of 5 are the first int's low bytes.
    const five = javaRandomBytes(42n, 5);
    const eight = javaRandomBytes(42n, 8);
    expect(five.subarray(0, 4)).toEqual(eight.subarray(0, 4));
    expect(five[4]).toBe(eight[4]);
  });

  it('refuses what is not a session id', () => {
    expect(() => parseSessionId('not-hex')).toThrow(/session id/);
    expect(() => parseSessionId('01234567890abcdef')).toThrow(/session id/);
  });
});
