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
import { createProxy, pickPrivatePort } from './proxy.js';

/** What proxy mode needs of either proxy. */
interface Forwarder {
  readonly port: number;
  /** Instance `index` takes new traffic at `config`'s port, or none (null). */
  setTarget(index: number, config: ResolvedConfig | null): void;
  waitForDrain(port: number, capMs: number): Promise<boolean>;
  stats(): HttpProxyStats | null;
  close(): Promise<void>;
}

async function openForwarder(config: ResolvedConfig): Promise<Forwarder> {
  if (config.proxy.protocol === 'tcp') {
    const tcp = await createProxy({ host: config.host, port: config.port });
    return { port: tcp.port, setTarget: (i, c) => tcp.setTargetAt(i, c ? c.port : null), waitForDrain: (p, cap) => tcp.waitForDrain(p, cap), stats: () => null, close: () => tcp.close() };
  }
  const http = await createHttpProxy({ host: config.host, port: config.port, queueTimeoutMs: config.proxy.queueTimeout, forwardedHeaders: config.proxy.forwardedHeaders });
  return {
    port: http.port,
    // The instance's id labels its counters on /metrics: its private port is unique while it runs.
    setTarget: (i, c) => http.setTargetAt(i, c ? { port: c.port, id: String(c.port) } : null),
    waitForDrain: (p, cap) => http.waitForDrain(p, cap),
    stats: () => http.stats(),
    close: () => http.close({ timeout: Math.min(config.shutdown.timeout, 5000) }),
  };
}

/** The longest a retire waits for the old instance's queue, whatever shutdown.timeout allows. */
const RETIRE_CAP_MS = 2000;

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
    // Blue closes its listening socket when told to stop: connections the proxy opened to it just
    // before the switch must be accepted first, or the kernel resets them (failed requests). Safe
    // once every connection piped to blue has ended (short-lived connections: HTTP/1.0, Python's
    // http.server) or the kernel shows none waiting in blue's accept queue (keep-alive ones),
    // whichever comes first; bounded.
    retire: async (c) => {
      // One turn of the event loop: a connect() begun before the switch is counted once it completes.
      await new Promise((resolve) => setTimeout(resolve, 1));
      const cap = Math.min(RETIRE_CAP_MS, c.shutdown.timeout);
      const done = new AbortController();
      await Promise.race([proxy.waitForDrain(c.port, cap), waitForAcceptQueueEmpty(c.port, { timeoutMs: cap, signal: done.signal })]);
      done.abort();
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
