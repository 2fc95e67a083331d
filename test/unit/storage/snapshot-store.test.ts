import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptSnapshotError, InvalidArgumentError } from '../../../src/common/errors.js';
import { KvStore } from '../../../src/statemachine/kv-store.js';
import { snapshotFileName } from '../../../src/storage/snapshot-files.js';
import { openLocalSnapshotStore, type LocalSnapshotStore, type SavedSnapshot } from '../../../src/storage/snapshot-store.js';
import { enc, fingerprint, pointAt, Writer } from '../statemachine/snapshot-helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'duoraft-snap-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function open(sub = 'snapshots', cluster = 'c1'): Promise<LocalSnapshotStore> {
  return openLocalSnapshotStore({ dir: join(dir, sub), cluster, slices: { sliceKeys: 16 }, readChunkBytes: 1000 });
}

/** A store with `keys` keys and two sessions, at some applied index. */
function filled(keys: number, salt = ''): { store: KvStore; w: Writer } {
  const store = new KvStore();
  const w = new Writer(store);
  w.noop();
  const sid = w.session(30_000, enc(`nonce${salt}`));
  w.session(10_000);
  for (let i = 0; i < keys; i++) w.apply({ kind: 'put', key: `key-${i}`, value: enc(`value-${i}${salt}`) }, { sessionId: sid, sequence: i + 1, firstOutstanding: Math.max(1, i - 2) });
  return { store, w };
}

async function save(snaps: LocalSnapshotStore, store: KvStore, term = 2): Promise<SavedSnapshot> {
  const view = store.openView();
  return snaps.save(pointAt(view.index, term), view);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

async function flipByte(file: string, offset: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[offset]! ^= 0x10;
  await writeFile(file, bytes);
}

describe('local snapshot store', () => {
  it('saves, lists and loads a snapshot: the file is complete, named by its point, and nothing else is left', async () => {
    const snaps = await open();
    const { store } = filled(100);
    const saved = await save(snaps, store);
    expect(saved.file).toBe(join(dir, 'snapshots', snapshotFileName(saved.point)));
    expect(await readdir(join(dir, 'snapshots'))).toEqual([snapshotFileName(saved.point)]);
    const bytes = await readFile(saved.file);
    expect(saved.sizeBytes).toBe(bytes.length);
    expect(saved.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(store.viewOpen()).toBe(false);

    const listed = await (await open()).list(); // a fresh store verifies from the file alone
    expect(listed).toEqual([saved]);
    const loaded = await snaps.load(listed[0]!);
    expect(loaded.point).toEqual(saved.point);
    expect(fingerprint(loaded.store)).toEqual(fingerprint(store));
  });

  it('saving goes on while a write loop keeps changing the store; the file holds the state at the view', async () => {
    const snaps = await open();
    const { store, w } = filled(2_000);
    const expected = fingerprint(store);
    let writes = 0;
    let saving = true;
    const loop = (): void => {
      if (!saving) return;
      w.apply({ kind: 'put', key: `key-${writes % 2_500}`, value: enc(`overwritten-${writes}`) });
      if (writes % 3 === 0) w.apply({ kind: 'delete', key: `key-${(writes * 7) % 2_000}` });
      writes++;
      setImmediate(loop);
    };
    const view = store.openView();
    setImmediate(loop);
    const saved = await snaps.save(pointAt(view.index), view);
    saving = false;
    expect(writes).toBeGreaterThan(10); // the loop really ran during the save
    const loaded = await snaps.load(saved);
    expect(fingerprint(loaded.store)).toEqual(expected);
  });

  it('a flipped byte anywhere: the file is set aside, named in the error, and the previous snapshot is used', async () => {
    const snaps = await open();
    const { store, w } = filled(40);
    const older = await save(snaps, store);
    w.apply({ kind: 'put', key: 'later', value: enc('x') });
    const newer = await save(snaps, store);
    const size = newer.sizeBytes;
    for (const offset of [0, 5, 12, 15, 20, 40, Math.floor(size / 3), Math.floor(size / 2), size - 60, size - 33, size - 1]) {
      const copy = await readFile(newer.file);
      await flipByte(newer.file, offset);
      const listed = await snaps.list();
      expect(listed.map((s) => s.point.index), `flip at ${offset}`).toEqual([older.point.index]);
      const names = await readdir(join(dir, 'snapshots'));
      expect(names).toContain(`${snapshotFileName(newer.point)}.corrupt`);
      expect(names).not.toContain(snapshotFileName(newer.point));
      await writeFile(newer.file, copy); // put it back for the next offset
      expect((await snaps.list()).length).toBe(2);
    }
    // load() of a file that went bad after it was listed: refused, named, set aside.
    await flipByte(newer.file, Math.floor(size / 2));
    const err = await snaps.load(newer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptSnapshotError);
    expect((err as CorruptSnapshotError).file).toBe(newer.file);
    expect((err as Error).message).toContain(newer.file);
    expect((await snaps.list()).map((s) => s.point.index)).toEqual([older.point.index]);
  });

  it('loadNewest falls back to the previous snapshot when the newest is corrupt, and says null when none is left', async () => {
    const snaps = await open();
    const { store, w } = filled(30);
    await save(snaps, store);
    const state = fingerprint(store);
    w.apply({ kind: 'put', key: 'later', value: enc('x') });
    const newer = await save(snaps, store);
    await snaps.list();
    await flipByte(newer.file, Math.floor(newer.sizeBytes / 2));
    const loaded = await snaps.loadNewest();
    expect(fingerprint(loaded!.store)).toEqual(state);
    const empty = await open('empty');
    expect(await empty.loadNewest()).toBeNull();
  });

  it('loadNewest checks and loads the newest in one pass and leaves the older ones to the next list (a restart reads 27 MB once, not three times)', async () => {
    const snaps = await open();
    const { store, w } = filled(30);
    const older = await save(snaps, store);
    w.apply({ kind: 'put', key: 'later', value: enc('x') });
    const newer = await save(snaps, store);
    const state = fingerprint(store);
    await flipByte(older.file, Math.floor(older.sizeBytes / 2));
    // A restart: a new store object, nothing checked yet.
    const restarted = await open();
    const loaded = await restarted.loadNewest();
    expect(fingerprint(loaded!.store)).toEqual(state);
    expect(loaded!.saved).toEqual(newer);
    // The older one was not read: still there until something lists.
    expect((await readdir(join(dir, 'snapshots'))).sort()).toEqual([snapshotFileName(older.point), snapshotFileName(newer.point)].sort());
    expect((await restarted.list()).map((x) => x.point.index)).toEqual([newer.point.index]);
  });

  it('loadNewest sets aside a newest snapshot of another cluster, or one whose content is not what its name says, and loads the older one', async () => {
    const snaps = await open();
    const { store, w } = filled(20);
    await save(snaps, store);
    const state = fingerprint(store);
    // A newer snapshot of another cluster in the same folder.
    w.apply({ kind: 'put', key: 'later', value: enc('x') });
    const foreign = await save(await open('snapshots', 'c2'), store);
    // And a file named for a later point than it holds.
    const misnamed = join(dir, 'snapshots', snapshotFileName(pointAt(foreign.point.index + 5, 2)));
    await writeFile(misnamed, await readFile(foreign.file));
    const loaded = await (await open()).loadNewest();
    expect(fingerprint(loaded!.store)).toEqual(state);
    const left = await readdir(join(dir, 'snapshots'));
    expect(left).not.toContain(snapshotFileName(foreign.point));
    expect(left).not.toContain(snapshotFileName(pointAt(foreign.point.index + 5, 2)));
    expect(left.filter((n) => n.includes('corrupt')).length).toBe(2);
  });

  it('unfinished temp files are ignored by list and removed when the store opens', async () => {
    const snaps = await open();
    const { store } = filled(20);
    const saved = await save(snaps, store);
    const bytes = await readFile(saved.file);
    const tempOfNewer = join(dir, 'snapshots', `${snapshotFileName(pointAt(saved.point.index + 5))}.99-1.tmp`);
    await writeFile(tempOfNewer, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await writeFile(join(dir, 'snapshots', `${snapshotFileName(saved.point)}.98-3.tmp`), new Uint8Array(0));
    expect(await snaps.list()).toEqual([saved]);
    await open();
    expect(await readdir(join(dir, 'snapshots'))).toEqual([snapshotFileName(saved.point)]);
  });

  it('a file cut short under its final name (a disk that lost its tail) is set aside', async () => {
    const snaps = await open();
    const { store, w } = filled(20);
    const older = await save(snaps, store);
    w.noop();
    const newer = await save(snaps, store);
    const bytes = await readFile(newer.file);
    await writeFile(newer.file, bytes.subarray(0, bytes.length - 10));
    expect(await (await open()).list()).toEqual([older]);
  });

  it('prune keeps the newest two', async () => {
    const snaps = await open();
    const { store, w } = filled(10);
    const saved: SavedSnapshot[] = [];
    for (let i = 0; i < 4; i++) {
      saved.push(await save(snaps, store, 1 + i));
      w.apply({ kind: 'put', key: `p${i}`, value: enc('v') });
    }
    const removed = await snaps.prune();
    expect(removed.sort()).toEqual([saved[0]!, saved[1]!].map((s) => snapshotFileName(s.point)).sort());
    expect((await snaps.list()).map((s) => s.point)).toEqual([saved[3]!.point, saved[2]!.point]);
    expect((await readdir(join(dir, 'snapshots'))).sort()).toEqual([saved[2]!, saved[3]!].map((s) => snapshotFileName(s.point)).sort());
    await expect(snaps.prune(0)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('a prune during a chunked read does not cut the stream', async () => {
    const snaps = await open();
    const { store, w } = filled(200);
    const first = await save(snaps, store);
    const chunks: Uint8Array[] = [];
    for await (const chunk of snaps.chunks(first, 512)) {
      if (chunks.length === 0) {
        for (let i = 0; i < 2; i++) {
          w.noop();
          await save(snaps, store);
        }
        expect(await snaps.prune()).toEqual([snapshotFileName(first.point)]);
      }
      chunks.push(chunk);
    }
    expect(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).toBe(first.sha256);
  });
});

describe('chunks out, chunks in', () => {
  it('a snapshot streamed in chunks is received, verified and loads to the same state', async () => {
    const from = await open('a');
    const to = await open('b');
    const { store } = filled(300);
    const saved = await save(from, store);
    const chunks = await collect(from.chunks(saved, 4096));
    expect(chunks.slice(0, -1).every((c) => c.length === 4096)).toBe(true);
    const received = await to.receive({ point: saved.point, sizeBytes: saved.sizeBytes, sha256: saved.sha256, source: 'voter a' }, (async function* () {
      yield* chunks;
    })());
    expect(received.sha256).toBe(saved.sha256);
    expect(await to.list()).toEqual([received]);
    expect(fingerprint((await to.load(received)).store)).toEqual(fingerprint(store));
  });

  it('refuses bytes that are not the expected snapshot, and leaves nothing behind', async () => {
    const from = await open('a');
    const other = await open('other-cluster', 'c2');
    const to = await open('b');
    const { store } = filled(50);
    const saved = await save(from, store);
    const good = Buffer.concat(await collect(from.chunks(saved, 1000)));
    const expected = { point: saved.point, sizeBytes: saved.sizeBytes, sha256: saved.sha256, source: 'zookeeper snapshots/x' };
    const flipped = Buffer.from(good);
    flipped[100]! ^= 1;
    const shaOf = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    const foreign = await save(other, store);
    const foreignBytes = await readFile(foreign.file);
    const cases: Array<[string, typeof expected, Uint8Array, RegExp]> = [
      ['flipped byte', expected, flipped, /SHA-256/],
      ['one byte more', expected, Buffer.concat([good, Buffer.from([0])]), /more than the expected/],
      ['cut short', expected, good.subarray(0, good.length - 1), /cut short/],
      // The SHA-256 matches what the sender says, but the content is not what it claims.
      ['another point', { ...expected, point: pointAt(saved.point.index + 1, 2) }, good, /expected index/],
      ['another cluster', { ...expected, sizeBytes: foreignBytes.length, sha256: shaOf(foreignBytes) }, foreignBytes, /cluster "c2"/],
      ['a broken record with a matching SHA-256', { ...expected, sha256: shaOf(flipped) }, flipped, /checksum mismatch/],
    ];
    for (const [what, exp, bytes, message] of cases) {
      const err = await to
        .receive(exp, (async function* () {
          for (let at = 0; at < bytes.length; at += 700) yield bytes.subarray(at, at + 700);
        })())
        .catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(CorruptSnapshotError);
      expect((err as Error).message, what).toMatch(message);
      expect((err as Error).message, what).toContain('zookeeper snapshots/x');
      expect(await readdir(join(dir, 'b')), what).toEqual([]);
    }
    await expect(to.receive({ ...expected, sha256: 'nope' }, collectable([]))).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('chunks() notices a file that changed after it was listed', async () => {
    const snaps = await open();
    const { store } = filled(50);
    const saved = await save(snaps, store);
    await flipByte(saved.file, 200);
    await expect(collect(snaps.chunks(saved, 1000))).rejects.toBeInstanceOf(CorruptSnapshotError);
    expect(await snaps.list()).toEqual([]);
  });
});

async function* collectable(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}
