// The flags and positional arguments of the client commands, beyond the shared ones:
// validated by the same schema machinery (config/), from the command line only.
import { isValidMemberId } from '../coordination/layout.js';
import type { CommandSpec } from './config/command-config.js';
import { booleanSetting, choiceSetting, integerSetting, textSetting } from './config/setting.js';
import { commonSettings } from './config/settings.js';
import { securityProblems } from './security-options.js';

const flagOnly = true;

export const putSettings = {
  ...commonSettings,
  stdin: booleanSetting({ describe: 'read the value from standard input', default: false, flagOnly }),
  'value-file': textSetting({ describe: 'read the value from this file', accepts: 'a file name', flagOnly }),
} as const;

export const getSettings = {
  ...commonSettings,
  consistency: choiceSetting({
    describe: 'linearizable (the leader, confirmed), lease (the leader, no round trip), stale (any member)',
    choices: ['linearizable', 'lease', 'stale'],
    default: 'linearizable',
    flagOnly,
  }),
  'min-index': integerSetting({
    describe: 'stale reads: wait until the member applied this index',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    default: 0,
    flagOnly,
  }),
} as const;

export const incrSettings = {
  ...commonSettings,
  delta: integerSetting({
    describe: 'what to add (negative subtracts)',
    min: -Number.MAX_SAFE_INTEGER,
    max: Number.MAX_SAFE_INTEGER,
    default: 1,
    positionalName: 'DELTA',
  }),
} as const;

export const casSettings = {
  ...commonSettings,
  absent: booleanSetting({ describe: 'set only if the key does not exist', default: false, flagOnly }),
} as const;

export const transferSettings = {
  ...commonSettings,
  to: textSetting({
    describe: 'the voter to hand over to (default: the other one)',
    accepts: "a voter id (1-64 letters, digits, '.', '_' or '-')",
    flagOnly,
    check: isValidMemberId,
  }),
} as const;

/** put takes its value from exactly one place. */
function putRules(v: Readonly<Record<string, unknown>>): string[] {
  const sources = [v['value'] !== undefined, v['stdin'] === true, v['value-file'] !== undefined].filter(Boolean).length;
  return sources === 1 ? [] : ['put takes exactly one of VALUE, --stdin or --value-file'];
}

function casRules(v: Readonly<Record<string, unknown>>): string[] {
  if (v['absent'] === true && v['b'] !== undefined) return ['with --absent give only KEY and NEW'];
  if (v['absent'] !== true && v['b'] === undefined) return ['cas needs KEY EXPECTED NEW (or KEY --absent NEW)'];
  return [];
}

/** The client's security settings, and a command's own rules. */
function clientRules(own: (v: Readonly<Record<string, unknown>>) => string[] = () => []): (v: Readonly<Record<string, unknown>>) => string[] {
  return (v) => [...securityProblems(v, 'client'), ...own(v)];
}

export const promoteSettings = {
  ...commonSettings,
  replace: textSetting({
    describe: 'the voter to replace (needed when the cluster has two voters); refused while it is alive',
    accepts: "a voter id (1-64 letters, digits, '.', '_' or '-')",
    flagOnly,
    check: isValidMemberId,
  }),
} as const;

export const removeListenerSettings = {
  ...commonSettings,
  strict: booleanSetting({
    describe: 'fail (exit 1, REMOVAL_REFUSED) when the id is not a listener of the cluster, instead of reporting that nothing changed (for scripts)',
    default: false,
    flagOnly,
  }),
} as const;

/** The client commands' specs, by command path. */
export const kvCommandSpecs: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  ['put', { schema: putSettings, positionals: ['key', 'value'], rules: clientRules(putRules) }],
  ['get', { schema: getSettings, positionals: ['key'], rules: clientRules() }],
  ['del', { schema: commonSettings, positionals: ['key'], rules: clientRules() }],
  ['incr', { schema: incrSettings, positionals: ['key', 'delta'], rules: clientRules() }],
  ['cas', { schema: casSettings, positionals: ['key', 'a', 'b'], rules: clientRules(casRules) }],
  ['status', { schema: commonSettings, rules: clientRules() }],
  ['admin transfer-leader', { schema: transferSettings, rules: clientRules() }],
  ['admin secure-zk', { schema: commonSettings, rules: clientRules() }],
  ['admin promote', { schema: promoteSettings, positionals: ['listener'], rules: clientRules() }],
  ['admin demote', { schema: commonSettings, positionals: ['id'], rules: clientRules() }],
  ['admin drop-listener', { schema: commonSettings, positionals: ['id'], rules: clientRules() }],
  ['admin remove-listener', { schema: removeListenerSettings, positionals: ['id'], rules: clientRules() }],
]);
