// runCleanup (cleanup-steps.ts): a step that throws does not stop the steps after it.
import { describe, expect, it } from 'vitest';
import { runCleanup } from '../../../src/harness/cleanup-steps.js';

describe('runCleanup', () => {
  it('runs every step after one that throws or rejects, and names each failure', async () => {
    const ran: string[] = [];
    const failures = await runCleanup([
      ['client', () => { ran.push('client'); throw new Error('close failed'); }],
      ['session', async () => { ran.push('session'); await Promise.reject(new Error('lost')); }],
      ['cluster', async () => { ran.push('cluster'); }],
      ['zookeeper', () => { ran.push('zookeeper'); }],
    ]);
    expect(ran).toEqual(['client', 'session', 'cluster', 'zookeeper']);
    expect(failures).toEqual(['client: close failed', 'session: lost']);
  });

  it('returns no failure when every step succeeds', async () => {
    expect(await runCleanup([['a', () => undefined]])).toEqual([]);
  });
});
