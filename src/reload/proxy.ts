/**
 * The reload proxy (issue 8, `mode: proxy`; docs/http-proxy.md): the supervisor
 * listens on the public `host:port` and pipes every TCP connection to the current instance's
 * private port on 127.0.0.1. It never parses the bytes, so it works for any TCP server.
 *
 * - New connections go to the current target; a connection stays on the target it was opened to
 *   until it ends, so after `setTarget(green)` blue drains on its own.
 * - No target (`setTarget(null)`), or the target refuses (the only instance crashed and its
 *   replacement is starting): the client connection is HELD — accepted but not read, so its bytes
 *   wait in the kernel — and connected as soon as a target is set or accepts, for at most
 *   `holdTimeout` ms. Clients wait instead of being refused. Retrying is safe because nothing has
 *   been forwarded before the upstream connection exists.
 * - Half-close is passed through (`allowHalfOpen` on both sides), backpressure comes from
 *   `pipe()`, and socket errors on either side (ECONNRESET, EPIPE…) end that one connection — the
 *   other side is reset so the peer sees the failure — never the proxy.
 *   One limit, libuv's: an RST that arrives behind bytes the proxy has not read yet (a held client
 *   that gives up, or data and reset in one poll wake) is reported as a plain end of stream — on
 *   POLLHUP after a short read, uv__stream_io reports EOF without the read(2) that would return
 *   ECONNRESET. The target then gets those bytes and a FIN instead of an RST, as a server would that
 *   read the connection itself through Node.
 *
 * Cost: a userspace hop. In front of the example Express API it costs 2–11% of direct throughput;
 * in front of a handler that does nothing, 24–41% on two cores, because the proxy then spends
 * nearly as much CPU per request as the server (50 vs 66 µs), most of it in write(2) into loopback
 * TCP, which also runs the receiver's TCP processing. Plain 'data' handlers instead of pipe() cost
 * the same, so pipe() stays (docs/benchmarks.md, bench/reload.mjs). Prefer `handoff` where the
 * server takes an fd: it has no hop.
 */

import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { Server, Socket } from 'node:net';
import { NaijaSupError } from '../errors.js';
import { untilDrained } from './drain-wait.js';

export interface ProxyOptions {
  /** Public address to listen on (IP literal or host name; brackets allowed for IPv6). */
  host: string;
  /** Public port; 0 = kernel's choice (tests), read it back from `proxy.port`. */
  port: number;
  /** Where instances listen; default 127.0.0.1. */
  targetHost?: string;
  /** The first target; default null (hold connections until setTarget). */
  target?: number | null;
  /** The longest a client connection is held waiting for a target, ms; default 10,000. */
  holdTimeout?: number;
  /** Held connections beyond this many are dropped at once; default 1024. */
  maxHeld?: number;
  /** Delay between connection attempts to a target that refused, ms; default 25. */
  retryInterval?: number;
  /** After one side of a piped connection has closed, the other gets this long to close; default 5,000 ms. */
  lingerTimeout?: number;
  /** Observability hook: what happened to connections the proxy could not serve normally. */
  onEvent?: ((event: ProxyEvent) => void) | undefined;
}

/** Notable events; routine traffic is not reported. */
export type ProxyEvent =
  | { type: 'held'; reason: 'no-target' | 'target-refused'; target: number | null; code?: string }
  | { type: 'hold-timeout'; waitedMs: number; lastError: string | undefined }
  | { type: 'dropped'; reason: 'max-held' | 'closing' }
  | { type: 'upstream-error'; target: number; code: string }
  | { type: 'client-error'; target: number | null; code: string }
  | { type: 'accept-error'; code: string };

export interface ProxyStats {
  /** Client connections accepted. */
  accepted: number;
  /** Connected to a target (piped). */
  piped: number;
  /** Held at some point (no target, or the target refused). */
  heldTotal: number;
  /** Held connections that timed out and were reset. */
  holdTimeouts: number;
  /** Dropped at once (too many held, or the proxy was closing). */
  dropped: number;
  /** Failed connection attempts to a target (each retried while the hold lasts). */
  connectFailures: number;
  /** Errors on piped connections (either side). */
  socketErrors: number;
}

export interface ReloadProxy {
  /** The address listened on. */
  readonly host: string;
  /** The port listened on (the kernel's choice when 0 was asked). */
  readonly port: number;
  /** The current target port, or null when new connections are held. */
  target(): number | null;
  /**
   * Sends new connections to 127.0.0.1:`port` (the instance's private port) from now on; held
   * connections are connected at once. `null`: no instance now, hold new connections. Connections
   * already piped stay where they are.
   */
  setTarget(port: number | null): void;
  /** Several instances (issue 20): `slot` takes new connections at `port` (null: none); taken in turn. `setTarget` is slot 0. */
  setTargetAt(slot: number, port: number | null): void;
  /** Live piped connections to `targetPort`, or to all targets when omitted. */
  connections(targetPort?: number): number;
  /** Client connections held right now (waiting for a target). */
  held(): number;
  /**
   * Resolves true once no piped connection to `targetPort` is left, false after `timeoutMs`. Use it
   * after switching to green to know that blue has no connection through the proxy any more.
   */
  waitForDrain(targetPort: number, timeoutMs: number): Promise<boolean>;
  stats(): ProxyStats;
  /**
   * Stops listening, resets held connections, waits up to `timeout` ms (default 5,000) for piped
   * connections to end, then destroys what is left. Safe to call twice.
   */
  close(options?: { timeout?: number }): Promise<void>;
}

interface Held {
  client: Socket;
  acceptedAt: number;
  holdTimer: NodeJS.Timeout;
  retryTimer: NodeJS.Timeout | undefined;
  /** An upstream connection attempt in progress. */
  attempt: Socket | undefined;
  lastError: string | undefined;
  reported: boolean;
}

interface Piped {
  client: Socket;
  upstream: Socket;
  target: number;
  open: number;
}

/**
 * Listens on `host:port` and returns the running proxy.
 *
 * @throws NaijaSupError `E_PORT_IN_USE` (EADDRINUSE) or `E_USAGE` (EACCES, EADDRNOTAVAIL, bad options).
 */
export async function createProxy(options: ProxyOptions): Promise<ReloadProxy> {
  const proxy = new TcpPipeProxy(options);
  await proxy.open(options.port);
  return proxy;
}

/** The TCP pipe: held connections until a target accepts, then one upstream connection each. */
class TcpPipeProxy implements ReloadProxy {
  readonly host: string;
  #port = 0;
  private readonly server: Server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
  private readonly targetHost: string;
  private readonly holdTimeout: number;
  private readonly maxHeld: number;
  private readonly retryInterval: number;
  private readonly lingerTimeout: number;
  private readonly emit: (event: ProxyEvent) => void;
  // The instances taking new connections, by slot (the app's instance index, issue 20). A byte
  // pipe cannot see requests, so several are taken in turn (round robin), one connection each.
  private readonly slots = new Map<number, number>();
  private turn = 0;
  private readonly heldSet = new Set<Held>();
  private readonly piped = new Set<Piped>();
  private readonly perTarget = new Map<number, number>();
  // 'drained' fires with the target port whenever a piped connection to it ends.
  private readonly drained = new EventEmitter<{ drained: [target: number] }>();
  private readonly counts: ProxyStats = { accepted: 0, piped: 0, heldTotal: 0, holdTimeouts: 0, dropped: 0, connectFailures: 0, socketErrors: 0 };
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(options: ProxyOptions) {
    this.host = options.host.startsWith('[') && options.host.endsWith(']') ? options.host.slice(1, -1) : options.host;
    this.targetHost = options.targetHost ?? '127.0.0.1';
    this.holdTimeout = positive('holdTimeout', options.holdTimeout ?? 10_000);
    this.maxHeld = positive('maxHeld', options.maxHeld ?? 1024);
    this.retryInterval = positive('retryInterval', options.retryInterval ?? 25);
    this.lingerTimeout = positive('lingerTimeout', options.lingerTimeout ?? 5000);
    this.emit = options.onEvent ?? ((): void => undefined);
    if (options.target != null) {
      checkPort('target', options.target);
      this.slots.set(0, options.target);
    }
    this.drained.setMaxListeners(0);
    this.server.on('connection', (client: Socket) => this.accept(client));
    // accept() errors (EMFILE…) are reported on the server; they must not crash the supervisor.
    this.server.on('error', (error: NodeJS.ErrnoException) => this.emit({ type: 'accept-error', code: error.code ?? 'ERROR' }));
  }

  /** The port listened on (the kernel's choice when 0 was asked), once open. */
  get port(): number {
    return this.#port;
  }

  async open(port: number): Promise<void> {
    await listen(this.server, this.host, port);
    const address = this.server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : port;
  }

  target(): number | null {
    return this.slots.values().next().value ?? null;
  }

  setTarget(next: number | null): void {
    this.setTargetAt(0, next);
  }

  setTargetAt(slot: number, next: number | null): void {
    if (next !== null) checkPort('target', next);
    if (next === null) this.slots.delete(slot);
    else this.slots.set(slot, next);
    if (next === null || this.closing) return;
    for (const entry of this.heldSet) {
      // An attempt in progress goes on; if it fails, its retry picks up a target current then.
      if (entry.attempt === undefined) this.connectUpstream(entry, this.nextTarget() ?? next);
    }
  }

  connections(targetPort?: number): number {
    if (targetPort === undefined) return this.piped.size;
    return this.perTarget.get(targetPort) ?? 0;
  }

  held(): number {
    return this.heldSet.size;
  }

  waitForDrain(targetPort: number, timeoutMs: number): Promise<boolean> {
    return untilDrained(this.drained, () => (this.perTarget.get(targetPort) ?? 0) === 0, timeoutMs);
  }

  stats(): ProxyStats {
    return { ...this.counts };
  }

  close({ timeout = 5000 }: { timeout?: number } = {}): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const entry of [...this.heldSet]) {
        this.release(entry);
        entry.attempt?.destroy();
        this.drop(entry.client, 'closing');
      }
      if (this.piped.size > 0) await untilDrained(this.drained, () => this.piped.size === 0, timeout);
      for (const link of this.piped) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await serverClosed;
    })();
    return this.closed;
  }

  private nextTarget(): number | null {
    const ports = [...this.slots.values()];
    if (ports.length === 0) return null;
    this.turn = (this.turn + 1) % ports.length;
    return ports[this.turn] ?? null;
  }

  private drop(client: Socket, reason: 'closing' | 'max-held'): void {
    this.counts.dropped += 1;
    this.emit({ type: 'dropped', reason });
    reset(client);
  }

  private accept(client: Socket): void {
    this.counts.accepted += 1;
    // A held client is not read, so errors are unlikely; one must still never crash the proxy.
    client.on('error', () => undefined);
    if (this.closing) return this.drop(client, 'closing');
    if (this.heldSet.size >= this.maxHeld) return this.drop(client, 'max-held');
    const entry: Held = {
      client,
      acceptedAt: Date.now(),
      holdTimer: setTimeout(() => this.holdTimedOut(entry), this.holdTimeout),
      retryTimer: undefined,
      attempt: undefined,
      lastError: undefined,
      reported: false,
    };
    this.heldSet.add(entry);
    this.dispatch(entry);
  }

  private holdTimedOut(entry: Held): void {
    if (!this.heldSet.has(entry)) return;
    this.release(entry);
    entry.attempt?.destroy();
    entry.attempt = undefined;
    this.counts.holdTimeouts += 1;
    this.emit({ type: 'hold-timeout', waitedMs: Date.now() - entry.acceptedAt, lastError: entry.lastError });
    reset(entry.client);
  }

  private dispatch(entry: Held): void {
    if (this.closing) return;
    const target = this.nextTarget();
    if (target === null) {
      if (!entry.reported) {
        entry.reported = true;
        this.counts.heldTotal += 1;
        this.emit({ type: 'held', reason: 'no-target', target: null });
      }
      return; // setTarget() dispatches it again.
    }
    this.connectUpstream(entry, target);
  }

  private release(entry: Held): void {
    this.heldSet.delete(entry);
    clearTimeout(entry.holdTimer);
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
  }

  private connectUpstream(entry: Held, target: number): void {
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    const upstream = net.connect({ host: this.targetHost, port: target, allowHalfOpen: true, noDelay: true });
    entry.attempt = upstream;
    const onError = (error: NodeJS.ErrnoException): void => this.connectFailed(entry, upstream, target, error);
    upstream.once('error', onError);
    upstream.once('connect', () => {
      upstream.off('error', onError);
      if (entry.attempt !== upstream || !this.heldSet.has(entry)) {
        upstream.destroy(); // The hold timed out or the proxy closed meanwhile.
        return;
      }
      entry.attempt = undefined;
      this.release(entry);
      this.pipe(entry.client, upstream, target);
    });
  }

  private connectFailed(entry: Held, upstream: Socket, target: number, error: NodeJS.ErrnoException): void {
    upstream.destroy();
    if (entry.attempt !== upstream) return;
    entry.attempt = undefined;
    this.counts.connectFailures += 1;
    const code = error.code ?? 'ERROR';
    entry.lastError = `${code} from ${this.targetHost}:${target}`;
    if (!this.heldSet.has(entry) || this.closing) return;
    if (!entry.reported) {
      entry.reported = true;
      this.counts.heldTotal += 1;
      this.emit({ type: 'held', reason: 'target-refused', target, code });
    }
    // Retry the target current at that moment (setTarget may have changed it, or set null).
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = undefined;
      if (this.heldSet.has(entry) && entry.attempt === undefined) this.dispatch(entry);
    }, this.retryInterval);
  }

  private pipe(client: Socket, upstream: Socket, target: number): void {
    const link: Piped = { client, upstream, target, open: 2 };
    this.piped.add(link);
    this.perTarget.set(target, (this.perTarget.get(target) ?? 0) + 1);
    this.counts.piped += 1;

    let failed = false;
    const onSocketError = (side: 'client' | 'upstream') => (error: NodeJS.ErrnoException): void => {
      this.counts.socketErrors += 1;
      const code = error.code ?? 'ERROR';
      this.emit(side === 'client' ? { type: 'client-error', target, code } : { type: 'upstream-error', target, code });
      if (failed) return;
      failed = true;
      // Reset the other side, so its peer sees a failure rather than a clean end of the stream.
      reset(side === 'client' ? upstream : client);
    };
    client.on('error', onSocketError('client'));
    upstream.on('error', onSocketError('upstream'));
    client.once('close', () => this.sideClosed(link, upstream));
    upstream.once('close', () => this.sideClosed(link, client));

    upstream.pipe(client);
    client.pipe(upstream); // resumes the client, paused since accept (pauseOnConnect)
  }

  private sideClosed(link: Piped, other: Socket): void {
    link.open -= 1;
    if (link.open === 0) {
      this.piped.delete(link);
      const left = (this.perTarget.get(link.target) ?? 1) - 1;
      if (left === 0) this.perTarget.delete(link.target);
      else this.perTarget.set(link.target, left);
      this.drained.emit('drained', link.target);
      return;
    }
    // One side is fully closed. pipe() has passed its end on (or an error reset the other); give
    // the other side a bounded time to finish, so a peer that never closes cannot leak it.
    if (!other.destroyed) {
      other.end();
      other.setTimeout(this.lingerTimeout, () => other.destroy());
    }
  }
}

function reset(socket: Socket): void {
  if (socket.destroyed) return;
  // RST rather than FIN: a client must not mistake "the proxy gave up" for a complete answer.
  // resetAndDestroy() throws ERR_SOCKET_CLOSED on a socket whose handle is already gone.
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(listenError(error, host, port));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port });
  });
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): NaijaSupError {
  const where = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new NaijaSupError('E_PORT_IN_USE', `The reload proxy cannot listen on ${where}: the port is in use (EADDRINUSE).`, {
        fix: `Find the process with \`naija-sup doctor\` or \`ss -ltnp 'sport = :${port}'\`, stop it, or choose another port.`,
        cause: error,
      });
    case 'EACCES':
      return new NaijaSupError('E_USAGE', `The reload proxy cannot listen on ${where}: permission denied (EACCES).`, {
        fix: 'Ports below 1024 need privileges: choose a port from 1024 up.',
        cause: error,
      });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new NaijaSupError('E_USAGE', `The reload proxy cannot listen on ${where}: ${host} is not an address of this machine (${error.code}).`, {
        fix: 'Use 127.0.0.1, ::1, 0.0.0.0 or ::.',
        cause: error,
      });
    default:
      return new NaijaSupError('E_USAGE', `The reload proxy cannot listen on ${where}: ${error.code ?? error.message}.`, { cause: error });
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new NaijaSupError('E_USAGE', `createProxy: ${name} must be a positive number, got ${String(value)}.`);
  }
  return value;
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new NaijaSupError('E_USAGE', `reload proxy: ${name} must be a port from 1 to 65535, got ${String(port)}.`);
  }
}
