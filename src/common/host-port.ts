// HOST:PORT addresses, the one parser for them: listen, advertise and peer addresses,
// and the members' addresses in ZooKeeper. An IPv6 host goes in brackets, as in URLs
// and gRPC targets ([::1]:7001); without them the last colon could not be told apart
// from the colons inside the host.
import { isIPv6 } from 'node:net';

export interface HostPort {
  /** Without brackets: "::1", "127.0.0.1", "db.example". */
  readonly host: string;
  readonly port: number;
}

/** What an address may be: listen addresses may use port 0 (the system picks a free one). */
export interface HostPortRules {
  readonly allowPortZero?: boolean;
}

/** Letters, digits, '-', '.', '_' in labels: a DNS name or an IPv4 address. */
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_.])?$/;
const PORT = /^\d{1,5}$/;

export const HOST_PORT_FORMAT = 'HOST:PORT (an IPv6 host in brackets: [::1]:7001)';

/** The host and port of `text`, or why it is not an address. */
export function parseHostPort(text: string, rules: HostPortRules = {}): HostPort | { readonly problem: string } {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return { problem: `expected ]:PORT after the IPv6 address, as in ${HOST_PORT_FORMAT}` };
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!isIPv6(host)) return { problem: `${JSON.stringify(host)} in brackets is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { problem: 'no :PORT' };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return { problem: `an IPv6 host goes in brackets: [${host}]:${portText}` };
    if (!HOST_NAME.test(host)) return { problem: `${JSON.stringify(host)} is not a host name or address` };
  }
  if (!PORT.test(portText)) return { problem: `port ${JSON.stringify(portText)} is not a number` };
  const port = Number(portText);
  const min = rules.allowPortZero ? 0 : 1;
  if (port < min || port > 65535) return { problem: `port ${port} is outside ${min}..65535` };
  return { host, port };
}

/** HOST:PORT, with the host in brackets when it is an IPv6 address. */
export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
