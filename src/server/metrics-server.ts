// The small HTTP server of `duoraft node --metrics HOST:PORT`: GET /metrics answers with
// the Prometheus exposition text; anything else is 404 (or 405 for another method). Plain
// HTTP on its own address, apart from the node's gRPC port: a scraper needs no gRPC, no
// client certificate and no token, and the figures tell nothing of the data (bind it to
// an address only the monitoring network reaches). Bounded: few connections, short
// timeouts, no request body read.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../common/errors.js';
import { formatHostPort, type HostPort, parseHostPort } from '../common/host-port.js';
import type { Logger } from '../common/logger.js';

/** What the server serves. */
export interface MetricsText {
  readonly contentType: string;
  text(): Promise<string>;
}

export interface MetricsServer {
  /** host:port as bound (the port the system picked for port 0). */
  readonly address: string;
  close(): Promise<void>;
}

const MAX_CONNECTIONS = 32;

/** The --metrics address (a voter's or a listener's), checked by runNodeOptionProblems before anything starts. */
export function metricsListen(text: string): HostPort {
  const parsed = parseHostPort(text, { allowPortZero: true });
  if ('problem' in parsed) throw new ConfigError(`invalid metrics address ${JSON.stringify(text)}: ${parsed.problem}`);
  return parsed;
}
const TIMEOUT_MS = 10_000;

export async function startMetricsServer(listen: HostPort, metrics: MetricsText, logger: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'metrics: cannot collect');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('cannot collect the metrics; see the node log\n');
      },
    );
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.requestTimeout = TIMEOUT_MS;
  server.headersTimeout = TIMEOUT_MS;
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new ConfigError(`cannot serve metrics on ${formatHostPort(listen.host, listen.port)}: ${err.code ?? err.message} (--metrics)`));
    };
    server.once('error', onError);
    server.listen(listen.port, listen.host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.warn({ err: err.message }, 'metrics server error'));
  const bound = server.address() as AddressInfo;
  const address = formatHostPort(listen.host, bound.port);
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
