// Issue 11, defect 5 and point 4: every znode duoraft writes carries its kind, a format
// version and a checksum. Before, `tail` set to the bytes "XXXX" decoded as last index 0 and
// `epoch` set to "XXXX" as term 0: an empty-disk node then led with commit 0.
import { describe, expect, it } from 'vitest';
import { CorruptZnodeError } from '../../../src/common/errors.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import {
  decodeConfig,
  decodeEpoch,
  decodeLeader,
  decodeLease,
  decodeMember,
  decodeTail,
  encodeConfig,
  encodeEpoch,
  encodeLeader,
  encodeLease,
  encodeMember,
  encodeTail,
} from '../../../src/coordination/records.js';

const paths = new ClusterPaths('t');
const xxxx = new TextEncoder().encode('XXXX');

describe('sealed znode records', () => {
  it('round-trip', () => {
    expect(decodeEpoch(paths.epoch, encodeEpoch({ term: 4, leaderId: 'a' }))).toEqual({ term: 4, leaderId: 'a' });
    expect(decodeTail(paths.tail, encodeTail({ term: 4, lastIndex: 90, segmentFirstIndex: 88 }))).toEqual({ term: 4, lastIndex: 90, segmentFirstIndex: 88 });
    expect(decodeLeader(paths.leader, encodeLeader({ id: 'a', term: 4, address: 'h:1' }))).toEqual({ id: 'a', term: 4, address: 'h:1' });
    expect(decodeConfig(paths.config, encodeConfig({ voters: ['a', 'b'], listeners: [] }))).toEqual({ voters: ['a', 'b'], listeners: [] });
    expect(decodeLease(paths.lease, encodeLease({ term: 4, leaderId: 'a', seq: 2, durationMs: 110, driftBound: 0.05 })).durationMs).toBe(110);
    expect(decodeMember(paths.member('a'), encodeMember({ id: 'a', address: 'h:1', kind: 'voter' })).id).toBe('a');
  });

  it('"XXXX" in tail or epoch is corrupt, naming the znode (it used to read as 0)', () => {
    expect(() => decodeTail(paths.tail, xxxx)).toThrow(CorruptZnodeError);
    expect(() => decodeTail(paths.tail, xxxx)).toThrow(new RegExp(`corrupt znode ${paths.tail}`));
    expect(() => decodeEpoch(paths.epoch, xxxx)).toThrow(new RegExp(`corrupt znode ${paths.epoch}`));
    expect(() => decodeEpoch(paths.epoch, new Uint8Array(0))).toThrow(/empty/);
  });

  it('a flipped bit, a record of another kind, or an unknown format is corrupt', () => {
    const tail = encodeTail({ term: 4, lastIndex: 90, segmentFirstIndex: 88 });
    for (let i = 0; i < tail.length; i++) {
      const bad = Uint8Array.from(tail);
      bad[i] = bad[i]! ^ 0x01;
      let refused = false;
      try {
        const r = decodeTail(paths.tail, bad);
        // A flip can only pass if it changed nothing the record holds (never, for a CRC over the body).
        refused = r.lastIndex !== 90 || r.term !== 4 || r.segmentFirstIndex !== 88;
      } catch (err) {
        refused = err instanceof CorruptZnodeError;
      }
      expect(refused, `flip at byte ${i}`).toBe(true);
    }
    expect(() => decodeTail(paths.tail, encodeEpoch({ term: 4, leaderId: 'a' }))).toThrow(/holds a "epoch" record, expected tail/);
  });
});
