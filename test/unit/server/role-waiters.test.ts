// Requests waiting for the role to settle (role-waiters.ts): woken by a role change or by a
// transfer that ended, otherwise at their deadline; at most `max` wait, the next is refused.
import { describe, expect, it } from 'vitest';
import { RoleWaiters } from '../../../src/server/role-waiters.js';
import { ManualClock } from './manual-clock.js';
import { settled } from './promise-state.js';

describe('RoleWaiters', () => {
  it('a role change wakes every waiter before its deadline', async () => {
    const clock = new ManualClock();
    const waiters = new RoleWaiters(clock, 10);
    const a = waiters.wait(1000, () => new Error('full'));
    const b = waiters.wait(2000, () => new Error('full'));
    expect(await settled(a)).toBe('pending');
    waiters.wake();
    expect(await settled(a)).toBe('resolved');
    expect(await settled(b)).toBe('resolved');
  });

  it('a waiter nobody wakes is released at its deadline', async () => {
    const clock = new ManualClock();
    const waiters = new RoleWaiters(clock, 10);
    const a = waiters.wait(500, () => new Error('full'));
    clock.jump(499);
    expect(await settled(a)).toBe('pending');
    clock.jump(500);
    expect(await settled(a)).toBe('resolved');
  });

  it('a transfer that ends wakes the waiters; one still under way does not', async () => {
    const clock = new ManualClock();
    const waiters = new RoleWaiters(clock, 10);
    waiters.transferring(true);
    const a = waiters.wait(1000, () => new Error('full'));
    waiters.transferring(true);
    expect(await settled(a)).toBe('pending');
    waiters.transferring(false);
    expect(await settled(a)).toBe('resolved');
    const b = waiters.wait(1000, () => new Error('full'));
    waiters.transferring(false);
    expect(await settled(b)).toBe('pending');
  });

  it('refuses the waiter past the bound; one whose deadline passed gives its place back', async () => {
    const clock = new ManualClock();
    const waiters = new RoleWaiters(clock, 2);
    void waiters.wait(10, () => new Error('full'));
    void waiters.wait(50, () => new Error('full'));
    await expect(waiters.wait(100, () => new Error('too many waiting'))).rejects.toThrow('too many waiting');
    clock.jump(20);
    // The first timed out: its place is free without any wake; the bound still holds.
    expect(await settled(waiters.wait(100, () => new Error('full')))).toBe('pending');
    await expect(waiters.wait(100, () => new Error('too many waiting'))).rejects.toThrow('too many waiting');
  });
});
