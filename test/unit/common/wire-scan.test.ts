import { describe, expect, it } from 'vitest';
import { pb } from '../../../src/common/proto.js';
import { countTopLevelField } from '../../../src/common/wire-scan.js';

describe('countTopLevelField', () => {
  const batch = (n: number) => pb.client.PipelineRequestBatch.encode({ requests: Array.from({ length: n }, (_, i) => ({ id: i + 1, get: { key: `k${i}` } })) }).finish();

  it('counts a repeated field without decoding, and stops just past the limit', () => {
    expect(countTopLevelField(batch(0), 1, 10)).toBe(0);
    expect(countTopLevelField(batch(7), 1, 10)).toBe(7);
    expect(countTopLevelField(batch(150_000), 1, 1024)).toBe(1025);
  });

  it('says -1 for bytes that are not a message (the decoder then says why)', () => {
    expect(countTopLevelField(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f), 1, 10)).toBe(-1);
    expect(countTopLevelField(Uint8Array.of(0x0b), 1, 10)).toBe(-1); // wire type 3 (groups) is not used
    expect(countTopLevelField(Uint8Array.of(0x0a, 0x05, 0x01), 1, 10)).toBe(-1); // length past the end
  });

  it('is fast: a 1.8 MB batch of 150,000 operations is refused without allocating them', () => {
    const bytes = batch(150_000);
    const t = performance.now();
    for (let i = 0; i < 10; i++) countTopLevelField(bytes, 1, 1024);
    // Only the first 1025 elements are walked: far below a millisecond each time.
    expect(performance.now() - t).toBeLessThan(1000);
  });
});
