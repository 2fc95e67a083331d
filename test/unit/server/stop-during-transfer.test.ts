// Review 33: stop() while a leadership transfer waits (the driver on the scripted ZooKeeper
// and a manual clock: node a leads alone, b is configured but never runs, so a transfer
// waits until it gives up).
// - A transfer woken by stop() answers UNAVAILABLE (the member is shutting down), not false,
//   which the transfer-leader RPC reports as a TIMEOUT "still leads" that never timed out.
// - A stop that hands over first, joined by a second stop() meanwhile, shuts down once.
// - A stop that hands over first stops the node even when its transfer's wait is refused
//   (BUSY: the room of held requests is full); it used to reject and leave the node running.
import { describe, expect, it } from 'vitest';
import type { DuoraftError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { SeededRandom } from '../../../src/core/random.js';
import { defaultLimits, defaultTiming, type NodeConfig } from '../../../src/server/node-config.js';
import { NodeDriver } from '../../../src/server/node-driver.js';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import type { PeerTransport } from '../../../src/transport/transport.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';
import { ManualClock } from './manual-clock.js';

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** A transport to a peer that never answers. */
const silentPeer: PeerTransport = {
  send: () => undefined,
  setHandler: () => undefined,
  setPeerAddress: () => undefined,
  onPeerDisconnected: () => undefined,
  close: () => Promise.resolve(),
};

type Outcome = { value: unknown } | { error: DuoraftError } | null;

function track<T>(p: Promise<T>): { outcome: () => Outcome } {
  let outcome: Outcome = null;
  p.then(
    (value) => (outcome = { value }),
    (error: DuoraftError) => (outcome = { error }),
  );
  return { outcome: () => outcome };
}

/** Node a, leading alone (b is configured but never runs); counts the closes of its WAL. */
async function leadingAlone(limits = defaultLimits): Promise<{ d: NodeDriver; clock: ManualClock; walCloses: () => number }> {
  const clock = new ManualClock();
  const config: NodeConfig = { id: 'a', cluster: 't', advertise: 'a:1', voters: ['a', 'b'], timing: defaultTiming, limits };
  const wal = new MemoryWal();
  let closes = 0;
  const close = wal.close.bind(wal);
  wal.close = () => {
    closes++;
    return close();
  };
  const started = track(NodeDriver.start({ config, clock, random: new SeededRandom(1), logger: silentLogger, zk: new ScriptedZk(), transport: silentPeer, wal, recovery: { hardState: null, entries: [], warnings: [] } }));
  for (let i = 0; i < 200 && started.outcome() === null; i++) {
    clock.jump(clock.now() + 1);
    await settle();
  }
  const s = started.outcome();
  if (!s || !('value' in s)) throw new Error('the node did not start');
  const d = s.value as NodeDriver;
  for (let i = 0; i < 3000 && d.status().role !== 'leader'; i++) {
    clock.jump(clock.now() + 5);
    await settle();
  }
  if (d.status().role !== 'leader') throw new Error('the node did not take over');
  // The loop carries the role out on its next turn.
  clock.jump(clock.now() + 1);
  await settle();
  return { d, clock, walCloses: () => closes };
}

async function settleMany(): Promise<void> {
  for (let i = 0; i < 5; i++) await settle();
}

describe('stop() while a leadership transfer waits', () => {
  it('answers a transfer it woke with UNAVAILABLE, at once', async () => {
    const { d, clock } = await leadingAlone();
    const transfer = track(d.transferLeadership(5000));
    await settleMany();
    expect(transfer.outcome()).toBeNull();
    const before = clock.now();
    const stopped = track(d.stop());
    await settleMany();
    expect(clock.now()).toBe(before);
    expect(stopped.outcome()).toEqual({ value: undefined });
    const o = transfer.outcome();
    expect(o !== null && 'error' in o ? o.error.code : o).toBe('UNAVAILABLE');
  });

  it('shuts down once when stopped again while it hands over', async () => {
    const { d, walCloses } = await leadingAlone();
    const handingOver = track(d.stop({ transfer: true, transferTimeoutMs: 5000 }));
    await settleMany();
    expect(handingOver.outcome()).toBeNull();
    const again = track(d.stop());
    await settleMany();
    expect(again.outcome()).toEqual({ value: undefined });
    expect(handingOver.outcome()).toEqual({ value: undefined });
    expect(walCloses()).toBe(1);
    expect(d.figures().stopped).toBe(true);
  });

  it('stops even when held requests fill the room its transfer waits in', async () => {
    const { d, clock } = await leadingAlone({ ...defaultLimits, maxPendingProposals: 4 });
    // A transfer (an operator's) holds writes; the room fills: 1 transfer + 3 writes.
    const first = track(d.transferLeadership(60_000));
    const writes = [1, 2, 3].map((k) => track(d.submit({ kind: 'put', key: `k${k}`, value: new Uint8Array([k]) })));
    await settleMany();
    expect(writes.map((w) => w.outcome())).toEqual([null, null, null]);
    // The transfer gives up in the core (b never catches up); the loop's next turn would
    // wake the room. Before that turn, a SIGTERM's stop hands over again.
    for (let i = 0; i < 10_000 && d.figures().transferring; i++) {
      clock.jump(clock.now() + defaultTiming.tickMs);
      if (!d.figures().transferring) break;
      await settle();
    }
    expect(d.figures().transferring).toBe(false);
    const stopped = track(d.stop({ transfer: true, transferTimeoutMs: 5000 }));
    for (let i = 0; i < 50 && stopped.outcome() === null; i++) {
      clock.jump(clock.now() + 10);
      await settle();
    }
    expect(stopped.outcome()).toEqual({ value: undefined });
    expect(d.figures().stopped).toBe(true);
    expect(first.outcome()).not.toBeNull();
  });
});
