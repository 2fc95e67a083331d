// Reading docker/docker-compose.yml the way docker compose does, for the deployment tests:
// YAML with merge keys (<<: *anchor), environment as a mapping or a list, and the files a
// service sees at its config targets.
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dockerDir = join(repoRoot, 'docker');
export const composePath = join(dockerDir, 'docker-compose.yml');
export const composeTlsPath = join(dockerDir, 'docker-compose.tls.yml');

export interface ComposeService {
  readonly image?: string;
  readonly build?: unknown;
  readonly command?: readonly string[] | string;
  readonly environment?: Readonly<Record<string, string | number | boolean | null>> | readonly string[];
  readonly configs?: ReadonlyArray<string | { readonly source: string; readonly target?: string }>;
  readonly secrets?: ReadonlyArray<string | { readonly source: string; readonly target?: string }>;
  readonly volumes?: ReadonlyArray<string | { readonly type?: string; readonly source?: string; readonly target: string }>;
  readonly hostname?: string;
  readonly profiles?: readonly string[];
  readonly healthcheck?: { readonly disable?: boolean; readonly test?: unknown };
  readonly depends_on?: unknown;
  readonly [other: string]: unknown;
}

export interface ComposeFile {
  readonly name?: string;
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly configs?: Readonly<Record<string, { readonly file?: string }>>;
  readonly secrets?: Readonly<Record<string, { readonly file?: string }>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
  readonly networks?: Readonly<Record<string, unknown>>;
  readonly [other: string]: unknown;
}

/** The compose document as compose reads it: merge keys resolved (YAML 1.1's `<<`). */
export function parseCompose(text: string): ComposeFile {
  return parseYaml(text, { merge: true, uniqueKeys: true }) as ComposeFile;
}

export function readCompose(path = composePath): ComposeFile {
  return parseCompose(readFileSync(path, 'utf8'));
}

/** A service's environment as a record (compose takes a mapping or KEY=VALUE items). */
export function environmentOf(s: ComposeService): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(s.environment)) {
    for (const item of s.environment as readonly string[]) {
      const eq = item.indexOf('=');
      if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
    }
  } else if (s.environment) {
    for (const [k, v] of Object.entries(s.environment)) if (v !== null) env[k] = String(v);
  }
  return env;
}

/** A service's command as arguments (a string is split on spaces, as compose does without quotes). */
export function commandOf(s: ComposeService): string[] {
  if (s.command === undefined) return [];
  return typeof s.command === 'string' ? s.command.split(/\s+/).filter(Boolean) : [...s.command];
}

/**
 * Container path to host path of every config file and secret a service mounts (a secret
 * lands at /run/secrets/NAME unless its target says otherwise). `secretsDir`, when given,
 * replaces the folder of every secret file (the tests make the files elsewhere).
 */
export function configMounts(file: ComposeFile, s: ComposeService, composeDir = dockerDir, secretsDir?: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const c of s.configs ?? []) {
    const source = typeof c === 'string' ? c : c.source;
    const target = typeof c === 'string' ? `/${c}` : (c.target ?? `/${c.source}`);
    const hostFile = file.configs?.[source]?.file;
    if (hostFile !== undefined) mounts.set(target, resolve(composeDir, hostFile));
  }
  for (const c of s.secrets ?? []) {
    const source = typeof c === 'string' ? c : c.source;
    const target = typeof c === 'string' ? `/run/secrets/${c}` : c.target?.startsWith('/') ? c.target : `/run/secrets/${c.target ?? c.source}`;
    const hostFile = file.secrets?.[source]?.file;
    if (hostFile !== undefined) mounts.set(target, secretsDir ? join(secretsDir, basename(hostFile)) : resolve(composeDir, hostFile));
  }
  return mounts;
}

/**
 * `docker compose -f base -f override` for what these files use: services merged key by
 * key, an environment mapping merged variable by variable, secrets and configs lists
 * joined, top-level mappings (secrets, configs, volumes) merged by name.
 */
export function mergeCompose(base: ComposeFile, override: ComposeFile): ComposeFile {
  const services: Record<string, ComposeService> = { ...base.services };
  for (const [name, o] of Object.entries(override.services ?? {})) {
    const b = services[name] ?? {};
    const merged: Record<string, unknown> = { ...b, ...o };
    if (b.environment !== undefined || o.environment !== undefined) merged['environment'] = { ...environmentOf(b), ...environmentOf(o) };
    for (const list of ['secrets', 'configs'] as const) {
      if (b[list] !== undefined || o[list] !== undefined) merged[list] = [...(b[list] ?? []), ...(o[list] ?? [])];
    }
    services[name] = merged as ComposeService;
  }
  const top = (k: 'secrets' | 'configs' | 'volumes'): Record<string, unknown> | undefined =>
    base[k] === undefined && override[k] === undefined ? undefined : { ...(base[k] ?? {}), ...(override[k] ?? {}) };
  const out: Record<string, unknown> = { ...base, ...override, services };
  for (const k of ['secrets', 'configs', 'volumes'] as const) {
    const v = top(k);
    if (v !== undefined) out[k] = v;
  }
  return out as ComposeFile;
}

/** The services that run the duoraft image (built from docker/Dockerfile). */
export function duoraftServices(file: ComposeFile): Array<[string, ComposeService]> {
  return Object.entries(file.services).filter(([, s]) => s.build !== undefined || (s.image ?? '').startsWith('duoraft'));
}
