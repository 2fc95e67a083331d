// The feeder an upstream runs: committed entries only, batched, heartbeats when idle, at
// most `fanout` listeners, and every stream ended with a reason when it must be.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/common/logger.js';
import type { duoraft } from '../../../../src/common/proto.js';
import { chainNext, genesisChain } from '../../../../src/core/chain.js';
import { type ChainedEntry, EntryType } from '../../../../src/core/types.js';
import { type FeedSource, ListenerFeeder, SWEEP_MS } from '../../../../src/server/listener/feeder.js';
import { ManualClock } from '../manual-clock.js';

const genesis = genesisChain('c');
type Batch = duoraft.listener.FeedBatch.$Properties;

function chained(n: number): ChainedEntry[] {
  const out: ChainedEntry[] = [];
  let prev = genesis;
  for (let i = 1; i <= n; i++) {
    const e = { index: i, term: 1, type: EntryType.Normal, data: new Uint8Array(10) };
    prev = chainNext(prev, e);
    out.push({ ...e, chain: prev });
  }
  return out;
}

class Source implements FeedSource {
  leading = false;
  commit = 0;
  firstHeld = 1;
  /** The members this source is fed through (a listener's path). */
  fedThrough: string[] = [];
  constructor(readonly log: ChainedEntry[]) {}
  cannotFeed(): string | null {
    return this.leading ? 'it leads' : null;
  }
  depth(): number {
    return 0;
  }
  path(): readonly string[] {
    return this.fedThrough;
  }
  committedIndex(): number {
    return this.commit;
  }
  entryAt(i: number): ChainedEntry | undefined {
    return i >= this.firstHeld && i <= this.log.length ? this.log[i - 1] : undefined;
  }
  chainAt(i: number): Uint8Array | undefined {
    return i === 0 ? genesis : this.entryAt(i)?.chain;
  }
}

/** A stand-in for the server stream grpc-js hands the handler. */
class FakeCall extends EventEmitter {
  readonly written: Batch[] = [];
  ended = false;
  constructor(readonly request: { ok: true; request: duoraft.listener.SubscribeRequest }) {
    super();
  }
  /** While set, write() reports a full buffer (grpc-js then emits 'drain' later). */
  full = false;
  write(b: Batch): boolean {
    this.written.push(b);
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
  entries(): number[] {
    return this.written.flatMap((b) => (b.entries ?? []).map((e) => e.index ?? 0));
  }
  endReason(): string {
    return this.written.map((b) => b.endReason ?? '').find((r) => r !== '') ?? '';
  }
}

function setup(fanout = 2, entries = 2000): { clock: ManualClock; src: Source; feeder: ListenerFeeder; subscribe: (id: string, from: number, prev?: Uint8Array) => FakeCall } {
  const clock = new ManualClock();
  const src = new Source(chained(entries));
  const feeder = new ListenerFeeder({ cluster: 'c', source: src, clock, logger: silentLogger, fanout, heartbeatMs: 500 });
  const subscribe = (id: string, from: number, prev?: Uint8Array): FakeCall => {
    const call = new FakeCall({ ok: true, request: { cluster: 'c', listenerId: id, fromIndex: from, prevChain: prev ?? new Uint8Array(0) } as duoraft.listener.SubscribeRequest });
    feeder.handlers().subscribe(call as never);
    return call;
  };
  return { clock, src, feeder, subscribe };
}

describe('listener feeder', () => {
  it('refuses a listener it is fed through (a cycle), whatever the listener\'s probe said', () => {
    // Found by the simulator (--mix listeners, seed 1): probes answered up to 500 ms before
    // the choice let l1, l2 and l3 feed each other in a ring, and none caught up again.
    const { src, subscribe } = setup();
    src.commit = 3;
    src.fedThrough = ['l2', 'l1', 'a'];
    const call = subscribe('l1', 1, genesis);
    expect(call.entries()).toEqual([]);
    expect(call.endReason()).toMatch(/a cycle: this member is fed through l1/);
    expect(call.ended).toBe(true);
  });

  it('sends committed entries only, in order, in batches, as the commit index moves', () => {
    const { clock, src, subscribe } = setup();
    src.commit = 3;
    const call = subscribe('l1', 1, genesis);
    expect(call.entries()).toEqual([1, 2, 3]);
    src.commit = 1500;
    clock.run(100, 5);
    const got = call.entries();
    expect(got.length).toBe(1500);
    expect(got.every((v, i) => v === i + 1)).toBe(true);
    // Batches are bounded.
    expect(Math.max(...call.written.map((b) => (b.entries ?? []).length))).toBeLessThanOrEqual(512);
  });

  it('heartbeats an idle listener with its commit index', () => {
    const { clock, src, subscribe } = setup();
    src.commit = 2;
    const call = subscribe('l1', 3);
    const before = call.written.length;
    clock.run(1600, 5);
    const beats = call.written.slice(before);
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats.every((b) => (b.entries ?? []).length === 0 && b.upstreamCommit === 2)).toBe(true);
  });

  it('at most fanout listeners; a third is refused with the reason', () => {
    const { src, subscribe, feeder } = setup(2);
    src.commit = 1;
    subscribe('l1', 1);
    subscribe('l2', 1);
    const third = subscribe('l3', 1);
    expect(third.ended).toBe(true);
    expect(third.endReason()).toMatch(/full/);
    expect(feeder.count()).toBe(2);
  });

  it('drops every listener once it leads, and refuses new ones while it does', () => {
    const { clock, src, subscribe, feeder } = setup();
    src.commit = 5;
    const call = subscribe('l1', 1);
    src.leading = true;
    // Within one sweep (a leader gets no kicks: it steps no AppendEntries or heartbeats).
    clock.run(SWEEP_MS + 5, 5);
    expect(call.ended).toBe(true);
    expect(call.endReason()).toMatch(/it leads/);
    expect(feeder.count()).toBe(0);
    expect(subscribe('l2', 1).endReason()).toMatch(/it leads/);
  });

  it('a listener asking for compacted entries is told so; one whose log differs is refused', () => {
    const { src, subscribe } = setup();
    src.commit = 100;
    src.firstHeld = 50;
    const behind = subscribe('l1', 10);
    expect(behind.written.at(-1)?.compacted).toBe(true);
    const wrong = subscribe('l2', 61, new Uint8Array(16).fill(1));
    expect(wrong.endReason()).toMatch(/differs/);
  });

  it('admin drop ends that listener\'s stream only', () => {
    const { src, subscribe, feeder } = setup();
    src.commit = 1;
    const a = subscribe('l1', 1);
    const b = subscribe('l2', 1);
    expect(feeder.drop('l1', 'dropped by an administrator')).toBe(true);
    expect(a.ended && !b.ended).toBe(true);
    expect(feeder.drop('l9', 'x')).toBe(false);
  });

  it('pushes within a turn of a kick, not at the next sweep; many kicks in one turn make one message', () => {
    const { clock, src, feeder, subscribe } = setup();
    src.commit = 3;
    const call = subscribe('l1', 1);
    expect(call.entries()).toEqual([1, 2, 3]);
    src.commit = 10;
    // No kick: nothing moves before the sweep.
    clock.jump(clock.now() + SWEEP_MS - 1);
    expect(call.entries().length).toBe(3);
    src.commit = 20;
    feeder.kick();
    feeder.kick();
    feeder.kick();
    const before = call.written.length;
    clock.jump(clock.now()); // the next turn: no time passes
    expect(call.entries()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(call.written.length).toBe(before + 1);
    // Never past the commit index, whatever the kicks.
    feeder.kick();
    clock.jump(clock.now());
    expect(Math.max(...call.entries())).toBe(20);
  });

  it('a backlog goes out in bounded turns (8 batches of at most 512 entries each), each turn queued right after the last', () => {
    const { clock, src, feeder, subscribe } = setup(2, 10_000);
    src.commit = 0;
    const call = subscribe('l1', 1);
    src.commit = 10_000;
    feeder.kick();
    clock.jump(clock.now());
    expect(call.entries().length).toBe(8 * 512);
    clock.jump(clock.now());
    expect(call.entries().length).toBe(2 * 8 * 512);
    clock.jump(clock.now());
    expect(call.entries().length).toBe(10_000);
    expect(call.entries().every((v, i) => v === i + 1)).toBe(true);
    expect(Math.max(...call.written.map((b) => (b.entries ?? []).length))).toBeLessThanOrEqual(512);
  });

  it('a full stream gets nothing more until it drains, then at once', () => {
    const { clock, src, feeder, subscribe } = setup();
    src.commit = 1;
    const call = subscribe('l1', 1);
    call.full = true;
    src.commit = 2;
    feeder.kick();
    clock.jump(clock.now());
    expect(call.entries()).toEqual([1, 2]); // the write that found the buffer full
    src.commit = 5;
    feeder.kick();
    clock.run(clock.now() + 3 * SWEEP_MS, 5);
    expect(call.entries()).toEqual([1, 2]);
    call.full = false;
    call.emit('drain');
    clock.jump(clock.now());
    expect(call.entries()).toEqual([1, 2, 3, 4, 5]);
  });

  it('a kick with no listener queues nothing', () => {
    const { clock, feeder } = setup();
    let fired = 0;
    const defer = clock.defer.bind(clock);
    clock.defer = (fn) => {
      fired++;
      defer(fn);
    };
    feeder.kick();
    expect(fired).toBe(0);
  });
});
