// A request that joins a queue after stop() began must not wait out its bound there: it is
// answered at once, UNAVAILABLE (this member is shutting down), like every request after
// stop (the driver on the scripted ZooKeeper and a manual clock; time does not move after
// stop(), so a request that settles did so because nothing held it).
import { describe, expect, it } from 'vitest';
import type { ZkOp, ZkOpResult } from '../../../src/coordination/zk-api.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';
import { codeOf, leadingAlone, settle, settleMany, track } from './leading-alone.js';

/** A ScriptedZk that holds the leader's confirmation (a lone epoch check) until released. */
class HeldConfirmZk extends ScriptedZk {
  holding = false;
  private held: Array<() => void> = [];

  override multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    if (!this.holding || ops.length !== 1 || ops[0]?.type !== 'check') return super.multi(ops);
    return new Promise((resolve, reject) => this.held.push(() => super.multi(ops).then(resolve, reject)));
  }

  heldCount(): number {
    return this.held.length;
  }

  release(): void {
    const held = this.held;
    this.held = [];
    for (const answer of held) answer();
  }
}

describe('requests that reach a queue after stop() began', () => {
  it('a linearizable read confirmed after stop() is answered at once, not after its timeout', async () => {
    const zk = new HeldConfirmZk();
    const { d, clock } = await leadingAlone(undefined, zk);
    const first = track(d.submit({ kind: 'put', key: 'k', value: new Uint8Array([1]) }));
    for (let i = 0; i < 20 && first.outcome() === null; i++) {
      clock.jump(clock.now() + 1);
      await settle();
    }
    expect(first.outcome()).not.toBeNull();
    // A second write: the loop hands it to the mirror, ZooKeeper commits it, and the core's
    // commit index moves on; the state machine applies it on the loop's next turn (not run:
    // the clock stands still), so the read's index is ahead of what is applied.
    const write = track(d.submit({ kind: 'put', key: 'k', value: new Uint8Array([2]) }));
    for (let i = 0; i < 20 && d.status().commitIndex === d.status().appliedIndex; i++) {
      clock.jump(clock.now() + 1);
      await settleMany();
    }
    expect(d.status().commitIndex).toBeGreaterThan(d.status().appliedIndex);
    zk.holding = true;
    const read = track(d.read('k', 'linearizable'));
    await settleMany();
    expect(zk.heldCount()).toBe(1);
    const stopped = track(d.stop());
    await settleMany();
    expect(stopped.outcome()).toEqual({ value: undefined });
    expect(codeOf(write.outcome())).toBe('UNKNOWN_OUTCOME');
    // ZooKeeper answers the confirmation now: the read goes on to wait for its index to apply,
    // which a stopped member never does.
    zk.release();
    await settleMany();
    expect(codeOf(read.outcome())).toBe('UNAVAILABLE');
  });
});
