// One setting of the configuration schema: what it accepts, its default, and how it is
// read from a flag, an environment variable or a config file. The schema is a record
// from flag name (without the dashes) to Setting; see settings.ts.
import { HOST_PORT_FORMAT, parseHostPort } from '../../common/host-port.js';
import { describeIntegerRange, readInteger, type Range } from './numbers.js';

/** Whether a resolved setting always has a value (a default, or required) or may be unset. */
export type Presence = 'always' | 'maybe';

/** A value, or why not: the setting "must be <accepts>, not <raw>" and, if there is more to say, the detail. */
export type ReadResult<T> = { readonly value: T } | { readonly invalid: true; readonly detail?: string };

export interface Setting<T, P extends Presence = Presence> {
  readonly presence: P;
  readonly describe: string;
  /** What values it takes: "an integer from 1 to 600000 (ms)". Said in help and in problems. */
  readonly accepts: string;
  /** How yargs should take it: booleans as switches, everything else as the text given. */
  readonly yargsType: 'string' | 'boolean';
  readonly defaultValue: T | undefined;
  /** Missing everywhere is a problem. */
  readonly required: boolean;
  /** Redacted when the configuration is printed. */
  readonly secret: boolean;
  /** Left out of --help (test-only switches). */
  readonly hidden: boolean;
  /** Taken from the command line only, never from the environment or a config file. */
  readonly flagOnly: boolean;
  /** The NodeConfig fields it sets, so that a cross-field rule's problem can name the flag. */
  readonly fields: readonly string[];
  /** For a positional argument: its name in messages ("DELTA"); it is no flag. */
  readonly positionalName: string | undefined;
  /** The value in `raw` (text from a flag or the environment, a scalar from a file). */
  read(raw: unknown): ReadResult<T>;
  /** The value as config check prints it. */
  show(value: T): string | number | boolean | readonly string[];
}

interface Common {
  readonly describe: string;
  readonly hidden?: boolean;
  readonly flagOnly?: boolean;
  readonly fields?: readonly string[];
  /** A positional argument (implies flagOnly): its name in messages. */
  readonly positionalName?: string;
}

function base<T, P extends Presence>(
  presence: P,
  o: Common & { readonly secret?: boolean; readonly required?: boolean },
  accepts: string,
  yargsType: 'string' | 'boolean',
  defaultValue: T | undefined,
  read: (raw: unknown) => ReadResult<T>,
  show: (value: T) => string | number | boolean | readonly string[],
): Setting<T, P> {
  return {
    presence,
    describe: o.describe,
    accepts,
    yargsType,
    defaultValue,
    required: o.required ?? false,
    secret: o.secret ?? false,
    hidden: o.hidden ?? false,
    flagOnly: (o.flagOnly ?? false) || o.positionalName !== undefined,
    fields: o.fields ?? [],
    positionalName: o.positionalName,
    read,
    show,
  };
}

const invalid = (detail?: string | null): { invalid: true; detail?: string } => (detail ? { invalid: true, detail } : { invalid: true });

// ---------------------------------------------------------------------------

type IntegerOptions = Common & Range;

export function integerSetting(o: IntegerOptions & { readonly default: number }): Setting<number, 'always'>;
export function integerSetting(o: IntegerOptions): Setting<number, 'maybe'>;
export function integerSetting(o: IntegerOptions & { readonly default?: number }): Setting<number> {
  const accepts = describeIntegerRange(o);
  const read = (raw: unknown): ReadResult<number> => {
    const n = readInteger(raw, o);
    return n === null ? invalid() : { value: n };
  };
  return o.default === undefined
    ? base('maybe', o, accepts, 'string', undefined, read, (v) => v)
    : base('always', o, accepts, 'string', o.default, read, (v) => v);
}

type TextOptions = Common & {
  readonly secret?: boolean;
  /** A check beyond "not empty": false, or what is wrong, when `text` is not acceptable. */
  readonly check?: (text: string) => boolean | string;
  readonly accepts?: string;
};

export function textSetting(o: TextOptions & { readonly default: string }): Setting<string, 'always'>;
export function textSetting(o: TextOptions & { readonly required: true }): Setting<string, 'always'>;
export function textSetting(o: TextOptions): Setting<string, 'maybe'>;
export function textSetting(o: TextOptions & { readonly default?: string; readonly required?: boolean }): Setting<string> {
  const accepts = o.accepts ?? 'a non-empty text';
  const read = (raw: unknown): ReadResult<string> => {
    const text = typeof raw === 'number' ? String(raw) : raw;
    if (typeof text !== 'string' || text === '') return invalid();
    const verdict = o.check?.(text) ?? true;
    return verdict === true ? { value: text } : invalid(verdict === false ? null : verdict);
  };
  const presence = o.default !== undefined || o.required ? 'always' : 'maybe';
  return base(presence, o, accepts, 'string', o.default, read, (v) => v);
}

/** HOST:PORT, kept as the text given (validated by the shared parser). */
export function addressSetting(o: Common & { readonly required: true; readonly allowPortZero?: boolean }): Setting<string, 'always'>;
export function addressSetting(o: Common & { readonly allowPortZero?: boolean }): Setting<string, 'maybe'>;
export function addressSetting(o: Common & { readonly required?: boolean; readonly allowPortZero?: boolean }): Setting<string> {
  const accepts = `${HOST_PORT_FORMAT}${o.allowPortZero ? ', port 0 for any free port' : ''}`;
  const read = (raw: unknown): ReadResult<string> => {
    if (typeof raw !== 'string' || raw === '') return invalid();
    const parsed = parseHostPort(raw, { allowPortZero: o.allowPortZero ?? false });
    return 'problem' in parsed ? invalid(parsed.problem) : { value: raw };
  };
  return base(o.required ? 'always' : 'maybe', o, accepts, 'string', undefined, read, (v) => v);
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** A switch: `--json`, DUORAFT_JSON=true, `json: true`. */
export function booleanSetting(o: Common & { readonly default: boolean }): Setting<boolean, 'always'> {
  const accepts = 'true or false';
  const read = (raw: unknown): ReadResult<boolean> => {
    if (typeof raw === 'boolean') return { value: raw };
    if (typeof raw === 'string' && TRUE.has(raw.toLowerCase())) return { value: true };
    if (typeof raw === 'string' && FALSE.has(raw.toLowerCase())) return { value: false };
    return invalid();
  };
  return base('always', o, accepts, 'boolean', o.default, read, (v) => v);
}

export function choiceSetting<C extends string>(o: Common & { readonly choices: readonly C[]; readonly default: C }): Setting<C, 'always'> {
  const accepts = `one of ${o.choices.join(', ')}`;
  const read = (raw: unknown): ReadResult<C> => {
    const found = o.choices.find((c) => c === raw);
    return found === undefined ? invalid() : { value: found };
  };
  return base('always', o, accepts, 'string', o.default, read, (v) => v);
}

/** A comma-separated list ("a,b"), or a list in a config file. */
export function listSetting(o: Common & { readonly accepts: string; readonly check: (items: readonly string[]) => boolean }): Setting<readonly string[], 'maybe'> {
  const read = (raw: unknown): ReadResult<readonly string[]> => {
    let items: string[];
    if (typeof raw === 'string') items = raw.split(',').map((s) => s.trim());
    else if (Array.isArray(raw) && raw.every((s): s is string => typeof s === 'string')) items = raw.map((s) => s.trim());
    else return invalid();
    return o.check(items) ? { value: items } : invalid();
  };
  return base('maybe', o, o.accepts, 'string', undefined, read, (v) => v);
}
