// Forcing a real ZooKeeper session to expire, for tests. There is no server command
// for it; instead a second connection takes the session over with its id and password
// (the server drops the owner's connection) and closes it. The owner reconnects and is
// told the session expired.
//
// It is a race: the owner reconnects within a millisecond and may take the session
// back before the close arrives (the server then drops the second connection and the
// close is lost). The owner's reconnect is the verdict: 'expired' means the close
// landed, 'connected' on the same session means it did not, and we try again. Each
// attempt and the number of attempts are bounded.
import { closeSessionFromElsewhere, NodeZkSession } from '../coordination/zk-client.js';
import type { ZkSession } from '../coordination/zk-api.js';

export interface ExpireOptions {
  /** Bound for each attempt's steps (default 5 s). */
  readonly stepTimeoutMs?: number;
  /** Default 20: a lost race costs a few milliseconds. */
  readonly attempts?: number;
}

/** Makes `session`'s current ZooKeeper session expire. Resolves once the session reported 'expired'. */
export async function expireSessionForTest(session: ZkSession, options: ExpireOptions = {}): Promise<void> {
  if (!(session instanceof NodeZkSession)) throw new Error('expireSessionForTest works on sessions from connectZk only');
  const stepTimeoutMs = options.stepTimeoutMs ?? 5_000;
  const attempts = options.attempts ?? 20;
  const oldSessionId = session.sessionId;
  let sawExpired = false;
  let reconnects = 0;
  const off = session.onStateChange((state) => {
    if (state === 'expired') sawExpired = true;
    else if (state === 'connected') reconnects += 1;
  });
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      await session.waitConnected(stepTimeoutMs);
      if (sawExpired || session.sessionId !== oldSessionId) return;
      const credentials = session.sessionCredentials();
      if (credentials === null) throw new Error('expireSessionForTest: the session has no credentials (not connected)');
      const reconnectsBefore = reconnects;
      try {
        await closeSessionFromElsewhere(session.connectString, credentials, stepTimeoutMs);
      } catch {
        // Retried below.
      }
      const deadline = Date.now() + stepTimeoutMs;
      while (!sawExpired && reconnects === reconnectsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      if (sawExpired) return;
    }
  } finally {
    off();
  }
  throw new Error(`expireSessionForTest: session ${oldSessionId} did not expire after ${attempts} attempts`);
}
