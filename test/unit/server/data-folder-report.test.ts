// restore-zk reads a data folder offline: what it reports, what makes it refuse (a broken
// hash chain, no identity), and that it changes nothing in the folder (a torn tail a node's
// start would cut is only reported).
import { appendFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptWalError, RestoreRefusedError } from '../../../src/common/errors.js';
import { genesisChain } from '../../../src/core/chain.js';
import { RaftLog } from '../../../src/core/log.js';
import type { Entry } from '../../../src/core/types.js';
import { readDataFolder } from '../../../src/server/data-folder-report.js';
import { writeIdentity } from '../../../src/server/identity-file.js';
import { openFileWal } from '../../../src/storage/file-wal.js';
import { entries, makeTempDir, type TempDir } from '../storage/wal-test-helpers.js';

const identity = { cluster: 'c', clusterId: '12'.repeat(16), createdAtMs: 5 };
let dir: TempDir | null = null;

afterEach(async () => {
  await dir?.remove();
  dir = null;
});

async function folderWith(log: readonly Entry[], commit: number): Promise<string> {
  dir = await makeTempDir();
  await writeIdentity(dir.path, identity);
  const { wal } = await openFileWal(join(dir.path, 'wal'));
  wal.appendEntries(log);
  wal.setHardState({ term: 3, commit });
  await wal.close();
  return dir.path;
}

describe('readDataFolder', () => {
  it('reports identity, last index and term, the commit index and the chain value there; every entry to write, chained from the genesis', async () => {
    const log = RaftLog.chainFrom(genesisChain(identity.clusterId), [...entries(1, 30, 2), ...entries(31, 40, 3)]);
    const path = await folderWith(log, 35);
    const r = await readDataFolder(path, 'c');
    expect(r.identity).toEqual(identity);
    expect(r.snapshot).toBeNull();
    expect([r.commitIndex, r.lastIndex, r.lastTerm, r.maxTerm]).toEqual([35, 40, 3, 3]);
    expect(r.entries.map((e) => e.index)).toEqual(log.map((e) => e.index));
    expect(Buffer.from(r.chainAt(35)!).equals(Buffer.from(log[34]!.chain))).toBe(true);
    expect(r.chainAt(41)).toBeUndefined();
  });

  it('an entry whose chain value does not follow is CORRUPT_WAL naming the WAL folder and the index', async () => {
    const log = RaftLog.chainFrom(genesisChain(identity.clusterId), entries(1, 20, 2));
    const forged = log.map((e) => (e.index === 12 ? { ...e, data: new TextEncoder().encode('FORGED') } : e));
    const path = await folderWith(forged, 20);
    const err = await readDataFolder(path, 'c').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptWalError);
    expect((err as Error).message).toContain(join(path, 'wal'));
    expect((err as Error).message).toContain('hash chain broken at index 12');
  });

  it('a log of another identity (another genesis) does not verify', async () => {
    const log = RaftLog.chainFrom(genesisChain('34'.repeat(16)), entries(1, 5, 1));
    const path = await folderWith(log, 5);
    await expect(readDataFolder(path, 'c')).rejects.toBeInstanceOf(CorruptWalError);
  });

  it('refuses a folder without an identity, or of another cluster name', async () => {
    dir = await makeTempDir();
    const err = await readDataFolder(dir.path, 'c').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreRefusedError);
    expect((err as RestoreRefusedError).reason).toBe('folder-unusable');
    await writeIdentity(dir.path, identity);
    await expect(readDataFolder(dir.path, 'other')).rejects.toThrow(/belongs to cluster "c"/);
  });

  it('changes nothing: a torn tail is reported, not cut', async () => {
    const log = RaftLog.chainFrom(genesisChain(identity.clusterId), entries(1, 10, 1));
    const path = await folderWith(log, 10);
    const walDir = join(path, 'wal');
    const file = join(walDir, (await readdir(walDir)).find((n) => n.endsWith('.log'))!);
    await appendFile(file, Buffer.from([9, 0, 0, 0, 1, 2]));
    const before = (await stat(file)).size;
    const r = await readDataFolder(path, 'c');
    expect(r.lastIndex).toBe(10);
    expect((await stat(file)).size).toBe(before);
    expect(r.warnings.join('\n')).toMatch(/torn|cut/);
  });
});
