// duoraft put | get | del | incr | status: client commands.
import { connect, type DuoraftClient, type MemberStatusView, type ReadConsistency } from '../client/client.js';
import { formatBytes } from '../server/zk-budget.js';
import { readFile } from 'node:fs/promises';
import { HARD_MAX_VALUE_BYTES } from '../statemachine/limits.js';
import type { CommonArgs } from './common-options.js';
import { clientSecurityOf, type SecurityArgs } from './security-options.js';
import { printJson, printLine, printTable, printValue, valueFields } from './output.js';

const decoder = new TextDecoder('utf-8', { fatal: false });

async function withClient<T>(args: CommonArgs & SecurityArgs, fn: (c: DuoraftClient) => Promise<T>): Promise<T> {
  const client = await connect({ zk: args.zk, cluster: args.cluster, deadlineMs: args.timeout, ...(await clientSecurityOf(args)) });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** The value of `put`: the argument, standard input, or a file (exactly one of them: kv-settings.ts checks). */
async function valueOf(args: { value?: string | undefined; stdin: boolean; 'value-file'?: string | undefined }): Promise<Uint8Array> {
  if (args['value-file'] !== undefined) return readFile(args['value-file']);
  if (args.stdin) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin) {
      const b = chunk as Buffer;
      size += b.length;
      chunks.push(b);
      // Beyond the hard limit no member accepts it: stop reading rather than buffer it all.
      if (size > HARD_MAX_VALUE_BYTES) break;
    }
    return Buffer.concat(chunks);
  }
  return new TextEncoder().encode(args.value ?? '');
}

export async function putCommand(args: CommonArgs & { key: string; value?: string | undefined; stdin: boolean; 'value-file'?: string | undefined }): Promise<void> {
  const value = await valueOf(args);
  const r = await withClient(args, (c) => c.put(args.key, value));
  if (args.json) printJson({ key: args.key, index: r.index });
  else printLine(`OK (index ${r.index})`);
}

/**
 * Prints a value: with --json as `value` (when it is UTF-8 text) and `valueBase64`
 * (always); to a terminal as text; to a pipe or file as its bytes, exactly, with no
 * newline added (an absent key writes nothing there, and says so on stderr).
 */
export async function getCommand(args: CommonArgs & { key: string; consistency: ReadConsistency; 'min-index': number }): Promise<void> {
  const r = await withClient(args, (c) => c.get(args.key, { consistency: args.consistency, minIndex: args['min-index'] }));
  if (args.json) {
    printJson(r.found ? { key: args.key, found: true, ...valueFields(r.value), index: r.index } : { key: args.key, found: false, index: r.index });
  } else if (r.found) {
    printValue(r.value);
  } else if (process.stdout.isTTY) {
    printLine(`(not found)`);
  } else {
    process.stderr.write(`(not found)\n`);
  }
}

export async function delCommand(args: CommonArgs & { key: string }): Promise<void> {
  const r = await withClient(args, (c) => c.del(args.key));
  if (args.json) printJson({ key: args.key, deleted: r.deleted, index: r.index });
  else printLine(r.deleted ? `deleted (index ${r.index})` : `not found (index ${r.index})`);
}

export async function incrCommand(args: CommonArgs & { key: string; delta: number }): Promise<void> {
  const r = await withClient(args, (c) => c.incr(args.key, args.delta));
  if (args.json) printJson({ key: args.key, value: r.value, index: r.index });
  else printLine(String(r.value));
}

export async function casCommand(args: CommonArgs & { key: string; a: string; b?: string | undefined; absent: boolean }): Promise<void> {
  let expected: string | null;
  let next: string;
  // kv-settings.ts checked that b is given exactly when --absent is not.
  if (args.absent || args.b === undefined) {
    expected = null;
    next = args.a;
  } else {
    expected = args.a;
    next = args.b;
  }
  const r = await withClient(args, (c) => c.cas(args.key, expected, next));
  const current = r.current === null ? null : decoder.decode(r.current);
  if (args.json) {
    // The current value as get --json gives one: `current` when it is text, `currentBase64` always.
    const fields = r.current === null ? null : valueFields(r.current);
    const shown = fields === null ? { current: null } : { current: fields.value, currentBase64: fields.valueBase64 };
    printJson({ key: args.key, succeeded: r.succeeded, ...(r.succeeded ? {} : shown), index: r.index });
  } else if (r.succeeded) {
    printLine(`OK (index ${r.index})`);
  } else {
    printLine(current === null ? 'not set: the key is absent' : `not set: the current value is ${current}`);
  }
}

/**
 * Prints who leads now. The failures print as every command's do: TIMEOUT when the transfer
 * was given up (the leader still leads), UNKNOWN_OUTCOME when the target may still take over
 * or the answer was lost (look with duoraft status first).
 */
export async function transferLeaderCommand(args: CommonArgs & { to?: string | undefined }): Promise<void> {
  const r = await withClient(args, (c) => c.transferLeadership(args.to ?? ''));
  if (args.json) printJson({ leaderId: r.leaderId, tookMs: r.tookMs, alreadyLeader: r.alreadyLeader });
  else if (r.alreadyLeader) printLine(`${r.leaderId} already leads: nothing to hand over`);
  else printLine(`leader is now ${r.leaderId} (handed over in ${r.tookMs} ms)`);
}

export async function statusCommand(args: CommonArgs): Promise<void> {
  const members = await withClient(args, (c) => c.status());
  if (args.json) {
    printJson(members);
    return;
  }
  const listeners = members.some((m) => m.upstream !== undefined);
  printTable(
    members.map((m) => ({
      ...m,
      snapshot: m.snapshotIndex,
      zkBudget: '',
      upstream: m.upstream ?? '',
      depth: m.depth ?? '',
      lagEntries: m.lagEntries ?? '',
      lagMs: m.lagMs ?? '',
    })),
    ['id', 'role', 'term', 'commitIndex', 'appliedIndex', 'snapshot', 'leaderId', 'address', ...(listeners ? ['upstream', 'depth', 'lagEntries', 'lagMs'] : [])],
  );
  printLine(budgetLine(members));
}

/** The line under the status table: what the cluster keeps in ZooKeeper, as its leader counts it. */
export function budgetLine(members: readonly MemberStatusView[]): string {
  const leader = members.find((m) => m.role === 'leader');
  if (!leader) return 'ZooKeeper budget: no leader to count it (duoraft zk inspect counts it from ZooKeeper)';
  const b = leader.zkBudget;
  if (!b) return `ZooKeeper budget: not counted yet by leader ${leader.id} (it counts within seconds of its first writes; duoraft zk inspect counts it now)`;
  const percent = Math.round((100 * b.usedBytes) / b.budgetBytes);
  const used = `${formatBytes(b.usedBytes)} of ${formatBytes(b.budgetBytes)} (${percent}%; wal/ ${formatBytes(b.walBytes)}, snapshots ${formatBytes(b.snapshotBytes)}), counted by leader ${leader.id}`;
  if (b.over) return `ZooKeeper budget: OVER: ${used}; put, incr and cas are refused: ${b.reason}`;
  if (b.mode === 'tight') return `ZooKeeper budget: ${used}; tight: ${b.reason}`;
  return `ZooKeeper budget: ${used}`;
}
