// The fuzz suite's building blocks: the seeded stream, the protobuf wire codec and the
// mutators. A run replays from its seed only if these are deterministic, and a mutation is
// only useful if it produces what it says.
import { describe, expect, it } from 'vitest';
import { pb } from '../../../src/common/proto.js';
import { FuzzRandom } from '../../../src/harness/fuzz/fuzz-random.js';
import { LogScanner } from '../../../src/harness/fuzz/log-scan.js';
import { BYTE_MUTATIONS, mutate, mutateBytes, mutateFields } from '../../../src/harness/fuzz/mutate.js';
import { parseFields, serializeFields, U64_MAX, varint, type WireField } from '../../../src/harness/fuzz/wire.js';
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const show = (f: WireField): string => `${f.field}/${f.wire}/${f.wire === 0 ? f.value.toString() : hex(f.value)}`;

const heartbeat = (): Uint8Array =>
  pb.peer.HeartbeatRequest.encode({ cluster: 'c', from: 'a', to: 'b', term: 7, commit: 42, commitTerm: 7, commitChain: new Uint8Array(16).fill(3) }).finish();

describe('FuzzRandom', () => {
  it('replays: the same seed gives the same draws, rounds get unrelated streams', () => {
    const draw = (seed: number): number[] => {
      const r = new FuzzRandom(seed);
      return Array.from({ length: 20 }, () => r.int(1000));
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
    expect(FuzzRandom.roundSeed(1, 1)).toBe(FuzzRandom.roundSeed(1, 1));
    const seeds = new Set(Array.from({ length: 100 }, (_, k) => FuzzRandom.roundSeed(1, k + 1)));
    expect(seeds.size).toBe(100);
  });
});

describe('the wire codec', () => {
  it('takes a generated message apart and puts it back byte for byte', () => {
    const bytes = heartbeat();
    const fields = parseFields(bytes)!;
    expect(fields.map((f) => f.field)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(hex(serializeFields(fields))).toBe(hex(bytes));
  });

  it('writes 64-bit varints up to 2^64 - 1 and refuses bytes that are not fields, without throwing', () => {
    expect(varint(U64_MAX)).toHaveLength(10);
    const fields = parseFields(serializeFields([{ field: 4, wire: 0, value: U64_MAX }]))!;
    expect(fields[0]).toEqual({ field: 4, wire: 0, value: U64_MAX });
    const r = new FuzzRandom(9);
    for (let i = 0; i < 2000; i++) expect(() => parseFields(r.bytes(r.int(40)))).not.toThrow();
    expect(parseFields(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toBeNull();
  });
});

describe('mutations', () => {
  it('are deterministic for a seed', () => {
    const run = (): string[] => {
      const r = new FuzzRandom(42);
      return Array.from({ length: 50 }, () => {
        const m = mutate(r, heartbeat());
        return `${m.what}|${Buffer.from(m.bytes).toString('hex')}`;
      });
    };
    expect(run()).toEqual(run());
  });

  it('each byte mutation changes the bytes (or empties them)', () => {
    const r = new FuzzRandom(3);
    for (const kind of BYTE_MUTATIONS) {
      const input = heartbeat();
      const m = mutateBytes(r, input, kind);
      expect(Buffer.from(m.bytes).equals(Buffer.from(input)), kind).toBe(false);
      expect(m.what.length).toBeGreaterThan(0);
    }
  });

  it('field mutations keep the fields they are told to keep', () => {
    const r = new FuzzRandom(11);
    for (let i = 0; i < 300; i++) {
      const m = mutateFields(r, heartbeat(), { keep: new Set([1, 2, 3, 4, 5, 6]) });
      const fields = parseFields(m.bytes);
      if (!fields) continue; // a byte-level fallback or an overrun: nothing to compare
      for (const f of fields.filter((x) => x.field !== 7)) {
        const original = parseFields(heartbeat())!.find((x) => x.field === f.field);
        if (original && f.wire === original.wire) expect(show(f)).toBe(show(original));
      }
    }
  });

  it('an absurd number lands in a varint field', () => {
    const r = new FuzzRandom(1);
    let seen = 0;
    for (let i = 0; i < 500 && seen === 0; i++) {
      const m = mutateFields(r, heartbeat());
      if (m.what.includes('= 2^64-1')) seen++;
    }
    expect(seen).toBe(1);
  });
});

describe('the log scanner', () => {
  it('sorts crash lines from warnings and typed stops, and reads only what each log gained', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duoraft-logscan-'));
    try {
      const file = join(dir, 'a.log');
      await writeFile(file, '--- start 1 ---\n{"level":30,"msg":"serving"}\n{"level":50,"err":"ZkError: x","msg":"fenced but could not replay"}\n');
      const s = new LogScanner(new Map([['a', file]]));
      await s.scan(0);
      expect(s.failures).toEqual([]);
      await appendFile(
        file,
        [
          'file:///x/dist/storage/file-wal.js:205',
          "UnavailableError: the local WAL is closed",
          '    at FileWal.assertWritable (file:///x/dist/storage/file-wal.js:205:19)',
          '(node:12) MaxListenersExceededWarning: Possible EventEmitter memory leak detected.',
          '(Use `node --trace-warnings ...` to show where the warning was created)',
          'duoraft: CORRUPT_ZNODE: corrupt znode /duoraft/c/tail: empty',
          '',
        ].join('\n'),
      );
      await s.scan(3);
      expect(s.failures.map((f) => f.line)).toEqual(['UnavailableError: the local WAL is closed', '    at FileWal.assertWritable (file:///x/dist/storage/file-wal.js:205:19)']);
      expect(s.failures.every((f) => f.round === 3)).toBe(true);
      expect(s.warnings).toHaveLength(1);
      expect(s.stops.map((f) => f.line)).toEqual(['duoraft: CORRUPT_ZNODE: corrupt znode /duoraft/c/tail: empty']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
