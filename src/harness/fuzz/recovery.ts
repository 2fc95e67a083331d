// After a round: every node that stopped is started again (noting how it ended: a node
// that found a divergence, a corrupt WAL or znode stops on purpose with one "duoraft: CODE:"
// line), then the cluster must be whole (an agreed leader, the follower caught up) within the
// recovery bound. Restarts per node are bounded too: a node that cannot stay up is a failure.
import { open } from 'node:fs/promises';
import { waitSettled } from '../chaos/settle.js';
import type { ProcessCluster } from '../process-cluster.js';

export interface NodeRestart {
  readonly node: string;
  readonly exitCode: number | null;
  /** The last "duoraft: CODE: ..." line of its log (why it stopped), or '' when it left none. */
  readonly reason: string;
}

export type Recovery =
  | { readonly ok: true; readonly restarts: readonly NodeRestart[]; readonly leader: string; readonly ms: number }
  | { readonly ok: false; readonly restarts: readonly NodeRestart[]; readonly problem: string; readonly ms: number };

const MAX_RESTARTS_PER_NODE = 4;
// Short tries: a node that stops while we wait is restarted at the next one.
const TRY_MS = 1500;

/** The typed failure line its last process left (in the last 16 KiB of the log, after the last start marker). */
async function lastFailureLine(file: string): Promise<string> {
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    const n = Math.min(size, 16 * 1024);
    const buf = Buffer.alloc(n);
    await handle.read(buf, 0, n, size - n);
    const text = buf.toString('utf8');
    const life = text.slice(Math.max(0, text.lastIndexOf('--- start')));
    const lines = life.split('\n');
    const typed = lines.filter((l) => /^duoraft: [A-Za-z_]+: /.test(l));
    // No typed line: it crashed; the error line Node printed says with what.
    const crash = lines.filter((l) => /^\w*Error: /.test(l)).map((l) => `crashed: ${l}`);
    return typed[typed.length - 1] ?? crash[crash.length - 1] ?? '';
  } finally {
    await handle.close();
  }
}

export async function recover(cluster: ProcessCluster, timeoutMs: number): Promise<Recovery> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const restarts: NodeRestart[] = [];
  let problem = '';
  while (Date.now() < deadline) {
    for (const id of cluster.ids()) {
      if (cluster.running(id)) continue;
      if (restarts.filter((r) => r.node === id).length >= MAX_RESTARTS_PER_NODE) {
        return { ok: false, restarts, problem: `${id} stopped ${MAX_RESTARTS_PER_NODE} times in a row: ${restarts[restarts.length - 1]?.reason ?? ''}`, ms: Date.now() - started };
      }
      const exit = await cluster.exitOf(id, 1000);
      restarts.push({ node: id, exitCode: exit?.code ?? null, reason: await lastFailureLine(cluster.node(id).logFile) });
      cluster.startNode(id);
    }
    try {
      const s = await waitSettled(cluster, Math.max(1000, Math.min(TRY_MS, deadline - Date.now())), 'after the round');
      // Settled with both running: done (a node that stops right after is the next round's).
      if (cluster.ids().every((id) => cluster.running(id))) return { ok: true, restarts, leader: s.leader, ms: Date.now() - started };
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
  }
  return { ok: false, restarts, problem: `not whole again within ${timeoutMs} ms: ${problem}`, ms: Date.now() - started };
}
