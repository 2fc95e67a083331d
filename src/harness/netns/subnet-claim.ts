// Which 10.213.N.0/24 a run uses, claimed with a lock file so that runs side by side
// (two test files, a chaos run next to a bench) never share a subnet or a name. The lock
// records the claiming pid and the names the run created; a later run that finds the
// lock of a dead pid removes exactly those names (the dead run's own) and takes over.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './commands.js';

const LOCK_DIR = '/run/duoraft-netns';
/** 10.213.0.0/16: private, and a second octet unlikely to be in use on a test machine. */
export const SUBNET_PREFIX = '10.213';
const ATTEMPTS = 64;

export interface RunNames {
  readonly bridge: string;
  readonly namespaces: readonly string[];
  readonly hostVeths: readonly string[];
}

export interface SubnetClaim {
  /** The third octet: the run's subnet is 10.213.<octet>.0/24. */
  readonly octet: number;
  /** Six hex characters in every name this run creates. */
  readonly tag: string;
  readonly lockPath: string;
  /** Records the names the run creates, so a later run can remove them if this one dies. */
  record(names: RunNames): Promise<void>;
  release(): Promise<void>;
}

interface LockRecord {
  readonly pid: number;
  readonly tag: string;
  readonly names?: RunNames;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes what a dead run left behind: only the names its lock recorded. */
export async function removeNames(names: RunNames): Promise<void> {
  for (const ns of names.namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  for (const veth of names.hostVeths) await run('ip', ['link', 'del', veth]).catch(() => undefined);
  await run('ip', ['link', 'del', names.bridge]).catch(() => undefined);
}

async function subnetInUse(octet: number): Promise<boolean> {
  const out = await run('ip', ['-o', '-4', 'addr', 'show']);
  return out.includes(` ${SUBNET_PREFIX}.${octet}.`);
}

export async function claimSubnet(): Promise<SubnetClaim> {
  await mkdir(LOCK_DIR, { recursive: true });
  const tag = randomBytes(3).toString('hex');
  const start = randomBytes(1)[0]!;
  for (let k = 0; k < ATTEMPTS; k++) {
    const octet = (start + k) % 256;
    const path = join(LOCK_DIR, `${SUBNET_PREFIX}.${octet}.lock`);
    let handle;
    try {
      handle = await open(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!(await takeOverIfDead(path))) continue;
      try {
        handle = await open(path, 'wx');
      } catch {
        continue; // another run was quicker
      }
    }
    const mine: LockRecord = { pid: process.pid, tag };
    await handle.writeFile(JSON.stringify(mine));
    await handle.close();
    if (await subnetInUse(octet)) {
      // Someone outside this scheme uses it: leave it alone.
      await unlink(path).catch(() => undefined);
      continue;
    }
    return {
      octet,
      tag,
      lockPath: path,
      record: (names) => writeFile(path, JSON.stringify({ ...mine, names })),
      release: () => unlink(path).catch(() => undefined),
    };
  }
  throw new Error(`no free subnet in ${SUBNET_PREFIX}.0.0/16 after ${ATTEMPTS} tries (locks in ${LOCK_DIR})`);
}

/** True when the lock belonged to a dead run, whose names are now removed and lock deleted. */
async function takeOverIfDead(path: string): Promise<boolean> {
  let rec: LockRecord;
  try {
    rec = JSON.parse(await readFile(path, 'utf8')) as LockRecord;
  } catch {
    return false; // being written right now, or unreadable: not ours to judge
  }
  if (typeof rec.pid !== 'number' || alive(rec.pid)) return false;
  if (rec.names) await removeNames(rec.names);
  await unlink(path).catch(() => undefined);
  return true;
}
