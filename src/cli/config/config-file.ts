// The optional config file (--config FILE): YAML, or JSON for a name ending in .json.
// A flat mapping from flag names to values, e.g.
//
//   zk: zk1:2181,zk2:2181,zk3:2181
//   cluster: orders
//   listen: 0.0.0.0:7001
//   zk-session-timeout: 4000
//   voters: [a, b]
//
// YAML because operators write it by hand and it takes comments; the `yaml` package
// (YAML 1.2, no dependencies) reads it, and refuses duplicate keys.
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';

type YamlModule = typeof import('yaml');
let yaml: YamlModule | null = null;

/**
 * The yaml package, loaded when a file is first parsed: most commands read no config file,
 * and loading its 70 modules took a twentieth of every process start (a node's too).
 */
function loadYaml(): YamlModule {
  yaml ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yaml;
}

export interface ConfigFile {
  readonly path: string;
  /** Key to value, in file order. */
  readonly values: ReadonlyMap<string, unknown>;
}

/** Larger than any sensible configuration: refused rather than read. */
const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

function reason(err: unknown): string {
  if (err instanceof Error) return err.message.replace(/\s*\n\s*/g, ' ').trim();
  return String(err);
}

/** The settings in the file at `path`, or why it cannot be used. */
export async function readConfigFile(path: string): Promise<ConfigFile | { readonly problem: string }> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) return { problem: `config file ${path} is not a file` };
    if (info.size > MAX_CONFIG_FILE_BYTES) return { problem: `config file ${path} has ${info.size} bytes, more than ${MAX_CONFIG_FILE_BYTES}` };
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { problem: `cannot read config file ${path}: ${reason(err)}` };
  }
  return parseConfigText(path, text);
}

/** Parses the text of a config file (exported for tests). */
export function parseConfigText(path: string, text: string): ConfigFile | { readonly problem: string } {
  let doc: unknown;
  // Loaded outside the parse's try: a missing package is an installation problem (thrown
  // as such), not a fault of the operator's file.
  const yamlModule = path.endsWith('.json') ? null : loadYaml();
  try {
    doc = yamlModule === null ? JSON.parse(text) : yamlModule.parse(text, { uniqueKeys: true, maxAliasCount: 0 });
  } catch (err) {
    return { problem: `config file ${path} does not parse: ${reason(err)}` };
  }
  // An empty YAML file is null: no settings.
  if (doc === null || doc === undefined) return { path, values: new Map() };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    return { problem: `config file ${path} must hold a mapping of flag names to values (e.g. "zk: 127.0.0.1:2181"), not a ${Array.isArray(doc) ? 'list' : typeof doc}` };
  }
  return { path, values: new Map(Object.entries(doc)) };
}
