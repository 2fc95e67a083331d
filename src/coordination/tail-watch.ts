// Following ZooKeeper's `tail` znode: every change, decoded. Shared by the follower's
// catch-up (no leader heard) and the listener's tailer (no upstream). A tail that does not
// decode throws CORRUPT_ZNODE inside the watch, which reads it again with backoff (up to
// 1 s) until it is put right.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from './layout.js';
import { decodeTail, type TailRecord } from './records.js';
import type { ZkSession } from './zk-api.js';
import { ZnodeWatch } from './znode-watch.js';

export interface TailWatchOptions {
  readonly zk: ZkSession;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly paths: ClusterPaths;
}

export function watchTail(o: TailWatchOptions, onTail: (tail: TailRecord) => void): ZnodeWatch {
  return new ZnodeWatch({
    zk: o.zk,
    clock: o.clock,
    logger: o.logger,
    path: o.paths.tail,
    onChange: (st) => {
      if (st.exists) onTail(decodeTail(o.paths.tail, st.data));
    },
  });
}
