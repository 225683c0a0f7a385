/**
 * `handoff` mode: naija-sup binds host:port once (bound, not listening: src/reload/handoff.ts) and
 * passes it to every instance as fd 3 with LISTEN_FDS=1. While no instance runs, connections wait
 * in the kernel's backlog instead of being refused; blue and green accept on the same socket, so a
 * probe must check which instance answered (src/reload/answered-by.ts). The accept queue belongs to
 * the shared socket and survives any one instance: retiring needs no wait.
 */
import type { ResolvedConfig } from '../config/types.js';
import { createHandoffListener, handoffEnv } from './handoff.js';
import { hostPort, keepAddress, type Mode } from './mode.js';

export function openHandoffMode(config: ResolvedConfig): Mode {
  const handoff = createHandoffListener({ host: config.host, port: config.port });
  const mode: Mode = {
    name: 'handoff',
    address: hostPort(config.host, handoff.port),
    zeroDowntime: true,
    privatePorts: false,
    instanceConfig: (c) => Promise.resolve(c),
    wiring: () => ({ extraFds: [handoff.fd], extraEnv: handoffEnv(), verifyAnsweredBy: true }),
    switchTo: () => undefined,
    retire: () => Promise.resolve(),
    publicUrl: (url) => url,
    adoptReload: (current, next) => keepAddress(mode, current, next),
    close: () => Promise.resolve(handoff.close()),
  };
  return mode;
}
