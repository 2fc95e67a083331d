// duoraft config check [the node's flags]: resolves and checks a node's configuration
// exactly as `duoraft node` would, and prints it with where each value came from,
// without starting anything. Problems go to stderr, one line each, exit 2 (the config
// middleware throws them before this handler runs).
import { ConfigError } from '../common/errors.js';
import { resolutionOf } from './config/command-config.js';
import { nodeSettings, type Schema } from './config/settings.js';
import { printJson, printLine, printTable } from './output.js';

const REDACTED = '(redacted)';

interface ShownSetting {
  readonly value: string | number | boolean | readonly string[] | null;
  readonly source: string;
  readonly where?: string;
}

export async function configCheckCommand(argv: object & { json: boolean }): Promise<void> {
  const resolution = resolutionOf(argv);
  if (!resolution) throw new ConfigError('the configuration was not resolved (a bug: config check runs after the config middleware)');
  const shown: Record<string, ShownSetting> = {};
  for (const [flag, setting] of Object.entries(nodeSettings as Schema)) {
    const value: unknown = (resolution.values as Record<string, unknown>)[flag];
    // Test-only switches appear only when switched on.
    if (setting.hidden && value === setting.defaultValue) continue;
    const origin = resolution.origins[flag as keyof typeof nodeSettings];
    const printed = value === undefined ? null : setting.secret ? REDACTED : setting.show(value);
    shown[flag] = { value: printed, source: origin.source, ...(origin.where ? { where: origin.where } : {}) };
  }
  if (argv.json) {
    printJson({ valid: true, settings: shown, ignoredEnvironment: resolution.ignoredEnv });
    return;
  }
  printTable(
    Object.entries(shown).map(([flag, s]) => ({
      setting: flag,
      value: s.value === null ? '(unset)' : Array.isArray(s.value) ? s.value.join(',') : String(s.value),
      source: s.where && s.source !== 'flag' ? `${s.source} ${s.where}` : s.source,
    })),
    ['setting', 'value', 'source'],
  );
  for (const name of resolution.ignoredEnv) printLine(`ignored: ${name} sets nothing for duoraft node`);
  printLine('configuration is valid');
}
