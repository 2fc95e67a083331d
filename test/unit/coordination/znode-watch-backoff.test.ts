// A watched znode that does not decode (its handler throws) is read again with a growing
// backoff (review 15): the backoff was reset before the handler ran, so it was read, and a
// warning logged, every 10 ms for as long as it stayed corrupt.
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/common/logger.js';
import { silentLogger } from '../../../src/common/logger.js';
import { ZnodeWatch } from '../../../src/coordination/znode-watch.js';
import type { ZkSession } from '../../../src/coordination/zk-api.js';
import { ManualClock } from '../server/manual-clock.js';

describe('ZnodeWatch on a znode that does not decode', () => {
  it('reads it again at a growing interval, up to once a second, and takes a repaired one at once', async () => {
    const clock = new ManualClock();
    let reads = 0;
    let corrupt = true;
    let watcher: (() => void) | undefined;
    // Only what ZnodeWatch uses.
    const zk = {
      onStateChange: () => () => undefined,
      getData: (_path: string, w?: () => void) => {
        reads++;
        watcher = w;
        return Promise.resolve({ data: new Uint8Array([corrupt ? 0 : 1]), stat: { version: reads } });
      },
    } as unknown as ZkSession;
    let warnings = 0;
    const logger: Logger = Object.assign(Object.create(silentLogger) as Logger, { warn: () => void warnings++ });
    const seen: number[] = [];
    const w = new ZnodeWatch({
      zk,
      path: '/x',
      clock,
      logger,
      onChange: (st) => {
        if (!st.exists || st.data[0] === 0) throw new Error('does not decode');
        seen.push(st.data[0]!);
      },
    });
    for (let t = 5; t <= 5000; t += 5) {
      clock.jump(t);
      await new Promise<void>((r) => setImmediate(r));
    }
    // 10, 20, 40, ... 1000 ms: about 11 reads in 5 s (it was 500).
    expect(reads).toBeLessThanOrEqual(15);
    expect(warnings).toBe(reads);
    // Repaired: the watch set by the last read brings it in at once.
    corrupt = false;
    watcher?.();
    await new Promise<void>((r) => setImmediate(r));
    expect(seen).toEqual([1]);
    w.stop();
  });
});
