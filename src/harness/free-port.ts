// Free TCP ports for test servers. Asking the kernel for port 0 and closing the
// listener again is racy in principle (another process may take the port before we
// bind it), but on a loopback-only test machine that race is rare and each caller
// binds right away. Fixed ports are never used, so test files can run side by side.
import net from 'node:net';

/** A port on `host` that was free a moment ago: listen on port 0, read the port, close. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port of a listener on ${host}`));
        return;
      }
      const port = address.port;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/**
 * `count` distinct free ports. The listeners are held open until all ports are read, so
 * the kernel cannot hand the same port out twice within one call.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      server.unref();
      servers.push(server);
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, host, exclusive: true }, () => {
          const address = server.address();
          if (address === null || typeof address === 'string') reject(new Error(`could not read the port of a listener on ${host}`));
          else resolve(address.port);
        });
      });
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}
