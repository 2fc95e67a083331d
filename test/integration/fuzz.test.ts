// Issue 11 part 8: the bounded fuzz run in CI. Its own ZooKeeper, two real nodes in
// plaintext, the chaos run's checked load, and about 45 s of rounds of hostile input (peer
// messages claiming to be the other voter, client requests unary and pipelined, a stopped
// node's WAL damaged, znode values corrupted), every target in turn. It fails on anything
// acknowledged lost, a history that is not linearizable, a forged write made visible, the
// replicas disagreeing, a cluster that is not whole again after a round, or a crash line in
// any node's log; never on a timing. The seed is fixed (DUORAFT_FUZZ_SEED overrides it) and
// printed; a failure prints the command that regenerates the rounds up to the first failing
// one. The longer run: `npx duoraft fuzz --seed N --seconds S` (notes/fuzz.md).
import { describe, expect, it } from 'vitest';
import { FUZZ_DEFAULTS, FUZZ_TARGETS, runFuzz } from '../../src/harness/fuzz/index.js';
import { join } from 'node:path';

const SEED = Number(process.env['DUORAFT_FUZZ_SEED'] ?? 20261130);
const SECONDS = 45;

describe('duoraft fuzz, bounded', () => {
  it(`${SECONDS} s of hostile input against real processes: the cluster serves, nothing acknowledged lost, no crash (seed ${SEED})`, async () => {
    const lines: string[] = [];
    const { result: r } = await runFuzz({
      ...FUZZ_DEFAULTS,
      seed: SEED,
      seconds: SECONDS,
      targets: FUZZ_TARGETS,
      outDir: join('out', 'fuzz-ci'),
      env: {},
      print: (line) => lines.push(line),
      json: false,
    });
    const perTarget = Object.fromEntries(FUZZ_TARGETS.map((t) => [t, r.rounds.filter((x) => x.target === t).length]));
    process.stdout.write(
      `fuzz (seed ${r.seed}): ${r.rounds.length} rounds ${JSON.stringify(perTarget)} in ${(r.durationMs / 1000).toFixed(0)} s, ` +
        `${r.rounds.reduce((n, x) => n + x.restarts.length, 0)} restarts, ${r.load.ops.acknowledged} load operations acknowledged; ` +
        `lost ${r.load.lost}, duplicated ${r.load.duplicated}, linearizable ${r.load.violation ? 'NO' : 'yes'}; ${r.logFailures.length} crash lines, ${r.logWarnings.length} warnings\n`,
    );
    if (r.failures.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    expect(r.failures, `seed ${r.seed}; replay: ${r.replay}`).toEqual([]);
    // Every target had its turn, and the checks had something to check.
    for (const t of FUZZ_TARGETS) expect(perTarget[t], t).toBeGreaterThanOrEqual(1);
    expect(r.load.ops.acknowledged).toBeGreaterThan(500);
    expect(r.rounds.some((x) => x.restarts.length > 0 || x.target === 'wal')).toBe(true);
  }, 240_000);
});
