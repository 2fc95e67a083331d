// ZooKeeper's four-letter words over plain TCP: how the launcher learns that a server
// is up (`srvr` reports a Mode once it serves clients) without a client library.
import net from 'node:net';

/** Sends `word` and resolves with everything the server wrote before closing. Rejects on connection errors or after timeoutMs. */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(() => finish(new Error(`${word} to ${host}:${port}: no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    socket.on('connect', () => socket.write(word));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('error', (err) => finish(err));
  });
}

/** The `Mode:` of a `srvr` answer (standalone, leader, follower, observer), or null when the server does not serve yet. */
export function parseMode(srvr: string): string | null {
  const match = /^Mode:\s*(\S+)/m.exec(srvr);
  return match?.[1] ?? null;
}

/** The server's mode, or null when it does not answer or does not serve. */
export async function serverMode(host: string, port: number, timeoutMs = 1_000): Promise<string | null> {
  try {
    return parseMode(await fourLetterWord(host, port, 'srvr', timeoutMs));
  } catch {
    return null;
  }
}

export interface WaitServingOptions {
  readonly timeoutMs: number;
  /** Polled between attempts: stop waiting early (with the returned reason) when the server process is gone. */
  readonly stillRunning?: () => boolean;
  readonly pollMs?: number;
}

/**
 * Polls `srvr` until the server reports a Mode. `ruok` alone is not enough: it answers
 * `imok` as soon as the port is bound, before the server accepts sessions.
 * Resolves with the mode; rejects after timeoutMs or when the process exits.
 */
export async function waitUntilServing(host: string, port: number, options: WaitServingOptions): Promise<string> {
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 50;
  for (;;) {
    if (options.stillRunning && !options.stillRunning()) throw new Error(`the server process for ${host}:${port} exited before serving`);
    const mode = await serverMode(host, port, Math.min(1_000, Math.max(100, deadline - Date.now())));
    if (mode !== null) return mode;
    if (Date.now() >= deadline) throw new Error(`ZooKeeper at ${host}:${port} did not serve within ${options.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs).unref());
  }
}
