// `duoraft bench --suite --keep-logs DIR`: a network part's nodes keep their folders and
// logs, at info, under DIR/<part>/, so that a figure that misses its target (a false
// failover in netns-latency-loss, say) can be explained afterwards; without the flag they
// are removed. A 3-second run of the part: what is checked is where the logs end up, not
// the figures.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-run.js';
import { netnsSkipReason, netnsTitle } from './netns-helpers.js';

let dir: string | null = null;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(netnsSkipReason !== null)(netnsTitle('bench --keep-logs'), () => {
  it('keeps each node\'s log of a network part, at info, under DIR/<part>/', async () => {
    dir = await mkdtemp(join(tmpdir(), 'duoraft-keep-logs-'));
    const r = await runCli(['bench', '--suite', '--only', 'netns-latency-loss', '--netns-minutes', '0.05', '--zk-jvm', 'test', '--keep-logs', dir, '--json'], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout.toString('utf8').trim().split('\n').pop()!) as { netnsLatencyLoss?: { lost: number } };
    expect(result.netnsLatencyLoss?.lost).toBe(0);
    for (const id of ['a', 'b']) {
      const log = await readFile(join(dir, 'slow', `${id}.log`), 'utf8');
      // Info lines, which the suite's own runs (at warn) leave out.
      expect(log).toMatch(/"role changed"|"msg":"role changed"/);
    }
  }, 150_000);
});
