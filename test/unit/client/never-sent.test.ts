import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { neverSent } from '../../../src/client/never-sent.js';

const failure = (code: grpc.status, details: string) => Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details });

describe('neverSent: only a call that found no connection may go again', () => {
  it('no connection established (refused, unreachable): nothing was sent', () => {
    expect(neverSent(failure(grpc.status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: '))).toBe(true);
    expect(neverSent(failure(grpc.status.UNAVAILABLE, 'No connection established'))).toBe(true);
  });

  it('a call that had a stream, or whose answer is late, is not', () => {
    expect(neverSent(failure(grpc.status.UNAVAILABLE, 'Connection dropped'))).toBe(false);
    expect(neverSent(failure(grpc.status.UNAVAILABLE, 'Stream refused by server'))).toBe(false);
    expect(neverSent(failure(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded after 7.001s'))).toBe(false);
    expect(neverSent(failure(grpc.status.INTERNAL, 'No connection established'))).toBe(false);
    expect(neverSent(new Error('No connection established'))).toBe(false);
    expect(neverSent(null)).toBe(false);
  });
});
