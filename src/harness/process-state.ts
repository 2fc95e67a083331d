// Whether a process is stopped (SIGSTOP) or running, read from Linux's /proc. kill()
// only queues a signal: a JVM keeps answering for a moment after SIGSTOP is sent, so
// pause() waits until every thread of the process is really stopped.
import fs from 'node:fs';

export type RunState = 'stopped' | 'running' | 'gone' | 'unknown';

/** The state field of /proc/<pid>/task/<tid>/stat (the character after the ")" of the command name). */
function threadState(statLine: string): string | undefined {
  const close = statLine.lastIndexOf(')');
  return close < 0 ? undefined : statLine.slice(close + 2, close + 3);
}

/** 'stopped' when every thread is stopped ('T'), 'running' otherwise; 'unknown' without /proc. */
export function processRunState(pid: number): RunState {
  const taskDir = `/proc/${pid}/task`;
  let tids: string[];
  try {
    tids = fs.readdirSync(taskDir);
  } catch {
    return fs.existsSync('/proc/self') ? 'gone' : 'unknown';
  }
  let sawThread = false;
  for (const tid of tids) {
    let line: string;
    try {
      line = fs.readFileSync(`${taskDir}/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const state = threadState(line);
    if (state === 'Z' || state === 'X') continue;
    sawThread = true;
    if (state !== 'T' && state !== 't') return 'running';
  }
  return sawThread ? 'stopped' : 'gone';
}

/**
 * Waits until the process reaches `wanted` ('stopped' or 'running'). Without /proc
 * (not Linux) it waits a short fixed time instead. Bounded by timeoutMs.
 */
export async function waitForRunState(pid: number, wanted: 'stopped' | 'running', timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = processRunState(pid);
    if (state === wanted || state === 'gone') return;
    if (state === 'unknown') {
      await new Promise((r) => setTimeout(r, 100).unref());
      return;
    }
    if (Date.now() >= deadline) throw new Error(`process ${pid} did not become ${wanted} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5).unref());
  }
}
