// What recovery says about what the local WAL lost, from what it found and the sync
// mark (sync-mark.ts). Pure.
//
// Three cases: a torn last record written after the last sync (an ordinary crash:
// nothing synced was lost); synced data gone (the file cut short, a segment missing:
// no crash does that, so it says how many entries and bytes); and no mark to compare
// with (a WAL from before the mark existed, or a torn mark), where it says that it
// cannot tell. The node fetches whatever is missing again from ZooKeeper and its peer.
import type { SyncMark } from './sync-mark.js';

export interface TornCut {
  readonly path: string;
  /** Where the file was cut: the length it has now. */
  readonly offset: number;
  readonly droppedBytes: number;
  readonly reason: string;
}

export interface RecoveredEnd {
  /** The segments that survived, in order, with their sizes after any cut. */
  readonly segments: ReadonlyArray<{ readonly sequence: number; readonly path: string; readonly size: number }>;
  /** The last entry index of the recovered log, 0 if empty. */
  readonly lastIndex: number;
  readonly torn: TornCut | null;
}

export interface LossReport {
  readonly message: string;
  /** Synced entries that are gone; null when it cannot be known (no mark). */
  readonly lostEntries: number | null;
  /** Synced bytes that are gone; null when unknown (no mark, or a whole segment missing). */
  readonly lostBytes: number | null;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function syncedEntries(n: number): string {
  return `${n} synced ${n === 1 ? 'entry' : 'entries'}`;
}

/** The warning to give, or null when nothing was lost or cut. */
export function reportLoss(mark: SyncMark | null, end: RecoveredEnd): LossReport | null {
  const { torn, lastIndex } = end;
  const cut = torn
    ? `cut torn tail of ${torn.path} at offset ${torn.offset} (${plural(torn.droppedBytes, 'byte')} dropped, one incomplete record: ${torn.reason})`
    : null;
  if (mark === null) {
    if (cut === null) return null;
    return {
      message: `${cut}; the WAL has no sync mark, so it cannot tell whether synced entries after index ${lastIndex} were lost as well`,
      lostEntries: null,
      lostBytes: null,
    };
  }

  const last = end.segments.at(-1);
  const marked = end.segments.find((s) => s.sequence === mark.sequence);
  const segmentGone = mark.sequence > (last?.sequence ?? 0);
  const lostBytes = segmentGone ? null : Math.max(0, mark.size - (marked?.size ?? mark.size));
  // Bytes decide whether synced data is gone: the log's end alone cannot, since
  // compaction may leave no entry in the segments while the log went up to the mark's
  // index. When bytes are gone, the entries are those between the two ends.
  const lostEntries = Math.max(0, mark.lastIndex - lastIndex);

  if (!segmentGone && lostBytes === 0) {
    if (cut === null) return null;
    return { message: `${cut}; it was written after the last sync, so no synced entry was lost`, lostEntries: 0, lostBytes: 0 };
  }
  const held = segmentGone
    ? `segment ${mark.sequence}, which is missing now`
    : `${plural(mark.size, 'byte')} in ${marked?.path ?? `segment ${mark.sequence}`}, ${plural(marked?.size ?? 0, 'byte')} now`;
  const gone = lostBytes === null ? syncedEntries(lostEntries) : `${syncedEntries(lostEntries)} (${plural(lostBytes, 'byte')})`;
  const message =
    `${cut === null ? '' : `${cut}; `}the local WAL lost synced data, more than a crash can: at its last sync it held entries up to index ${mark.lastIndex} ` +
    `(${held}) and now ends at index ${lastIndex}: ${gone} gone; the node fetches them again from ZooKeeper and its peer`;
  return { message, lostEntries, lostBytes };
}
