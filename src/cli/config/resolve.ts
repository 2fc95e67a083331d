// Resolving a schema against its sources. Precedence: flags > environment (DUORAFT_*)
// > config file > defaults. Every problem is collected, one message each, naming
// where the bad value came from and what the setting accepts; nothing stops at the
// first. Pure but for reading the config file.
import { readConfigFile, type ConfigFile } from './config-file.js';
import { allSettingNames, CONFIG_FLAG, envName, type Schema, type SettingValues } from './settings.js';
import type { Setting } from './setting.js';

export type SettingSource = 'flag' | 'env' | 'file' | 'default' | 'unset';

export interface Origin {
  readonly source: SettingSource;
  /** "--timeout", "DUORAFT_TIMEOUT", the config file's path; empty for default and unset. */
  readonly where: string;
}

export interface ResolveInput {
  /** What the command line gave: only the flags present (yargs without defaults or env). */
  readonly flags: Readonly<Record<string, unknown>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly file: ConfigFile | null;
}

export interface Resolution<S extends Schema> {
  readonly values: SettingValues<S>;
  readonly origins: Readonly<Record<keyof S & string, Origin>>;
  readonly problems: readonly string[];
  /** DUORAFT_* variables that set nothing here (unknown, or for a flag-only setting). */
  readonly ignoredEnv: readonly string[];
}

function quote(raw: unknown, secret: boolean): string {
  if (secret) return '(redacted)';
  return typeof raw === 'string' ? JSON.stringify(raw) : JSON.stringify(raw) ?? String(raw);
}

/** Where a value came from, as problems name it. */
function label(origin: Origin, flag: string, setting: Setting<unknown>): string {
  switch (origin.source) {
    case 'flag':
      return setting.positionalName ?? `--${flag}`;
    case 'env':
      return origin.where;
    case 'file':
      return `${flag} in ${origin.where}`;
    default:
      return `--${flag}`;
  }
}

/** The raw value of one setting and where it came from, by precedence; null if none. */
function pick(flag: string, setting: Setting<unknown>, input: ResolveInput): { raw: unknown; origin: Origin } | null {
  if (input.flags[flag] !== undefined) return { raw: input.flags[flag], origin: { source: 'flag', where: setting.positionalName ?? `--${flag}` } };
  if (setting.flagOnly) return null;
  const env = input.env[envName(flag)];
  // An empty variable counts as unset (compose files often declare them empty).
  if (env !== undefined && env !== '') return { raw: env, origin: { source: 'env', where: envName(flag) } };
  if (flag !== CONFIG_FLAG && input.file?.values.has(flag)) return { raw: input.file.values.get(flag), origin: { source: 'file', where: input.file.path } };
  return null;
}

/**
 * @param reportMissing whether a required setting found nowhere is a problem (not when
 *   the config file that may hold it could not be read: that one problem says it all)
 */
export function resolveSchema<S extends Schema>(schema: S, input: ResolveInput, reportMissing = true): Resolution<S> {
  const values: Record<string, unknown> = {};
  const origins: Record<string, Origin> = {};
  const problems: string[] = [];

  for (const [flag, setting] of Object.entries(schema)) {
    const picked = pick(flag, setting, input);
    if (picked === null) {
      values[flag] = setting.defaultValue;
      origins[flag] = { source: setting.defaultValue === undefined ? 'unset' : 'default', where: '' };
      if (setting.required && reportMissing) {
        const elsewhere = setting.flagOnly ? '' : ` (or ${envName(flag)}, or "${flag}" in the config file)`;
        problems.push(`--${flag} is required${elsewhere}: ${setting.describe}, ${setting.accepts}`);
      }
      continue;
    }
    origins[flag] = picked.origin;
    if (Array.isArray(picked.raw) && picked.origin.source === 'flag') {
      problems.push(`--${flag} is given ${picked.raw.length} times: give it once`);
      continue;
    }
    const read = setting.read(picked.raw);
    if ('invalid' in read) {
      const detail = read.detail ? ` (${read.detail})` : '';
      problems.push(`${label(picked.origin, flag, setting)} must be ${setting.accepts}, not ${quote(picked.raw, setting.secret)}${detail}`);
      continue;
    }
    values[flag] = read.value;
  }

  if (input.file) {
    for (const key of input.file.values.keys()) {
      if (key === CONFIG_FLAG) problems.push(`${key} in ${input.file.path}: a config file cannot name another config file`);
      else if (!allSettingNames.has(key)) problems.push(`${key} in ${input.file.path} is not a setting (settings are the flag names, e.g. zk-session-timeout)`);
      else if (schema[key]?.flagOnly) problems.push(`${key} in ${input.file.path}: --${key} is taken from the command line only`);
    }
  }

  const used = new Set(Object.entries(schema).filter(([, s]) => !s.flagOnly).map(([flag]) => envName(flag)));
  const ignoredEnv = Object.keys(input.env)
    .filter((name) => name.startsWith('DUORAFT_') && !used.has(name) && input.env[name] !== '')
    .sort();

  return {
    values: values as SettingValues<S>,
    origins: origins as Record<keyof S & string, Origin>,
    problems,
    ignoredEnv,
  };
}

/** Reads the config file named by --config or DUORAFT_CONFIG (if any), then resolves. */
export async function resolveConfiguration<S extends Schema>(
  schema: S,
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Resolution<S>> {
  const withoutFile = resolveSchema(schema, { flags, env, file: null });
  const path = withoutFile.values[CONFIG_FLAG];
  if (typeof path !== 'string') return withoutFile;
  const file = await readConfigFile(path);
  if (!('problem' in file)) return resolveSchema(schema, { flags, env, file });
  const rest = resolveSchema(schema, { flags, env, file: null }, false);
  return { ...rest, problems: [file.problem, ...rest.problems] };
}
