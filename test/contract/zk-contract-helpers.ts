// Small helpers for the ZkSession contract suite: bounded waits and typed-error checks.
import { expect } from 'vitest';
import { ZkError, type ZkConnectionState, type ZkErrorCode, type ZkSession, type ZkWatchEvent } from '../../src/coordination/zk-api.js';

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

/** Awaits `promise`, expecting it to reject with a ZkError of `code`; returns the error. */
export async function expectZkError(promise: Promise<unknown>, code: ZkErrorCode): Promise<ZkError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (err) {
    expect(err, `expected ZkError ${code}, got ${String(err)}`).toBeInstanceOf(ZkError);
    const zkErr = err as ZkError;
    expect(zkErr.code, zkErr.message).toBe(code);
    return zkErr;
  }
  throw new Error(`expected ZkError ${code}, but the request succeeded with ${JSON.stringify(outcome, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
}

/** Polls `condition` every 10 ms until it holds; fails the test after timeoutMs. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records every state the session reports from now on. */
export function recordStates(session: ZkSession): ZkConnectionState[] {
  const states: ZkConnectionState[] = [];
  session.onStateChange((s) => states.push(s));
  return states;
}

/** A watcher that records its events. */
export function recordingWatcher(): { events: ZkWatchEvent[]; watcher: (e: ZkWatchEvent) => void } {
  const events: ZkWatchEvent[] = [];
  return { events, watcher: (e) => events.push(e) };
}
