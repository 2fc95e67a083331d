// The core's own checks on its tick settings (src/core/config.ts).
import { describe, expect, it } from 'vitest';
import { CHAIN_BYTES } from '../../../src/core/chain.js';
import { type CoreConfig, defaultCoreTicks, validateCoreConfig } from '../../../src/core/config.js';

const config = (over: Partial<CoreConfig> = {}): CoreConfig => ({ id: 'a', peer: 'b', genesis: new Uint8Array(CHAIN_BYTES), ...defaultCoreTicks, ...over }) as CoreConfig;

describe('validateCoreConfig', () => {
  it('accepts the defaults', () => {
    expect(validateCoreConfig(config())).toEqual([]);
  });

  it('refuses a pre-vote timeout of an election timeout or more: the pre-candidate asks again first, and it would never end (review 23)', () => {
    const e = defaultCoreTicks.electionTimeoutTicks;
    expect(validateCoreConfig(config({ preVoteTimeoutTicks: e - 1 }))).toEqual([]);
    expect(validateCoreConfig(config({ preVoteTimeoutTicks: e }))).toEqual([expect.stringContaining('preVoteTimeoutTicks')]);
    expect(validateCoreConfig(config({ preVoteTimeoutTicks: 0 }))).toEqual([expect.stringContaining('preVoteTimeoutTicks')]);
  });
});
