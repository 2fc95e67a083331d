// Znode paths: what the client library refuses before sending (node-zookeeper-client's
// Path.validate), what the server refuses (ZooKeeper's PathUtils.validatePath), and
// parent/child helpers. Kept to the rules the real stack applies, checked against a real
// 3.8 server: a model that accepted more paths would let the simulator pass code the
// real server would reject.

/** Why node-zookeeper-client refuses `path` synchronously (the wrapper reports BAD_ARGUMENTS), or null. */
export function clientPathProblem(path: string): string | null {
  if (typeof path !== 'string' || path === '') return 'Node path must be a non-empty string.';
  if (path[0] !== '/') return 'Node path must start with / character.';
  if (path.length === 1) return null;
  if (path.endsWith('/')) return 'Node path must not end with / character.';
  if (path.includes('//')) return 'Node path must not contain empty node name.';
  if (/\/\.(\.)?(\/|$)/.test(path)) return 'Node path must not contain relative path(s).';
  return null;
}

/**
 * Whether the server refuses `path` as a znode name (BAD_ARGUMENTS): the characters
 * PathUtils.validatePath rejects. The server applies it to create (after the parent
 * lookup), setData and check, not to delete or reads (those just find nothing).
 */
export function serverRefusesPath(path: string): boolean {
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return true;
    if (c <= 0x1f) return true;
    if (c >= 0x7f && c <= 0x9f) return true;
    // Surrogates (so every astral character) and the private use area, then specials.
    if (c >= 0xd800 && c <= 0xf8ff) return true;
    if (c >= 0xfff0) return true;
  }
  return false;
}

/** The root and ZooKeeper's own znodes, which delete refuses with BAD_ARGUMENTS. */
export const specialPaths: ReadonlySet<string> = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']);

/** Parent of a valid non-root path ('/' for top-level znodes). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** Last component of a valid non-root path. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
