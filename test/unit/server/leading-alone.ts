// Node a of a two-voter cluster, leading alone on the scripted ZooKeeper and a manual clock
// (b is configured but never runs, so a transfer waits until it gives up): how the stop and
// transfer tests stand a driver up.
import type { DuoraftError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { SeededRandom } from '../../../src/core/random.js';
import { defaultLimits, defaultTiming, type NodeConfig } from '../../../src/server/node-config.js';
import { NodeDriver } from '../../../src/server/node-driver.js';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import type { PeerTransport } from '../../../src/transport/transport.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';
import { ManualClock } from './manual-clock.js';

export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export async function settleMany(): Promise<void> {
  for (let i = 0; i < 5; i++) await settle();
}

/** A transport to a peer that never answers. */
const silentPeer: PeerTransport = {
  send: () => undefined,
  setHandler: () => undefined,
  setPeerAddress: () => undefined,
  onPeerDisconnected: () => undefined,
  close: () => Promise.resolve(),
};

export type Outcome = { value: unknown } | { error: DuoraftError } | null;

/** How a promise settled so far (null: not yet). */
export function track<T>(p: Promise<T>): { outcome: () => Outcome } {
  let outcome: Outcome = null;
  p.then(
    (value) => (outcome = { value }),
    (error: DuoraftError) => (outcome = { error }),
  );
  return { outcome: () => outcome };
}

/** The error code an outcome carries, else the outcome itself. */
export function codeOf(o: Outcome): unknown {
  return o !== null && 'error' in o ? o.error.code : o;
}

export interface LeadingAlone {
  readonly d: NodeDriver;
  readonly clock: ManualClock;
  readonly zk: ScriptedZk;
  readonly walCloses: () => number;
}

/** Node a, leading alone (b is configured but never runs); counts the closes of its WAL. */
export async function leadingAlone(limits = defaultLimits, zk = new ScriptedZk()): Promise<LeadingAlone> {
  const clock = new ManualClock();
  const config: NodeConfig = { id: 'a', cluster: 't', advertise: 'a:1', voters: ['a', 'b'], timing: defaultTiming, limits };
  const wal = new MemoryWal();
  let closes = 0;
  const close = wal.close.bind(wal);
  wal.close = () => {
    closes++;
    return close();
  };
  const started = track(NodeDriver.start({ config, clock, random: new SeededRandom(1), logger: silentLogger, zk, transport: silentPeer, wal, recovery: { hardState: null, entries: [], warnings: [] } }));
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
  return { d, clock, zk, walCloses: () => closes };
}
