/**
 * `direct` mode: the instance binds the port itself. Nothing to hold, nothing to switch; a reload is
 * a restart (requests are refused while the server restarts), and the reloaded config may move the
 * port (the next instance simply binds the new one).
 */
import type { InstanceWiring, Mode } from './mode.js';

const WIRING: InstanceWiring = { extraFds: [], extraEnv: {}, verifyAnsweredBy: false };

export function openDirectMode(): Mode {
  return {
    name: 'direct',
    address: null,
    zeroDowntime: false,
    privatePorts: false,
    instanceConfig: (config) => Promise.resolve(config),
    wiring: () => WIRING,
    switchTo: () => undefined,
    retire: () => Promise.resolve(),
    publicUrl: (url) => url,
    adoptReload: (_current, next) => ({ config: next }),
    close: () => Promise.resolve(),
  };
}
