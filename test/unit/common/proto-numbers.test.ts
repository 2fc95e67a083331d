import { expect, it } from 'vitest';
import { pb } from '../../../src/common/proto.js';
it('zero defaults are numbers', () => {
  const hs = pb.wal.HardState.decode(new Uint8Array(0));
  expect(typeof hs.term).toBe('number');
  const t = pb.wal.TailRecord.decode(pb.wal.TailRecord.encode({ term: 2, lastIndex: 2 ** 40 }).finish());
  expect(t.lastIndex).toBe(2 ** 40);
  expect(typeof t.segmentFirstIndex).toBe('number');
});
