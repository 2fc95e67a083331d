// The machine's load over a benchmark part, sampled into a file beside the nodes' logs, so that
// a fault nobody injected (a change of leader in a run that only adds latency and loss) can be
// set against what the host was doing at that moment: its load average and the time tasks
// spent stalled for CPU and for I/O (Linux pressure stall information, /proc/pressure). The
// nodes log their own event-loop stalls; this says whether the whole machine stalled with them.
import { appendFile, readFile } from 'node:fs/promises';

/** Samples at most this many times (at 500 ms: 2 hours), whatever the caller does. */
const MAX_SAMPLES = 14_400;

export interface HostPressureSampler {
  /** Stops sampling and waits for the last line to be written. Idempotent. */
  stop(): Promise<void>;
}

interface Totals {
  /** Microseconds some task waited for a CPU, for I/O, and all tasks for I/O (PSI "total="). */
  readonly cpuSome: number;
  readonly ioSome: number;
  readonly ioFull: number;
}

/** The "total=" of the `some` or `full` line of a /proc/pressure file, in microseconds. */
export function pressureTotal(text: string, kind: 'some' | 'full'): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${kind} `));
  const m = line === undefined ? null : /total=(\d+)/.exec(line);
  return m === null ? null : Number(m[1]);
}

async function readTotals(): Promise<Totals | null> {
  try {
    const [cpu, io] = await Promise.all([readFile('/proc/pressure/cpu', 'utf8'), readFile('/proc/pressure/io', 'utf8')]);
    const cpuSome = pressureTotal(cpu, 'some');
    const ioSome = pressureTotal(io, 'some');
    const ioFull = pressureTotal(io, 'full');
    if (cpuSome === null || ioSome === null || ioFull === null) return null;
    return { cpuSome, ioSome, ioFull };
  } catch {
    return null;
  }
}

async function loadAverage(): Promise<string> {
  try {
    return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

/**
 * Appends one line per `everyMs` to `file`: the wall-clock time, the load averages, and the
 * milliseconds of the interval that some task spent waiting for a CPU, some for I/O, and all
 * for I/O. Where the kernel has no /proc/pressure, the file says so once and holds load only.
 */
export function sampleHostPressure(file: string, everyMs = 500): HostPressureSampler {
  let stopped = false;
  let samples = 0;
  let previous: Totals | null = null;
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = appendFile(file, 'time load1 load5 load15 cpu_some_ms io_some_ms io_full_ms (per interval; - where /proc/pressure is missing)\n').catch(() => undefined);
  const sample = async (): Promise<void> => {
    const [totals, load] = await Promise.all([readTotals(), loadAverage()]);
    const delta = (now: number, before: number): string => ((now - before) / 1000).toFixed(1);
    const stalls = totals !== null && previous !== null ? `${delta(totals.cpuSome, previous.cpuSome)} ${delta(totals.ioSome, previous.ioSome)} ${delta(totals.ioFull, previous.ioFull)}` : '- - -';
    previous = totals;
    await appendFile(file, `${new Date().toISOString()} ${load} ${stalls}\n`).catch(() => undefined);
  };
  const tick = (): void => {
    timer = null;
    if (stopped || samples >= MAX_SAMPLES) return;
    samples++;
    writing = writing.then(sample);
    timer = setTimeout(tick, everyMs);
    timer.unref();
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await writing;
    },
  };
}
