// Tells whether the client retried a write after an attempt whose outcome was unknown.
//
// Client sessions make such a retry exactly-once (the cluster answers a retried sequence
// number with the first result), so the history keeps one operation per call; the count
// only tells the report how often the exactly-once path was exercised. The client reports
// each retry through its logger (a debug line "retrying" with the method and the error
// code); we read that line.
import { pino } from 'pino';
import type { Logger } from '../../common/logger.js';

/** The client's write methods (not keepAlive, whose retries run beside the calls). */
const WRITE_METHODS: ReadonlySet<string> = new Set(['put', 'delete', 'incr', 'cas']);
const UNKNOWN_CODES: ReadonlySet<string> = new Set(['UNKNOWN_OUTCOME', 'TIMEOUT']);

export class RetryObserver {
  /** Attempts of the current call that may have taken effect before the one that answered. */
  private unknownRetries = 0;
  readonly logger: Logger;

  constructor() {
    const onLog = (args: readonly unknown[]): void => {
      const [fields, message] = args;
      if (message !== 'retrying' || typeof fields !== 'object' || fields === null) return;
      const f = fields as { method?: unknown; code?: unknown };
      if (typeof f.method === 'string' && WRITE_METHODS.has(f.method) && typeof f.code === 'string' && UNKNOWN_CODES.has(f.code)) this.unknownRetries++;
    };
    // Level debug so the client's debug lines reach the hook; the hook never calls the
    // log method, so nothing is formatted or written.
    this.logger = pino(
      {
        level: 'debug',
        hooks: {
          logMethod(args) {
            onLog(args);
          },
        },
      },
      { write: () => undefined },
    );
  }

  /** Starts a new call: forget the previous call's retries. */
  reset(): void {
    this.unknownRetries = 0;
  }

  /** Whether the current call was retried after an attempt with an unknown outcome. */
  retriedAfterUnknown(): boolean {
    return this.unknownRetries > 0;
  }
}
