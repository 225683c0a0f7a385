/**
 * The handoff listener: one TCP socket that the supervisor binds once and passes to every instance
 * as fd 3 (issue 8, `mode: handoff`; docs/handoff.md).
 *
 * Why Node's internal `net._createServerHandle` (research/supervisor-semantics.md §3, checked on
 * Node 20.20): the socket must be bound but NOT accepting in the supervisor.
 * - A listening `net.Server` in the supervisor accepts connections itself and races the children;
 *   the connections it wins hang with no answer. A Server object in `stdio` also throws
 *   (`stream._stdio.pause is not a function`).
 * - `_createServerHandle(host, port, 4|6)` (what `cluster` uses) returns a bound libuv TCP handle
 *   whose raw fd can go into `stdio[3]`. The first child's `listen({fd: 3})` puts the socket in
 *   LISTEN; from then on the socket stays listening as long as any process (this one included)
 *   holds it, so when no child runs, connections wait in the kernel's backlog instead of being
 *   refused, and the next child's accept() takes them.
 * - Node 20 ignores `listen({reusePort: true})` (second listener → EADDRINUSE), so there is no
 *   public-API alternative on the Node versions we support.
 *
 * Consequences to know:
 * - Until the first child listens, the socket is bound but not listening: connections are refused.
 * - libuv defers a bind's EADDRINUSE until listen, so the bind is verified with getsockname here.
 * - The bind uses SO_REUSEADDR (libuv always sets it), so a second process can also bind the same
 *   port while neither listens; the port-owner preflight covers that window.
 *
 * Everything that touches the internal is in this file; {@link checkHandoffSupport} says whether it
 * still looks the way we rely on, and test/reload/handoff.test.ts fails loudly if a Node upgrade
 * changes it.
 */

import * as net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { NaijaSupError } from '../errors.js';

/** The first inherited fd (after stdin, stdout, stderr): systemd's `SD_LISTEN_FDS_START`. */
export const HANDOFF_FD = 3;

/** A bound TCP socket to hand to instances; see {@link createHandoffListener}. */
export interface HandoffListener {
  /** The raw file descriptor: put it in the child's stdio as fd 3 (`spawnInstance({extraFds: [fd]})`). */
  readonly fd: number;
  /** The address bound (as given). */
  readonly host: string;
  /** The port bound: the kernel's choice when 0 was asked. */
  readonly port: number;
  readonly family: 4 | 6;
  /**
   * Closes the supervisor's copy of the socket. Children that inherited it keep it open (and keep
   * accepting); once the last holder closes it, the port is free. Safe to call twice.
   */
  close(): void;
  /** Whether close() was called. */
  readonly closed: boolean;
}

export interface HandoffListenerOptions {
  /**
   * An IP literal: `127.0.0.1`, `0.0.0.0`, `::1`, `::` (dual-stack), `[::1]`. Host names are
   * refused: which address "localhost" means is a choice the config resolves, not this module.
   */
  host: string;
  /** 0 lets the kernel choose (tests). */
  port: number;
}

/** The slice of a libuv TCP handle (Node's internal TCPWrap) this module uses. */
interface TcpHandle {
  fd: number;
  getsockname(out: { address?: string; family?: string; port?: number }): number;
  close(callback?: () => void): void;
}

/** `net._createServerHandle(address, port, addressType)`: a bound handle, or a negative errno. */
type CreateServerHandle = (address: string, port: number, addressType: 4 | 6) => unknown;

/**
 * Whether this Node still has the internal the handoff listener relies on, checked without binding
 * anything. Returns a reason when it does not.
 */
export function checkHandoffSupport(): { ok: true } | { ok: false; reason: string } {
  const create = (net as unknown as { _createServerHandle?: unknown })._createServerHandle;
  if (typeof create !== 'function') {
    return { ok: false, reason: `net._createServerHandle is missing in Node ${process.version}` };
  }
  // (address, port, addressType, fd, flags) since Node 0.x; a change in arity means a change in meaning.
  if (create.length < 3) {
    return { ok: false, reason: `net._createServerHandle takes ${create.length} parameters in Node ${process.version}, expected (address, port, addressType, fd, flags)` };
  }
  return { ok: true };
}

/**
 * Binds `host:port` (bound, not listening) for socket handoff.
 *
 * @throws NaijaSupError `E_PORT_IN_USE` when another socket listens on the port, `E_USAGE` for a host
 *   that is not an IP literal or a bind error (EACCES, EADDRNOTAVAIL), and `E_INTERNAL` when Node's
 *   internal changed (the message says to use `mode: proxy` meanwhile).
 */
export function createHandoffListener(options: HandoffListenerOptions): HandoffListener {
  const host = options.host.startsWith('[') && options.host.endsWith(']') ? options.host.slice(1, -1) : options.host;
  const family = net.isIP(host);
  if (family !== 4 && family !== 6) {
    throw new NaijaSupError('E_USAGE', `mode "handoff" needs an IP address to bind, got host "${options.host}".`, {
      fix: 'Set host to 127.0.0.1, ::1, 0.0.0.0 or :: (the address the server should listen on).',
    });
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new NaijaSupError('E_USAGE', `mode "handoff" needs a port from 0 to 65535, got ${String(options.port)}.`);
  }

  const support = checkHandoffSupport();
  if (!support.ok) throw unsupported(support.reason);
  const create = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

  const result = create(host, options.port, family);
  if (typeof result === 'number') throw bindError(result, host, options.port);
  if (!isTcpHandle(result)) {
    throw unsupported(`net._createServerHandle returned ${describe(result)} instead of a TCP handle with fd, getsockname and close`);
  }
  const handle = result;

  const address: { address?: string; port?: number } = {};
  const status = handle.getsockname(address);
  if (status !== 0) {
    // libuv defers bind's EADDRINUSE to listen(); getsockname reports the deferred error.
    handle.close();
    throw bindError(status, host, options.port);
  }
  if (typeof address.port !== 'number' || address.port <= 0 || (options.port !== 0 && address.port !== options.port)) {
    handle.close();
    throw unsupported(`the handle from net._createServerHandle reports port ${String(address.port)} after binding ${host}:${options.port}`);
  }
  if (!Number.isInteger(handle.fd) || handle.fd < 0) {
    handle.close();
    throw unsupported(`the handle from net._createServerHandle has no file descriptor (fd ${String(handle.fd)})`);
  }

  const fd = handle.fd;
  const port = address.port;
  let closed = false;
  return {
    fd,
    host,
    port,
    family,
    get closed() {
      return closed;
    },
    close() {
      if (closed) return;
      closed = true;
      handle.close();
    },
  };
}

/**
 * The environment an instance needs besides fd 3: `LISTEN_FDS=1` (systemd's sd_listen_fds(3)
 * convention). `LISTEN_PID` is left out on purpose: it must be the child's own pid, which
 * `child_process.spawn` cannot know before the child exists (systemd sets it between fork and
 * exec). The example API and naija-sup's fixtures accept a missing LISTEN_PID; libsystemd's
 * sd_listen_fds() does not, so servers that use it need a wrapper that sets it (`sh -c 'LISTEN_PID=$$
 * exec …'`).
 */
export function handoffEnv(): { LISTEN_FDS: '1' } {
  return { LISTEN_FDS: '1' };
}

function isTcpHandle(value: unknown): value is TcpHandle {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof TcpHandle, unknown>>;
  return typeof candidate.fd === 'number' && typeof candidate.getsockname === 'function' && typeof candidate.close === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no constructor'})`;
  return typeof value;
}

function unsupported(reason: string): NaijaSupError {
  return new NaijaSupError('E_INTERNAL', `Socket handoff is not supported by this Node.js: ${reason}.`, {
    fix: 'Use `mode: proxy` (works with any server) until naija-sup supports this Node version, and report it with `node --version`.',
    details: ['naija-sup binds the handoff socket with net._createServerHandle, a Node internal (what `cluster` uses).'],
  });
}

function bindError(errno: number, host: string, port: number): NaijaSupError {
  const code = safeErrorName(errno);
  const where = `${family6(host) ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') {
    return new NaijaSupError('E_PORT_IN_USE', `Cannot bind ${where} for socket handoff: the port is in use (EADDRINUSE).`, {
      fix: `Find the process with \`naija-sup doctor\` or \`ss -ltnp 'sport = :${port}'\`, stop it, or choose another port.`,
    });
  }
  if (code === 'EACCES') {
    return new NaijaSupError('E_USAGE', `Cannot bind ${where} for socket handoff: permission denied (EACCES).`, {
      fix: 'Ports below 1024 need privileges: choose a port from 1024 up.',
    });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new NaijaSupError('E_USAGE', `Cannot bind ${where} for socket handoff: ${host} is not an address of this machine (EADDRNOTAVAIL).`, {
      fix: 'Use 127.0.0.1, ::1, 0.0.0.0 or ::.',
    });
  }
  return new NaijaSupError('E_USAGE', `Cannot bind ${where} for socket handoff: ${code}.`);
}

function safeErrorName(errno: number): string {
  try {
    return getSystemErrorName(errno);
  } catch {
    return `error ${errno}`;
  }
}

function family6(host: string): boolean {
  return net.isIPv6(host);
}
