// Start-up survives ZooKeeper coming and going (issue 10 point 5): transient ZooKeeper
// errors are retried with backoff, anything else is thrown at once.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { ZkError, type ZkConnectionState } from '../../../src/coordination/zk-api.js';
import { retryWhileZkUnavailable, waitForZooKeeper } from '../../../src/server/startup-retry.js';
import { ManualClock } from './manual-clock.js';

/** A session that connects after `failures` waits, each of which times out at once. */
function fakeZk(clock: ManualClock, failures: number): { waitConnected(ms: number): Promise<void>; state: ZkConnectionState; waits: number[] } {
  let left = failures;
  const z = {
    state: 'disconnected' as ZkConnectionState,
    waits: [] as number[],
    waitConnected(ms: number): Promise<void> {
      z.waits.push(ms);
      if (left-- > 0) {
        clock.jump(clock.now() + ms);
        return Promise.reject(new ZkError('TIMEOUT', '', 'not connected'));
      }
      z.state = 'connected';
      return Promise.resolve();
    },
  };
  return z;
}

/** Runs the promise while advancing the clock through its backoff sleeps. */
async function drive<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false;
  const settled = p.finally(() => {
    done = true;
  });
  for (let i = 0; i < 10_000 && !done; i++) {
    await new Promise((r) => setImmediate(r));
    clock.jump(clock.now() + 50);
  }
  return settled;
}

describe('start-up retries while ZooKeeper is unavailable', () => {
  it('waits for ZooKeeper as long as it takes when no bound is given', async () => {
    const clock = new ManualClock();
    const zk = fakeZk(clock, 12);
    await waitForZooKeeper('starting', { zk, clock, logger: silentLogger });
    expect(zk.waits.length).toBe(13);
  });

  it('gives up after the bound when one is given', async () => {
    const clock = new ManualClock();
    const zk = fakeZk(clock, 100);
    await expect(waitForZooKeeper('starting', { zk, clock, logger: silentLogger, giveUpAfterMs: 12_000 })).rejects.toThrow(ZkError);
    expect(clock.now()).toBeGreaterThanOrEqual(12_000);
    expect(clock.now()).toBeLessThan(20_000);
  });

  it('runs a step again after connection loss, not connected, timeout and session expiry, with growing backoff', async () => {
    const clock = new ManualClock();
    const zk = fakeZk(clock, 0);
    const codes = ['CONNECTION_LOSS', 'NOT_CONNECTED', 'TIMEOUT', 'SESSION_EXPIRED'] as const;
    const at: number[] = [];
    let calls = 0;
    const result = await drive(
      clock,
      retryWhileZkUnavailable(
        'starting',
        async () => {
          at.push(clock.now());
          const code = codes[calls++];
          if (code) throw new ZkError(code, '/duoraft', `ZooKeeper create /duoraft: ${code}`);
          return 'started';
        },
        { zk, clock, logger: silentLogger },
      ),
    );
    expect(result).toBe('started');
    expect(calls).toBe(5);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]!);
    expect(gaps[gaps.length - 1]!).toBeGreaterThan(gaps[0]!);
  });

  it('throws any other error at once (a refused write is not retried)', async () => {
    const clock = new ManualClock();
    const zk = fakeZk(clock, 0);
    let calls = 0;
    const step = (): Promise<never> => {
      calls++;
      return Promise.reject(new ZkError('BAD_VERSION', '/duoraft/x/epoch'));
    };
    await expect(retryWhileZkUnavailable('starting', step, { zk, clock, logger: silentLogger })).rejects.toMatchObject({ code: 'BAD_VERSION' });
    expect(calls).toBe(1);
  });
});
