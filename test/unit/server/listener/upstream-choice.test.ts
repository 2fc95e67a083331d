// The upstream choice of a listener, by the RATIS-1298 rules (PROTOCOL.md section 9).
import { describe, expect, it } from 'vitest';
import { type CandidateProbe, chooseUpstream, rejection } from '../../../../src/server/listener/upstream-choice.js';

function probe(id: string, over: Partial<CandidateProbe> = {}): CandidateProbe {
  return { id, address: `127.0.0.1:${id.length + 1000}`, canFeed: true, depth: 0, listeners: 0, fanout: 2, path: [], ...over };
}

describe('upstream choice', () => {
  it('never the leader, even when it is the only voter that answers', () => {
    expect(chooseUpstream({ self: 'l1', leaderId: 'a', candidates: [probe('a')] })).toBeNull();
    expect(chooseUpstream({ self: 'l1', leaderId: 'a', candidates: [probe('a'), probe('b')] })?.id).toBe('b');
  });

  it('a member that says it cannot feed (it leads, or it is a depth-0 listener) is passed over', () => {
    const c = { self: 'l1', leaderId: '', candidates: [probe('b', { canFeed: false }), probe('l2', { depth: 1, path: ['a'] })] };
    expect(chooseUpstream(c)?.id).toBe('l2');
    expect(rejection(c.candidates[0]!, c)).toBe('cannot feed now');
  });

  it('the smallest depth wins; the depth of the listener is one more; its path starts with the upstream', () => {
    const choice = chooseUpstream({
      self: 'l9',
      leaderId: 'a',
      candidates: [probe('l3', { depth: 2, path: ['l1', 'b'] }), probe('l1', { depth: 1, path: ['b'] }), probe('b', { listeners: 2 })],
    });
    expect(choice).toEqual({ id: 'l1', address: '127.0.0.1:1002', depth: 2, path: ['l1', 'b'] });
  });

  it('a full upstream (fanout reached) is skipped; among equals the one with fewer listeners, then the smaller id', () => {
    expect(chooseUpstream({ self: 'x', leaderId: '', candidates: [probe('b', { listeners: 2 }), probe('l1', { depth: 1, path: ['b'] })] })?.id).toBe('l1');
    expect(chooseUpstream({ self: 'x', leaderId: '', candidates: [probe('b', { listeners: 1 }), probe('a', { listeners: 1 }), probe('c', { listeners: 0 })] })?.id).toBe('c');
    expect(chooseUpstream({ self: 'x', leaderId: '', candidates: [probe('b'), probe('a')] })?.id).toBe('a');
  });

  it('never itself, never one fed through itself (no cycles), and not one it avoids for now', () => {
    const c = {
      self: 'l1',
      leaderId: 'a',
      candidates: [probe('l1', { depth: 1 }), probe('l2', { depth: 2, path: ['l1', 'b'] }), probe('b', { listeners: 0 })],
      avoid: new Set(['b']),
    };
    expect(chooseUpstream(c)).toBeNull();
    expect(c.candidates.map((p) => rejection(p, c))).toEqual(['itself', 'fed through this listener', 'avoided for now']);
  });
});
