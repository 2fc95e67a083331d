// A refactor of the core changes nothing a peer, the driver or ZooKeeper could see: the
// two-core fuzz world (test/unit/core/two-core-fuzz.test.ts), perturbed with what the
// simulator's digests do not reach (forged and altered AppendEntries and heartbeats, senders
// proved or not, epochs that name their leader, compaction, snapshot installs, leadership
// transfers), runs each seed once with a reference commit's core and once with this
// checkout's, and every message stepped, its result, every Ready and the core's status after
// it must be the same, line for line. Run by scripts/core-differential.sh, which puts the
// reference core in .core-ref/ (review 30, the follower's side moved to following.ts).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { RaftCore } from '../../src/core/index.js';
import { runSeed } from '../unit/core/two-core-fuzz.test.js';

type CoreClass = typeof RaftCore;

/** The reference core's module: the same public surface, from another commit. */
async function referenceCore(): Promise<CoreClass> {
  const dir = process.env['DUORAFT_CORE_REF'] ?? '.core-ref';
  const mod: { RaftCore?: unknown } = await import(pathToFileURL(resolve(dir, 'src/core/index.ts')).href);
  if (typeof mod.RaftCore !== 'function') throw new Error(`no RaftCore in ${dir}/src/core/index.ts: run scripts/core-differential.sh REF`);
  // Another commit's class: the same constructor and public methods (what this run checks).
  return mod.RaftCore as CoreClass;
}

/** The trace of one seed with `Core`, and what it threw (the core's invariants may stop a perturbed seed). */
function traceOf(Core: CoreClass, seed: number, steps: number): { lines: string[]; threw: string } {
  const lines: string[] = [];
  let threw = '';
  try {
    runSeed(seed, steps, { perturb: true, trace: (l) => lines.push(l), makeCore: (c, r, s) => new Core(c, r, s) });
  } catch (err) {
    threw = err instanceof Error ? err.message : String(err);
  }
  return { lines, threw };
}

it('the reference core and this one trace every seed alike', async () => {
  const Reference = await referenceCore();
  const from = Number(process.env['DUORAFT_DIFF_FROM'] ?? 1);
  const seeds = Number(process.env['DUORAFT_DIFF_SEEDS'] ?? 200);
  const differences: string[] = [];
  let lines = 0;
  const stops = new Map<string, number>();
  // What the seeds did, so that a run shows it reached the paths it is for.
  const reached: Record<string, RegExp> = {
    'forged or altered': /^step .*forged|^step .*"(prevLogChain|commitChain)":"(07)+"|^step .*"(prevLogChain|commitChain)":"(09)+"/,
    'unproved senders': /^step .* proved false$/,
    'TimeoutNows': /^step .*"type":"timeoutNow"/,
    'hand-overs confirmed by the lease znode': /^ready .*"takeover":\{[^}]*"transfer":true/,
    'refusals with a term hint': /"success":false,"matchIndex":0,"rejectedIndex":\d+,"xTerm":[1-9]/,
    'messages dropped': /^stepped "/,
    'compactions': /^compact /,
    'snapshots installed': /^install .* true$/,
  };
  const seen = new Map<string, number>();
  for (let seed = from; seed < from + seeds && differences.length < 5; seed++) {
    const ref = traceOf(Reference, seed, 3000);
    const mine = traceOf(RaftCore, seed, 3000);
    lines += ref.lines.length;
    for (const l of ref.lines) for (const [what, re] of Object.entries(reached)) if (re.test(l)) seen.set(what, (seen.get(what) ?? 0) + 1);
    if (ref.threw) {
      const why = ref.threw.replace(/\d+/g, 'N');
      stops.set(why, (stops.get(why) ?? 0) + 1);
    }
    const at = ref.lines.findIndex((l, i) => l !== mine.lines[i]);
    const first = at >= 0 ? at : ref.lines.length !== mine.lines.length ? Math.min(ref.lines.length, mine.lines.length) : -1;
    if (first >= 0) {
      differences.push(`seed ${seed}, line ${first}:\n  reference ${ref.lines[first]?.slice(0, 2000)}\n  this      ${mine.lines[first]?.slice(0, 2000)}\n  after     ${ref.lines[first - 1]?.slice(0, 1000)}`);
    } else if (ref.threw !== mine.threw) {
      differences.push(`seed ${seed}: the reference threw "${ref.threw}", this "${mine.threw}"`);
    }
  }
  console.log(`seeds ${from}..${from + seeds - 1}: ${lines} trace lines compared, ${differences.length} differences`);
  // Seeds a core invariant stopped (the same in both, or it would be a difference): compared up to there.
  console.log([...seen].map(([what, count]) => `${what}: ${count}`).join(', '));
  for (const [why, count] of stops) console.log(`${count} seeds stopped early: ${why}`);
  expect(differences).toEqual([]);
});
