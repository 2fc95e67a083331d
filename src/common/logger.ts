// Structured logging with pino. Every line of a node carries its id, term and role:
// the node driver creates its logger with a mixin that reads them at write time.
import { pino } from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  readonly level?: string;
  /** Fields added to every line, read at the time the line is written. */
  readonly mixin?: () => Record<string, unknown>;
  /** Where lines go: a file descriptor (default 2, stderr). */
  readonly fd?: number;
}

export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const opts: pino.LoggerOptions = {
    name,
    level: options.level ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.mixin) opts.mixin = options.mixin;
  return pino(opts, pino.destination({ fd: options.fd ?? 2, sync: false }));
}

/** A logger that writes nothing: for unit tests and the simulator. */
export const silentLogger: Logger = pino({ level: 'silent' });
