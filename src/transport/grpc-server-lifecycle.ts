// Binding and stopping a gRPC server, the same way for voters and listeners.
import * as grpc from '@grpc/grpc-js';

/** How long a graceful stop may take before the open calls are cut. */
const FORCE_SHUTDOWN_AFTER_MS = 1000;

/** Binds `listen`; resolves with the port (the one chosen when `listen` ends in :0). */
export function bindServer(server: grpc.Server, listen: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/** Stops taking calls and lets open ones finish, for at most FORCE_SHUTDOWN_AFTER_MS, then cuts them. */
export function shutdownServer(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, FORCE_SHUTDOWN_AFTER_MS);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
