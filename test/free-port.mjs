/** A TCP port on 127.0.0.1 that was free a moment ago (for test servers: hubs, miniflare, nats-server). */
import { createServer } from 'node:net';

/** Resolves to a free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
