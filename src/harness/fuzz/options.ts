// What a fuzz run is asked to do, with the defaults the command uses; validated once here.
import { InvalidArgumentError } from '../../common/errors.js';
import type { ZooKeeperEnv } from '../zk-java.js';
import { FUZZ_TARGETS, type FuzzTarget } from './context.js';

export interface FuzzOptions {
  readonly seed: number;
  /** Time for rounds, in seconds (0: no time limit, `rounds` decides). */
  readonly seconds: number;
  /** Rounds to run (0: as many as `seconds` allows). With both, whichever ends first. */
  readonly rounds: number;
  /** The targets take turns, in seeded shuffled order. */
  readonly targets: readonly FuzzTarget[];
  /** Recording clients of the checked load. */
  readonly clients: number;
  /** Pause between two calls of one load client (ms). */
  readonly thinkMs: number;
  /** After each round, and at the end: the cluster must be whole again within this long. */
  readonly recoveryTimeoutMs: number;
  /** Where result.json goes (none: not written). */
  readonly outDir?: string;
  /** Keep the nodes' logs and data in outDir/cluster. */
  readonly keepLogs: boolean;
  readonly env: ZooKeeperEnv;
  readonly print: (line: string) => void;
  readonly json: boolean;
}

export const FUZZ_DEFAULTS = {
  seed: 1,
  seconds: 60,
  rounds: 0,
  targets: FUZZ_TARGETS,
  clients: 4,
  thinkMs: 10,
  recoveryTimeoutMs: 30_000,
  keepLogs: false,
  json: false,
} as const;

export function validateFuzzOptions(o: FuzzOptions): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) problems.push(`--seed must be a non-negative integer, not ${o.seed}`);
  if (!(Number.isFinite(o.seconds) && o.seconds >= 0 && o.seconds <= 7 * 24 * 3600)) problems.push(`--seconds must be 0 to 604800, not ${o.seconds}`);
  if (!Number.isSafeInteger(o.rounds) || o.rounds < 0) problems.push(`--rounds must be a non-negative integer, not ${o.rounds}`);
  if (o.seconds === 0 && o.rounds === 0) problems.push('give --seconds or --rounds (or both)');
  if (o.targets.length === 0 || o.targets.some((t) => !FUZZ_TARGETS.includes(t))) problems.push(`--targets takes ${FUZZ_TARGETS.join(', ')}`);
  if (!Number.isSafeInteger(o.clients) || o.clients < 1 || o.clients > 64) problems.push(`--clients must be 1 to 64, not ${o.clients}`);
  if (!Number.isSafeInteger(o.thinkMs) || o.thinkMs < 0 || o.thinkMs > 10_000) problems.push(`--think-ms must be 0 to 10000, not ${o.thinkMs}`);
  if (!Number.isSafeInteger(o.recoveryTimeoutMs) || o.recoveryTimeoutMs < 1000) problems.push(`--recovery-timeout-ms must be at least 1000, not ${o.recoveryTimeoutMs}`);
  if (o.keepLogs && !o.outDir) problems.push('--keep-logs needs --out');
  if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '));
}
