// duoraft demo: the project's claim, shown. Starts its own ZooKeeper and two voters, runs
// a writer, SIGKILLs the leader N times (restarting it each time), and prints each
// failover's downtime and the totals of acknowledged and lost writes.
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { connect } from '../client/client.js';
import { killLeaderAndMeasure, percentile, type FailoverResult } from './failover.js';
import { ProcessCluster } from './process-cluster.js';
import { startZooKeeper } from './zk-launcher.js';
import { WriteLoad } from './write-load.js';
import type { ZooKeeperEnv } from './zk-java.js';

export interface DemoOptions {
  readonly failovers: number;
  readonly writers: number;
  /** Writes between failovers, in ms. */
  readonly settleMs: number;
  readonly json: boolean;
  readonly env: ZooKeeperEnv;
  readonly print: (line: string) => void;
  /** Keep node logs and data here instead of a temp folder that is removed. */
  readonly keepLogsIn?: string;
}

export interface DemoResult {
  readonly failovers: readonly FailoverResult[];
  readonly acknowledged: number;
  readonly lost: number;
  readonly errors: number;
  readonly downtimeP50Ms: number;
  readonly downtimeMaxMs: number;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const say = o.json ? (): void => undefined : o.print;
  say('duoraft demo: two voters, ZooKeeper as witness and log store');
  say(`starting ZooKeeper...`);
  const zk = await startZooKeeper({ env: o.env });
  say(`  ZooKeeper serving at ${zk.connectString}`);
  let cluster: ProcessCluster | null = null;
  const client = await connectLater(zk.connectString);
  try {
    say('starting two voters (a, b)...');
    if (o.keepLogsIn) await mkdir(o.keepLogsIn, { recursive: true });
    cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: 'demo', logLevel: 'info', ...(o.keepLogsIn ? { workDir: o.keepLogsIn } : {}) });
    const first = await cluster.waitForLeader(20_000);
    say(`  leader: ${first}; node logs in ${cluster.workDir}`);
    const c = await client();
    const load = new WriteLoad(c, { writers: o.writers, valueBytes: 64, prefix: 'demo' });
    load.start();
    const started = performance.now();
    const ticker = setInterval(() => {
      const secs = (performance.now() - started) / 1000;
      say(`  ... ${load.acknowledged()} writes acknowledged (${Math.round(load.acknowledged() / secs)}/s)`);
    }, 2000);
    ticker.unref();
    const results: FailoverResult[] = [];
    try {
      for (let k = 1; k <= o.failovers; k++) {
        await new Promise((r) => setTimeout(r, o.settleMs));
        const r = await killLeaderAndMeasure(cluster, load);
        results.push(r);
        say(
          `failover ${k}/${o.failovers}: SIGKILL ${r.killed} (leader) -> ${r.newLeader} leads term ${r.term}; ` +
            `writes paused ${r.downtimeMs.toFixed(0)} ms; ${r.killed} restarted and caught up in ${r.rejoinMs.toFixed(0)} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      clearInterval(ticker);
      await load.stop();
    }
    say(`checking every acknowledged write (${load.acknowledged()})...`);
    let lost = 0;
    for (const a of load.kept()) {
      const r = await c.get(a.key);
      if (!r.found || new TextDecoder().decode(r.value) !== a.value) lost++;
    }
    const downtimes = results.map((r) => r.downtimeMs);
    const result: DemoResult = {
      failovers: results,
      acknowledged: load.acknowledged(),
      lost,
      errors: load.errorTotal(),
      downtimeP50Ms: percentile(downtimes, 50),
      downtimeMaxMs: percentile(downtimes, 100),
    };
    say('');
    say(`acknowledged writes: ${result.acknowledged}`);
    say(`lost writes:         ${result.lost}`);
    say(`failed attempts:     ${result.errors} (reported to the writer, never acknowledged)`);
    say(`failover downtime:   p50 ${result.downtimeP50Ms.toFixed(0)} ms, max ${result.downtimeMaxMs.toFixed(0)} ms over ${results.length} SIGKILLs of the leader`);
    if (o.json) o.print(JSON.stringify(result));
    return result;
  } finally {
    await client.close();
    await cluster?.stop();
    await zk.stop();
  }
}

/** A client connected once the cluster exists (connect() refuses an unknown cluster). */
function connectLater(zk: string): (() => Promise<Awaited<ReturnType<typeof connect>>>) & { close(): Promise<void> } {
  let c: Awaited<ReturnType<typeof connect>> | null = null;
  const get = async (): Promise<Awaited<ReturnType<typeof connect>>> => {
    c ??= await connect({ zk, cluster: 'demo', deadlineMs: 30_000 });
    return c;
  };
  return Object.assign(get, { close: async () => c?.close() });
}
