// The listener's side of a stream: it follows its upstream's depth and path as each batch
// tells them, and ends the link when that path names the listener itself (a cycle; found by
// the simulator, --mix listeners seed 1).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/common/logger.js';
import type { FeedConnector, FeedStreamSink } from '../../../../src/server/listener/feed-connector.js';
import { type LinkEnd, UpstreamLink } from '../../../../src/server/listener/upstream-link.js';
import { ManualClock } from '../manual-clock.js';

function link(): { sink: () => FeedStreamSink; cancelled: () => boolean; paths: Array<[number, readonly string[]]>; ends: LinkEnd[] } {
  let sink: FeedStreamSink | null = null;
  let cancelled = false;
  const connector: FeedConnector = {
    probe: () => Promise.resolve(null),
    subscribe: (_address, _request, s) => {
      sink = s;
      return { cancel: () => (cancelled = true) };
    },
  };
  const paths: Array<[number, readonly string[]]> = [];
  const ends: LinkEnd[] = [];
  new UpstreamLink({
    cluster: 'c',
    selfId: 'l3',
    upstreamId: 'l1',
    address: 'l1:1',
    connector,
    clock: new ManualClock(),
    logger: silentLogger,
    heartbeatMs: 500,
    fromIndex: 1,
    prevChain: new Uint8Array(0),
    onEntries: () => undefined,
    onUpstreamCommit: () => undefined,
    onUpstreamPath: (depth, path) => paths.push([depth, path]),
    onEnd: (end) => ends.push(end),
  });
  return { sink: () => sink!, cancelled: () => cancelled, paths, ends };
}

describe('upstream link', () => {
  it('follows the upstream\'s depth and path from its heartbeats', () => {
    const l = link();
    l.sink().batch({ upstreamCommit: 5, upstreamDepth: 1, path: ['a'] });
    l.sink().batch({ upstreamCommit: 6, upstreamDepth: 2, path: ['l2', 'b'] });
    expect(l.paths).toEqual([
      [1, ['a']],
      [2, ['l2', 'b']],
    ]);
    expect(l.ends).toEqual([]);
  });

  it('ends the link when the upstream turns out to be fed through this listener', () => {
    const l = link();
    l.sink().batch({ upstreamCommit: 6, upstreamDepth: 3, path: ['l2', 'l3', 'a'] });
    expect(l.ends.length).toBe(1);
    expect(l.ends[0]!.reason).toMatch(/a cycle: l1 is fed through this listener/);
    expect(l.cancelled()).toBe(true);
    expect(l.paths).toEqual([]);
  });
});
