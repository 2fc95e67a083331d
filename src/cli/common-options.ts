// Options every command takes (--zk, --cluster, --json, --log-level, --timeout,
// --config). Their schema is commonSettings (config/settings.ts); the config middleware
// resolves them from flags, DUORAFT_* variables and the config file: the CLI is the
// only reader of the environment.
import type { Argv } from 'yargs';
import { declareSettings } from './config/command-config.js';
import { commonSettings, type CommonValues } from './config/settings.js';

export type CommonArgs = CommonValues;

export function withCommonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return declareSettings(y, commonSettings, { global: true }) as Argv<T & CommonArgs>;
}
