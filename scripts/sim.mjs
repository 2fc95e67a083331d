#!/usr/bin/env node
// The deterministic simulator from the command line:
//   npm run sim -- --seed N                      replay one seed, printing its fault schedule
//   npm run sim -- --seeds 100000 [--from 1] [--workers 2]
//                                                run many seeds, split over worker processes
//   options: --mix slow-leader-zk|expire-in-takeover|expire-after-fence|kill-deposed-leader|stale-tail-takeover|both-down|listeners,
//            --broken NAME[,NAME] (src/server/broken-builds.ts: ack-before-commit,
//            read-tail-before-fence, commit-without-term, tail-without-sync, feed-uncommitted),
//            --zk-sessions local|global (default: drawn per seed),
//            --log [level] (with --seed: the nodes' log lines, with virtual time t)
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const base = { ...process.env };
if (opt('mix')) base.SIM_MIX = opt('mix');
if (opt('broken')) base.SIM_BROKEN = opt('broken');
if (opt('zk-sessions')) base.SIM_ZK_SESSIONS = opt('zk-sessions');
if (args.includes('--log')) base.SIM_LOG = opt('log') && !opt('log').startsWith('--') ? opt('log') : 'info';

function run(env) {
  return new Promise((resolve) => {
    const child = spawn(vitest, ['run', '--project', 'simulation', 'test/simulation/replay.test.ts', '--reporter', 'dot'], { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

if (opt('seed') !== undefined) {
  process.exit(await run({ ...base, SIM_SEED: opt('seed') }));
} else if (opt('seeds') !== undefined) {
  const total = Number(opt('seeds'));
  const from = Number(opt('from') ?? 1);
  const workers = Math.max(1, Number(opt('workers') ?? 2));
  const per = Math.ceil(total / workers);
  const codes = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const start = from + w * per;
      const count = Math.max(0, Math.min(per, from + total - start));
      return count > 0 ? run({ ...base, SIM_FROM: String(start), SIM_SEEDS: String(count) }) : Promise.resolve(0);
    }),
  );
  process.exit(codes.some((c) => c !== 0) ? 1 : 0);
} else {
  process.stderr.write('usage: npm run sim -- --seed N | --seeds COUNT [--from N] [--workers K] [--mix slow-leader-zk|expire-in-takeover|expire-after-fence|kill-deposed-leader|stale-tail-takeover] [--broken ack-before-commit|read-tail-before-fence|commit-without-term|tail-without-sync] [--zk-sessions local|global] [--log [level]]\n');
  process.exit(2);
}
