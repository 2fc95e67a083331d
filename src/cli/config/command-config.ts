// Wiring the schema into yargs. yargs only splits the command line: every setting is
// declared to it as plain text (or a switch) without default or environment, so that
// what it hands over is exactly what the command line said. One middleware, run before
// yargs' own checks, resolves the command's schema (flags > env > file > defaults),
// collects every problem (unknown flags included), and either throws them all at once
// (ConfigProblemsError: exit 2, nothing started) or writes the resolved values back
// into argv for the command handler.
import type { Argv } from 'yargs';
import { resolveConfiguration, type Resolution } from './resolve.js';
import { envName, type Schema } from './settings.js';

/** What one command takes: its settings (the shared ones included) and its positional arguments, in order. */
export interface CommandSpec {
  readonly schema: Schema;
  /** Positional arguments; a setting of the same name validates one (e.g. incr's DELTA). */
  readonly positionals?: readonly string[];
  /** Rules between settings (and positionals), checked once each setting is valid on its own. */
  readonly rules?: (values: Readonly<Record<string, unknown>>) => Promise<readonly string[]> | readonly string[];
}

/** Every problem of a command line and configuration, one message each. */
export class ConfigProblemsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'ConfigProblemsError';
  }
}

const RESOLUTION = Symbol('duoraft.resolution');

interface WithResolution {
  [RESOLUTION]?: Resolution<Schema>;
}

/** The resolution the middleware made for this command's arguments. */
export function resolutionOf(argv: object): Resolution<Schema> | undefined {
  return (argv as WithResolution)[RESOLUTION];
}

function helpText(flag: string, s: Schema[string]): string {
  const parts = [s.describe, s.accepts];
  if (s.defaultValue !== undefined && s.defaultValue !== false) parts.push(`default ${JSON.stringify(s.defaultValue)}`);
  if (!s.flagOnly) parts.push(`env ${envName(flag)}`);
  return parts.join('; ');
}

/** Declares the settings of `schema` (all but the positionals) as yargs options. */
export function declareSettings<T>(y: Argv<T>, schema: Schema, options: { global?: boolean; skip?: readonly string[] } = {}): Argv<T> {
  let out = y;
  for (const [flag, setting] of Object.entries(schema)) {
    if (options.skip?.includes(flag)) continue;
    out = out.option(flag, {
      type: setting.yargsType,
      describe: helpText(flag, setting),
      hidden: setting.hidden,
      global: options.global ?? false,
    });
  }
  return out;
}

type Argv0 = Record<string | symbol, unknown> & { _: Array<string | number>; '--'?: Array<string | number> };

/**
 * The middleware. `specFor` names the spec of a command path (["node"], ["admin",
 * "transfer-leader"]); commands without one get `fallback` and no unknown-flag check
 * (yargs' strict mode still refuses unknown flags there).
 */
export function configMiddleware(
  specFor: (path: readonly string[]) => CommandSpec | undefined,
  fallback: Schema,
  env: Readonly<Record<string, string | undefined>>,
): (argv: object) => Promise<void> {
  return async (raw: object) => {
    const argv = raw as Argv0;
    // yargs runs global middleware once per command level (admin, then transfer-leader).
    if ((argv as WithResolution)[RESOLUTION]) return;
    const path = argv._.map(String);
    const spec = specFor(path);
    const schema = spec?.schema ?? fallback;
    const problems: string[] = [];

    if (!spec) {
      // Commands outside the schema (demo, bench, chaos) declare their numbers to yargs,
      // which turns "abc" into NaN: refuse that here (their ranges are theirs to check).
      for (const [key, value] of Object.entries(argv)) {
        if (typeof value === 'number' && Number.isNaN(value)) problems.push(`--${key} must be a number`);
      }
    }
    if (spec) {
      // Arguments after "--" are positionals too: `incr n -- -5`.
      const rest = (argv['--'] ?? []).map(String);
      for (const name of spec.positionals ?? []) {
        if (argv[name] === undefined && rest.length > 0) argv[name] = rest.shift();
      }
      argv['--'] = rest;
      for (const extra of rest) problems.push(`unexpected argument ${JSON.stringify(extra)} (see duoraft ${path.join(' ')} --help)`);
      const known = new Set([...Object.keys(schema), ...(spec.positionals ?? []), 'help', 'version', '_', '$0', '--']);
      for (const key of Object.keys(argv)) {
        if (!known.has(key)) problems.push(`unknown flag --${key} (see duoraft ${path.join(' ')} --help)`);
      }
    }

    const flags: Record<string, unknown> = {};
    for (const flag of Object.keys(schema)) if (argv[flag] !== undefined) flags[flag] = argv[flag];
    const resolution = await resolveConfiguration(schema, flags, env);
    problems.push(...resolution.problems);
    // Rules between settings only make sense once each one is valid.
    if (problems.length === 0 && spec?.rules) {
      const positionals = Object.fromEntries((spec.positionals ?? []).map((name) => [name, argv[name]]));
      problems.push(...(await spec.rules({ ...positionals, ...resolution.values })));
    }
    if (problems.length > 0) throw new ConfigProblemsError(problems);

    for (const [flag, value] of Object.entries(resolution.values)) argv[flag] = value;
    (argv as WithResolution)[RESOLUTION] = resolution;
  };
}
