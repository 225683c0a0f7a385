/**
 * `proxy` mode: naija-sup listens on host:port and forwards to the current instance, which listens
 * on a private port of its own on 127.0.0.1 (from get-port). Works with any server, at the cost of
 * a hop. Two proxies (proxy.protocol):
 *
 * - "http" (the default, issue 13): client connections end at naija-sup and requests go to the
 *   current instance over a keep-alive pool; a reload moves new requests, not connections, so
 *   keep-alive clients see nothing, and an idempotent request that failed on a retiring or crashed
 *   instance before any response byte is retried (src/reload/http-proxy.ts, docs/http-proxy.md).
 * - "tcp": a byte pipe per connection for servers that do not speak HTTP (src/reload/proxy.ts); it
 *   cannot tell an idle keep-alive connection from a busy one, and cannot retry.
 */
import type { ResolvedConfig } from '../config/types.js';
import { waitForAcceptQueueEmpty } from './accept-queue.js';
import { createHttpProxy, type HttpProxyStats } from './http-proxy.js';
import { hostPort, keepAddress, type Mode } from './mode.js';
import { createProxy } from './proxy.js';
import { pickPrivatePort } from './private-port.js';

/** What proxy mode needs of either proxy. */
interface Forwarder {
  readonly port: number;
  /** Instance `index` takes new traffic at `config`'s port, or none (null). */
  setTarget(index: number, config: ResolvedConfig | null): void;
  /**
   * Resolves when the instance at `port` may be told to stop without losing what was sent to it
   * (see the two implementations); bounded by the instance's shutdown.timeout.
   */
  retire(port: number, shutdownTimeoutMs: number): Promise<void>;
  stats(): HttpProxyStats | null;
  close(): Promise<void>;
}

async function openForwarder(config: ResolvedConfig): Promise<Forwarder> {
  if (config.proxy.protocol === 'tcp') {
    const tcp = await createProxy({ host: config.host, port: config.port });
    return { port: tcp.port, setTarget: (i, c) => tcp.setTargetAt(i, c ? c.port : null), retire: (p, t) => retireTcp(tcp, p, t), stats: () => null, close: () => tcp.close() };
  }
  const http = await createHttpProxy({ host: config.host, port: config.port, queueTimeoutMs: config.proxy.queueTimeout, forwardedHeaders: config.proxy.forwardedHeaders, limits: { responseTimeout: config.proxy.responseTimeout === 0 ? Infinity : config.proxy.responseTimeout } });
  return {
    port: http.port,
    // The instance's id labels its counters on /metrics: its private port is unique while it runs.
    setTarget: (i, c) => http.setTargetAt(i, c ? { port: c.port, id: String(c.port) } : null),
    // Every request sent to the old instance gets its answer before it is signalled (a server
    // with no SIGTERM handler dies at once, taking a POST in progress with it: a 502, not
    // retryable), then a short grace for the bodies being relayed. Connections the proxy opened
    // to it carry a request each, so none waits unaccepted in its queue after this.
    retire: async (p, t) => {
      await http.waitForAnswers(p, t);
      await http.waitForDrain(p, Math.min(RETIRE_CAP_MS, t));
    },
    stats: () => http.stats(),
    close: () => http.close({ timeout: Math.min(config.shutdown.timeout, 5000) }),
  };
}

/** The longest a retire waits for the old instance's queue (tcp) or its bodies (http), whatever shutdown.timeout allows. */
const RETIRE_CAP_MS = 2000;

/**
 * Blue closes its listening socket when told to stop: connections the pipe opened to it just
 * before the switch must be accepted first, or the kernel resets them (failed requests). Safe
 * once every connection piped to blue has ended (short-lived connections: HTTP/1.0, Python's
 * http.server) or the kernel shows none waiting in blue's accept queue (keep-alive ones),
 * whichever comes first; bounded. The pipe cannot see requests, so it cannot wait for them.
 */
async function retireTcp(tcp: { waitForDrain(port: number, timeoutMs: number): Promise<boolean> }, port: number, shutdownTimeoutMs: number): Promise<void> {
  const cap = Math.min(RETIRE_CAP_MS, shutdownTimeoutMs);
  const done = new AbortController();
  await Promise.race([tcp.waitForDrain(port, cap), waitForAcceptQueueEmpty(port, { timeoutMs: cap, signal: done.signal })]);
  done.abort();
}

export async function openProxyMode(config: ResolvedConfig): Promise<Mode> {
  const proxy = await openForwarder(config);
  const address = hostPort(config.host, proxy.port);
  const mode: Mode = {
    name: 'proxy',
    address,
    zeroDowntime: true,
    privatePorts: true,
    instanceConfig: async (c) => ({ ...c, host: '127.0.0.1', port: await pickPrivatePort() }),
    wiring: () => ({ extraFds: [], extraEnv: {}, verifyAnsweredBy: false, publicPort: proxy.port }),
    switchTo: (i, c) => proxy.setTarget(i, c),
    retire: async (c) => {
      // One turn of the event loop: a connect() begun before the switch is counted once it completes.
      await new Promise((resolve) => setTimeout(resolve, 1));
      await proxy.retire(c.port, c.shutdown.timeout);
    },
    publicUrl: (url) => publicUrl(url, address),
    adoptReload: (current, next) => keepAddress(mode, current, next),
    stats: () => proxy.stats(),
    close: () => proxy.close(),
  };
  return mode;
}

/** `url` with its host and port replaced by the public `address` ("127.0.0.1:8000"). */
function publicUrl(url: string, address: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${address}${u.pathname === '/' && !url.endsWith('/') ? '' : u.pathname}${u.search}`;
  } catch {
    return `http://${address}`;
  }
}
