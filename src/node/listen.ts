/**
 * Where a server listens: on a socket handed over as fd 3 (`LISTEN_FDS`, systemd's socket-activation
 * convention, sd_listen_fds(3), which naija-sup's `mode: handoff` follows), or on HOST/PORT.
 *
 * A supervisor that spawns from Node cannot know the child's pid before the spawn, so a missing
 * `LISTEN_PID` is accepted; a `LISTEN_PID` naming another process means the variables were
 * inherited by accident (from a socket-activated parent) and are ignored.
 *
 * Node built-ins only: this file runs inside the user's server process (`naija-sup/node`).
 */
import type { Server } from 'node:net';

/** The first fd systemd and naija-sup hand over (after stdin, stdout, stderr). */
export const LISTEN_FDS_START = 3;

/** Used when neither `options.port` nor `PORT` says otherwise (Express's, Koa's and Hono's examples use it too). */
export const DEFAULT_PORT = 3000;

export type ListenTarget = { kind: 'fd'; fd: number } | { kind: 'tcp'; host: string | undefined; port: number };

export interface ListenTargetOptions {
  /** Where LISTEN_FDS, LISTEN_PID, PORT and HOST are read; default process.env. */
  env?: Record<string, string | undefined>;
  /** This process's pid (compared with LISTEN_PID); default process.pid. */
  pid?: number;
  /** Wins over PORT. */
  port?: number;
  /** Wins over HOST; neither: Node's default (every interface). */
  host?: string;
}

/**
 * Decides where to listen. `notes` explain ignored or odd variables, for the log.
 *
 * @throws TypeError for a port (option or PORT) that is not an integer from 0 to 65535.
 */
export function resolveListenTarget(options: ListenTargetOptions = {}): { target: ListenTarget; notes: string[] } {
  const env = options.env ?? process.env;
  const pid = options.pid ?? process.pid;
  const notes: string[] = [];
  const fdsRaw = (env['LISTEN_FDS'] ?? '').trim();
  if (fdsRaw !== '' && fdsRaw !== '0') {
    const pidRaw = (env['LISTEN_PID'] ?? '').trim();
    if (!/^\d+$/.test(fdsRaw)) {
      notes.push(`LISTEN_FDS="${fdsRaw}" is not a number of file descriptors; ignoring it and binding PORT`);
    } else if (pidRaw !== '' && pidRaw !== String(pid)) {
      notes.push(`LISTEN_FDS ignored: LISTEN_PID=${pidRaw} names another process (this is pid ${pid}); binding PORT`);
    } else {
      if (Number(fdsRaw) > 1) notes.push(`LISTEN_FDS=${fdsRaw}: listening on fd ${LISTEN_FDS_START} only; the other descriptors are unused`);
      return { target: { kind: 'fd', fd: LISTEN_FDS_START }, notes };
    }
  }
  return { target: { kind: 'tcp', host: options.host ?? nonEmpty(env['HOST']), port: readPort(options.port, env['PORT']) }, notes };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function readPort(option: number | undefined, fromEnv: string | undefined): number {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 0 || option > 65535) {
      throw new TypeError(`naija-sup/node: options.port must be an integer from 0 to 65535, got ${String(option)}`);
    }
    return option;
  }
  const raw = nonEmpty(fromEnv);
  if (raw === undefined) return DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw new TypeError(`naija-sup/node: PORT="${fromEnv}" is not a port number (0–65535); set PORT to one, or unset it to use ${DEFAULT_PORT}`);
  }
  return Number(raw);
}

/**
 * Removes the socket-activation variables, as sd_listen_fds(unset_environment=1) does, so that
 * processes the server starts do not think the socket is theirs.
 */
export function clearListenEnv(env: Record<string, string | undefined>): void {
  delete env['LISTEN_FDS'];
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDNAMES'];
}

/** Starts listening on `target` and resolves once listening; rejects with the listen error. */
export function listenOn(server: Server, target: ListenTarget): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    if (target.kind === 'fd') server.listen({ fd: target.fd });
    else if (target.host === undefined) server.listen(target.port);
    else server.listen(target.port, target.host);
  });
}

/** What to do about a failed listen, by error code; undefined when there is nothing specific to say. */
export function listenHint(code: string | undefined, target: ListenTarget): string | undefined {
  if (target.kind === 'fd') {
    return `fd ${target.fd} must be a bound TCP socket handed over by the supervisor (LISTEN_FDS=1); unset LISTEN_FDS to bind PORT instead`;
  }
  switch (code) {
    case 'EADDRINUSE':
      return `another process holds port ${target.port}: find it with \`naija-sup doctor\` or \`ss -ltnp 'sport = :${target.port}'\`, stop it, or choose another PORT`;
    case 'EACCES':
      return 'ports below 1024 need privileges: choose a PORT from 1024 up';
    case 'EADDRNOTAVAIL':
      return `HOST=${target.host ?? ''} is not an address of this machine: use 127.0.0.1, ::1 or 0.0.0.0`;
    default:
      return undefined;
  }
}
