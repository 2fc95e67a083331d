import { describe, expect, it } from 'vitest';
import { joinPassThroughValues } from '../../../src/cli/pass-through-args.js';

describe('pass-through flag values (--node-args)', () => {
  it('joins the flag with its value even when the value starts with a dash', () => {
    expect(joinPassThroughValues(['bench', '--suite', '--node-args', '--wal-sync-interval-ms 0', '--json'])).toEqual(['bench', '--suite', '--node-args=--wal-sync-interval-ms 0', '--json']);
  });

  it('leaves the = form, other flags, a flag with nothing after it and everything after -- alone', () => {
    expect(joinPassThroughValues(['--node-args=--x 1', '--zk', 'h:1'])).toEqual(['--node-args=--x 1', '--zk', 'h:1']);
    expect(joinPassThroughValues(['bench', '--node-args'])).toEqual(['bench', '--node-args']);
    expect(joinPassThroughValues(['put', '--', '--node-args', 'v'])).toEqual(['put', '--', '--node-args', 'v']);
  });
});
