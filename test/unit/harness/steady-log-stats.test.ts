// The steady bench part's accounting of the voters' logs, and its CPU burner's lifecycle.
import { describe, expect, it } from 'vitest';
import { sequenceOf } from '../../../src/harness/bench-steady.js';
import { childProcesses } from '../../../src/harness/child-processes.js';
import { withCpuBurner } from '../../../src/harness/cpu-burner.js';
import { STEADY_MESSAGES, SteadyLogStats } from '../../../src/harness/steady-log-stats.js';

const line = (msg: string, fields: Record<string, unknown> = {}): string => JSON.stringify({ level: 40, node: 'x', term: 3, role: 'leader', msg, ...fields });

describe('SteadyLogStats', () => {
  it('counts nothing before startCounting (start-up and warm-up are not the run)', () => {
    const s = new SteadyLogStats();
    s.onLine('a', line(STEADY_MESSAGES.stalled, { stalledMs: 400, leading: true }));
    s.onLine('a', line(STEADY_MESSAGES.leaseLapsed, { overdueMs: 3 }));
    expect(s.figures('a')).toEqual({ stalls: { count: 0, whileLeading: 0, p99Ms: 0, maxMs: 0, busy: 0, starved: 0 }, leaseLapses: 0, suspicions: 0 });
  });

  it('counts stalls per node, with their p99, max and how many came while leading', () => {
    const s = new SteadyLogStats();
    s.startCounting();
    for (let k = 1; k <= 100; k++) s.onLine('a', line(STEADY_MESSAGES.stalled, { stalledMs: 50 + k, leading: k % 4 === 0 }));
    s.onLine('b', line(STEADY_MESSAGES.stalled, { stalledMs: 70, leading: false }));
    expect(s.figures('a').stalls).toEqual({ count: 100, whileLeading: 25, p99Ms: 149, maxMs: 150, busy: 0, starved: 0 });
    expect(s.figures('b').stalls).toEqual({ count: 1, whileLeading: 0, p99Ms: 70, maxMs: 70, busy: 0, starved: 0 });
  });

  it('tells busy stalls (the process used at least half the wait on CPU) from starved ones', () => {
    const s = new SteadyLogStats();
    s.startCounting();
    s.onLine('a', line(STEADY_MESSAGES.stalled, { stalledMs: 200, leading: true, waitedMs: 210, cpuMs: 190 }));
    s.onLine('a', line(STEADY_MESSAGES.stalled, { stalledMs: 100, leading: true, waitedMs: 110, cpuMs: 55 }));
    s.onLine('a', line(STEADY_MESSAGES.stalled, { stalledMs: 120, leading: true, waitedMs: 130, cpuMs: 3 }));
    s.onLine('a', line(STEADY_MESSAGES.stalled, { stalledMs: 90, leading: false }));
    expect(s.figures('a').stalls).toMatchObject({ count: 4, busy: 2, starved: 1 });
  });

  it('a stall line without a length is counted but adds no length', () => {
    const s = new SteadyLogStats();
    s.startCounting();
    s.onLine('a', line(STEADY_MESSAGES.stalled, { stalledMs: 'long', leading: true }));
    expect(s.figures('a').stalls).toEqual({ count: 1, whileLeading: 1, p99Ms: 0, maxMs: 0, busy: 0, starved: 0 });
  });

  it('counts lease lapses, and suspicions: a broken connection, a vanished leader znode, becoming a pre-candidate', () => {
    const s = new SteadyLogStats();
    s.startCounting();
    s.onLine('a', line(STEADY_MESSAGES.leaseLapsed, { overdueMs: 0 }));
    s.onLine('a', line(STEADY_MESSAGES.leaseLapsed, { overdueMs: 12 }));
    s.onLine('b', line(STEADY_MESSAGES.connectionBroke, { peer: 'a' }));
    s.onLine('b', line(STEADY_MESSAGES.leaderZnodeVanished, { leader: 'a' }));
    s.onLine('b', line(STEADY_MESSAGES.roleChanged, { from: 'follower', to: 'precandidate' }));
    // Other role changes are no suspicion (the outcome is counted from ZooKeeper's epoch).
    s.onLine('b', line(STEADY_MESSAGES.roleChanged, { from: 'precandidate', to: 'candidate' }));
    s.onLine('b', line(STEADY_MESSAGES.roleChanged, { from: 'candidate', to: 'leader' }));
    expect(s.figures('a')).toMatchObject({ leaseLapses: 2, suspicions: 0 });
    expect(s.figures('b')).toMatchObject({ leaseLapses: 0, suspicions: 3 });
  });

  it('skips what is not a JSON line (GC traces), counts JSON cut in two as unreadable, and ignores other messages', () => {
    const s = new SteadyLogStats();
    s.startCounting();
    s.onLine('a', '[123:0x1]  4000 ms: Scavenge 10.0 (12.0) -> 9.0 (12.0) MB, 1.2 / 0.0 ms  task;');
    s.onLine('a', '{"level":40,"msg":"event loop st');
    s.onLine('a', line('leading'));
    s.onLine('a', '42');
    expect(s.unreadableLines()).toBe(1);
    expect(s.all(['a', 'b'])).toEqual({
      a: { stalls: { count: 0, whileLeading: 0, p99Ms: 0, maxMs: 0, busy: 0, starved: 0 }, leaseLapses: 0, suspicions: 0 },
      b: { stalls: { count: 0, whileLeading: 0, p99Ms: 0, maxMs: 0, busy: 0, starved: 0 }, leaseLapses: 0, suspicions: 0 },
    });
  });
});

describe('withCpuBurner', () => {
  it('runs a process while the work runs and ends it after', async () => {
    let pid = 0;
    const out = await withCpuBurner(async (b) => {
      pid = b.pid;
      expect(b.running()).toBe(true);
      expect(childProcesses.isRunning(pid)).toBe(true);
      return 'done';
    });
    expect(out).toBe('done');
    expect(childProcesses.isRunning(pid)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('in a session of its own by default (setsid execs in place: the pid is the burner), or in ours when asked', async () => {
    const sessionOf = async (pid: number): Promise<number> => {
      const { readFile } = await import('node:fs/promises');
      // /proc/PID/stat: "pid (comm) state ppid pgrp session ..."; the name may hold spaces, the fields after ')' do not.
      for (let tries = 0; tries < 100; tries++) {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (stat.includes('(node)')) return Number(fields[3]);
        await new Promise((r) => setTimeout(r, 10)); // still setsid, before its exec
      }
      throw new Error(`pid ${pid} never became node`);
    };
    const own = await withCpuBurner((b) => sessionOf(b.pid));
    const ownPid = await withCpuBurner(async (b) => ({ session: await sessionOf(b.pid), pid: b.pid }));
    expect(ownPid.session).toBe(ownPid.pid);
    expect(own).not.toBe(await sessionOf(process.pid));
    const shared = await withCpuBurner((b) => sessionOf(b.pid), 'shared');
    expect(shared).toBe(await sessionOf(process.pid));
  });

  it('ends the process when the work throws, and passes the error on', async () => {
    let pid = 0;
    await expect(
      withCpuBurner(async (b) => {
        pid = b.pid;
        throw new Error('the part failed');
      }),
    ).rejects.toThrow('the part failed');
    expect(pid).toBeGreaterThan(0);
    expect(childProcesses.isRunning(pid)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('sequenceOf (the lost-write check of overwritten keys)', () => {
  it("reads the writer's sequence number from a WriteLoad value, and nothing from any other value", () => {
    expect(sequenceOf('12:3456:xxxx')).toBe(3456);
    expect(sequenceOf('0:0:')).toBe(0);
    expect(sequenceOf('hello')).toBeNull();
    expect(sequenceOf('1:x:y')).toBeNull();
    expect(sequenceOf('')).toBeNull();
  });
});
