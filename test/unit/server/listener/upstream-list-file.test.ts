// The list of upstreams a listener may use survives a restart; a damaged list is ignored.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/common/logger.js';
import { MAX_UPSTREAMS, mergeUpstreams, readUpstreamList, upstreamListPath, writeUpstreamList } from '../../../../src/server/listener/upstream-list-file.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('listener upstream list', () => {
  it('is written durably and read back after a restart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'upstreams-'));
    expect(await readUpstreamList(dir, silentLogger)).toEqual([]);
    const list = [{ id: 'b', address: '127.0.0.1:7001' }, { id: 'l2', address: '127.0.0.1:7003' }];
    await writeUpstreamList(dir, list);
    expect(await readUpstreamList(dir, silentLogger)).toEqual(list);
  });

  it('a damaged or hand-broken file is ignored, not trusted', async () => {
    dir = await mkdtemp(join(tmpdir(), 'upstreams-'));
    await writeFile(upstreamListPath(dir), '{"upstreams": [{"id": "b", "address": "no port"}]}');
    expect(await readUpstreamList(dir, silentLogger)).toEqual([]);
    await writeFile(upstreamListPath(dir), '{not json');
    expect(await readUpstreamList(dir, silentLogger)).toEqual([]);
  });

  it('merging puts what was seen now first, one entry per id, bounded', () => {
    const seen = [{ id: 'b', address: 'h:2' }];
    const known = [{ id: 'b', address: 'h:1' }, { id: 'c', address: 'h:3' }];
    expect(mergeUpstreams(seen, known)).toEqual([{ id: 'b', address: 'h:2' }, { id: 'c', address: 'h:3' }]);
    const many = Array.from({ length: 100 }, (_, i) => ({ id: `m${i}`, address: `h:${i + 1}` }));
    expect(mergeUpstreams(many, []).length).toBe(MAX_UPSTREAMS);
  });
});
