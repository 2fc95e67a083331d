#!/usr/bin/env node
// CPU time per acknowledged write, per process (notes/results.md, "CPU per write"):
//   npm run build && node scripts/cpu-per-write.mjs [--seconds 10] [--writers 64] [--rounds 2] [--idle-seconds 5] [--warmup-seconds 8] [--cpu-prof DIR] [--runtime-flags 'FLAGS'] [--keep DIR]
// Starts its own ZooKeeper (production JVM, as the bench suite) and two voters, warms up,
// then runs the bench's closed-loop write load (256-byte values) `rounds` times and reads
// the CPU each process used meanwhile: the leader's, the follower's and ZooKeeper's from
// /proc/PID/stat, the client's (this process: the load generator) from process.cpuUsage().
// On a machine shared with other work, writes/s moves with the load; CPU per write moves
// much less, which is why this measures it. With --cpu-prof the voters run under
// `node --cpu-prof` and stop with SIGTERM at the end, leaving leader-*.cpuprofile and
// follower-*.cpuprofile in DIR (profile the client by running this script itself under
// `node --cpu-prof`).
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { ProcessCluster } = await import(join(dist, 'harness', 'process-cluster.js'));
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { runLoad } = await import(join(dist, 'harness', 'bench.js'));
const { connect } = await import(join(dist, 'client', 'client.js'));

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const seconds = Number(opt('seconds', '10'));
const writers = Number(opt('writers', '64'));
const rounds = Number(opt('rounds', '2'));
const idleSeconds = Number(opt('idle-seconds', '5'));
const warmupSeconds = Number(opt('warmup-seconds', '8'));
/** Keep the voters' data folders and logs there (default: a temp folder, removed). */
const keepDir = opt('keep', undefined);
const profDir = opt('cpu-prof', undefined);
/** More flags for the voters' Node.js runtime, space-separated (`--import FILE` to count events, say). */
const runtimeFlags = opt('runtime-flags', '').split(' ').filter((f) => f !== '');
const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux

/** utime + stime of a process in ms, from /proc. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
}
const clientMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

if (profDir) await mkdir(profDir, { recursive: true });
const zk = await startZooKeeper({ env: {}, jvmProfile: 'production' });
const cluster = await ProcessCluster.start({
  zk: zk.connectString,
  cluster: 'cpu',
  logLevel: 'warn',
  ...(keepDir ? { workDir: resolve(keepDir) } : {}),
  runtimeFlags: [...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profDir)}`] : []), ...runtimeFlags],
});
const c = await connect({ zk: zk.connectString, cluster: 'cpu', deadlineMs: 30_000 });
let leader = '';
try {
  leader = await cluster.waitForLeader(10_000);
  const follower = cluster.ids().find((id) => id !== leader);
  process.stdout.write(`pids: leader ${cluster.pid(leader)} follower ${cluster.pid(follower)} zk ${zk.pid} client ${process.pid}\n`);
  // Warm up long enough for the JIT to settle: its compiles would be charged to the first round.
  await runLoad(c, { workload: 'write', concurrency: writers, valueBytes: 256, durationMs: warmupSeconds * 1000, consistency: 'linearizable', readRatio: 0, keys: 1000 });
  const idleMsPerSecond = { leader: 0, follower: 0, zk: 0 };
  {
    // The cluster's cost with no writes at all (heartbeats, lease touches, ticks): what a
    // write's share of it is depends on the write rate.
    const pids = { leader: cluster.pid(leader), follower: cluster.pid(follower), zk: zk.pid };
    const before = { leader: cpuMs(pids.leader), follower: cpuMs(pids.follower), zk: cpuMs(pids.zk) };
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    for (const k of Object.keys(idleMsPerSecond)) idleMsPerSecond[k] = (cpuMs(pids[k]) - before[k]) / idleSeconds;
    const per = (k) => Math.round(idleMsPerSecond[k]);
    process.stdout.write(`idle ${idleSeconds} s: CPU ms per second: leader ${per('leader')}, follower ${per('follower')}, ZooKeeper ${per('zk')}\n`);
  }
  for (let round = 1; round <= rounds; round++) {
    const pids = { leader: cluster.pid(leader), follower: cluster.pid(follower), zk: zk.pid };
    const before = { leader: cpuMs(pids.leader), follower: cpuMs(pids.follower), zk: cpuMs(pids.zk), client: clientMs() };
    const load = loadavg()[0];
    const r = await runLoad(c, { workload: 'write', concurrency: writers, valueBytes: 256, durationMs: seconds * 1000, consistency: 'linearizable', readRatio: 0, keys: 10_000 });
    const after = { leader: cpuMs(pids.leader), follower: cpuMs(pids.follower), zk: cpuMs(pids.zk), client: clientMs() };
    if ((await cluster.waitForLeader(1000)) !== leader) process.stdout.write('(the leader changed during the round)\n');
    const per = (k) => Math.round(((after[k] - before[k]) * 1000) / Math.max(1, r.ops));
    // What the writes added to the idle cost: the idle share falls as the write rate rises,
    // so this moves less with the machine's load than the total does.
    const above = (k) => Math.round(((after[k] - before[k] - idleMsPerSecond[k] * r.seconds) * 1000) / Math.max(1, r.ops));
    process.stdout.write(
      `round ${round} (load ${load.toFixed(1)}): ${r.opsPerSecond} writes/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, errors ${r.errors}; ` +
        `CPU µs per write: leader ${per('leader')} (${above('leader')} above idle), follower ${per('follower')} (${above('follower')}), ` +
        `client ${per('client')}, ZooKeeper ${per('zk')} (${above('zk')})\n`,
    );
  }
} finally {
  await c.close();
  if (profDir) {
    // SIGTERM so each node exits normally and writes its profile (named CPU.DATE.TIME.PID...).
    const follower = cluster.ids().find((id) => id !== leader);
    const roleOf = new Map([[cluster.pid(leader), 'leader'], [cluster.pid(follower), 'follower']]);
    if (follower) await cluster.signal(follower, 'SIGTERM', 20_000);
    if (leader) await cluster.signal(leader, 'SIGTERM', 20_000);
    for (const f of await readdir(profDir)) {
      const m = /^CPU\.\d+\.\d+\.(\d+)\./.exec(f);
      const role = m ? roleOf.get(Number(m[1])) : undefined;
      if (role) await rename(join(profDir, f), join(profDir, `${role}-${f}`));
    }
  }
  await cluster.stop();
  await zk.stop();
}
