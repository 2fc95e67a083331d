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

describe('runCleanup with a bound per step', () => {
  it('gives up a step that hangs past its bound and still runs the steps after it', async () => {
    const ran: string[] = [];
    const failures = await runCleanup([
      ['write load', () => new Promise<void>(() => undefined), 20],
      ['client', async () => { ran.push('client'); }, 1000],
      ['cluster', () => { ran.push('cluster'); }],
    ]);
    expect(ran).toEqual(['client', 'cluster']);
    expect(failures).toEqual(['write load: did not finish within 20 ms (abandoned; the next steps run)']);
  });

  it('keeps the error of a bounded step that fails in time', async () => {
    expect(await runCleanup([['client', () => Promise.reject(new Error('closed twice')), 1000]])).toEqual(['client: closed twice']);
  });
});
