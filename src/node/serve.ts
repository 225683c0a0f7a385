/**
 * `serve(server)`: listen where naija-sup (or systemd) says — the handed-over fd 3 when
 * `LISTEN_FDS` is set, else PORT/HOST — and drain without resets on SIGTERM/SIGINT.
 *
 * Node built-ins only: this file runs inside the user's server process (`naija-sup/node`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drainOnSignal, stderrLogger, type Drain, type DrainOptions } from './drain.js';
import { clearListenEnv, listenHint, listenOn, resolveListenTarget, type ListenTarget } from './listen.js';

export interface ServeOptions extends DrainOptions {
  /** Used when no socket is handed over; default PORT, else 3000. */
  port?: number;
  /** Used when no socket is handed over; default HOST, else Node's default (every interface). */
  host?: string;
  /** Where LISTEN_FDS, LISTEN_PID, PORT and HOST are read (and LISTEN_* removed); default process.env. */
  env?: Record<string, string | undefined>;
}

export interface Serving {
  /** The bound address (for fd 3: the handed-over socket's). */
  address: AddressInfo;
  /** 3 when listening on the handed-over socket, null when the server bound PORT itself. */
  fd: number | null;
  /** `listening on inherited fd 3 (127.0.0.1:8000)` or `listening on http://127.0.0.1:8000`. */
  description: string;
  drain: Drain;
}

/**
 * Listens and installs the drain. Rejects (with the signal handlers removed) when the server cannot
 * listen: the error's `code` is the listen error's (EADDRINUSE…), and `fix`, when there is one,
 * says what to do.
 */
export async function serve(server: Server, options: ServeOptions = {}): Promise<Serving> {
  const env = options.env ?? process.env;
  const { target, notes } = resolveListenTarget({ env, port: options.port, host: options.host });
  // Unset before the app starts anything, so child processes do not take the socket for theirs.
  clearListenEnv(env);
  if (options.log !== false) for (const note of notes) (options.log ?? stderrLogger)(note, 'warn');

  // Before listening, so that the drain sees every connection.
  const drain = drainOnSignal(server, options);
  try {
    await listenOn(server, target);
  } catch (error) {
    drain.dispose();
    throw listenError(error, target);
  }
  const address = server.address() as AddressInfo;
  return { address, fd: target.kind === 'fd' ? target.fd : null, description: describeListening(address, target), drain };
}

function describeListening(address: AddressInfo, target: ListenTarget): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return target.kind === 'fd' ? `listening on inherited fd ${target.fd} (${host}:${address.port})` : `listening on http://${host}:${address.port}`;
}

function listenError(error: unknown, target: ListenTarget): Error & { code?: string; fix?: string } {
  const code = (error as NodeJS.ErrnoException).code;
  const where = target.kind === 'fd' ? `inherited fd ${target.fd}` : `${target.host ?? '(every interface)'}:${target.port}`;
  const wrapped: Error & { code?: string; fix?: string } = new Error(`cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  if (code !== undefined) wrapped.code = code;
  const fix = listenHint(code, target);
  if (fix !== undefined) wrapped.fix = fix;
  return wrapped;
}
