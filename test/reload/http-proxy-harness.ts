/**
 * What the HTTP proxy's framing and body tests share: servers, sockets and proxies on 127.0.0.1
 * that every test ends (`afterEach` is registered by the importing file's call to `harness()`).
 */

import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach } from 'vitest';
import type { HttpReloadProxy } from '../../src/reload/http-proxy.js';

export interface Harness {
  proxies: HttpReloadProxy[];
  sockets: Socket[];
  /** Listens on an ephemeral 127.0.0.1 port (its connections are ended after the test); the port. */
  listening: <S extends Server>(server: S) => Promise<number>;
}

export function harness(): Harness {
  const proxies: HttpReloadProxy[] = [];
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close({ timeout: 1000 })));
    await Promise.all(
      servers.splice(0).map((server) => {
        (server as HttpServer).closeAllConnections?.();
        return new Promise((resolve) => server.close(resolve));
      }),
    );
  });
  const listening = async <S extends Server>(server: S): Promise<number> => {
    servers.push(server);
    server.on('connection', (socket: Socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  return { proxies, sockets, listening };
}
