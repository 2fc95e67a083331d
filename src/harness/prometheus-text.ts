// Reading Prometheus exposition text (what `duoraft node --metrics` serves), for tests and
// tools: one sample by name and labels, and a scrape of a node's /metrics.

/** The value of the first sample named `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(pair[1]!, pair[2]!);
    if (!Object.entries(labels).every(([k, v]) => have.get(k) === v)) continue;
    const raw = m[3]!;
    return raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
  }
  return undefined;
}

/** GET http://ADDRESS/metrics; the text, or an error naming the address. */
export async function scrapeMetrics(address: string, timeoutMs = 2000): Promise<string> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`GET http://${address}/metrics answered ${res.status}`);
  return res.text();
}
