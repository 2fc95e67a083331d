// A voter follows the config znode live (src/server/voter-config.ts): the peer in the core,
// the transport and the member-znode watch change together, and the fence learns the
// config version it must check.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { VoterConfig } from '../../../src/server/voter-config.js';

function setup(initial: string[]): { vc: VoterConfig; calls: string[] } {
  const calls: string[] = [];
  const vc = new VoterConfig(
    'a',
    initial,
    {
      setCorePeer: (p) => calls.push(`core ${p || '-'}`),
      setPeerAddress: (p, addr) => calls.push(`address ${p} ${addr || '-'}`),
      watchPeerMember: (p) => calls.push(`watch ${p || '-'}`),
      schedule: () => calls.push('schedule'),
    },
    silentLogger,
  );
  return { vc, calls };
}

describe('a voter following config', () => {
  it('forgets a demoted peer at once (core, transport, watch), and learns a promoted one', () => {
    const { vc, calls } = setup(['a', 'b']);
    expect(vc.peer()).toBe('b');
    vc.onPeerMember('b', 'b:1');
    vc.onConfig(3, ['a']);
    expect(vc.peer()).toBe('');
    expect(calls).toEqual(['address b b:1', 'address b -', 'core -', 'watch -', 'schedule']);
    expect(vc.configSeen()).toEqual({ version: 3, voter: true });
    calls.length = 0;
    vc.onConfig(4, ['a', 'l1']);
    expect(vc.peer()).toBe('l1');
    expect(calls).toEqual(['core l1', 'watch l1', 'schedule']);
    // An address of the old peer arriving late changes nothing.
    calls.length = 0;
    vc.onPeerMember('b', 'b:2');
    vc.onPeerMember('l1', 'l1:1');
    expect(calls).toEqual(['address l1 l1:1']);
  });

  it('a config without this node: recorded for the fence (not a voter), the peer kept until the role watch stops it', () => {
    const { vc, calls } = setup(['a', 'b']);
    vc.onConfig(5, ['b', 'l1']);
    expect(vc.configSeen()).toEqual({ version: 5, voter: false });
    expect(vc.peer()).toBe('b');
    expect(calls).toEqual([]);
  });

  it('an older config read arriving late is ignored', () => {
    const { vc } = setup(['a', 'b']);
    vc.onConfig(7, ['a', 'l1']);
    vc.onConfig(6, ['a', 'b']);
    expect(vc.peer()).toBe('l1');
    expect(vc.configSeen()).toEqual({ version: 7, voter: true });
  });
});
