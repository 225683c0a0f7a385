/**
 * Where the server listens: on HOST:PORT, or on a socket handed over as fd 3.
 *
 * Socket handoff follows systemd's socket-activation convention (sd_listen_fds(3)): `LISTEN_FDS=N`
 * says fds 3…3+N-1 are listening sockets, `LISTEN_PID` names the process they are meant for. A
 * supervisor that spawns us from Node cannot know our pid before the spawn, so a missing LISTEN_PID
 * is accepted; a LISTEN_PID naming another process means the variables were inherited by accident
 * (from a parent that was socket-activated) and are ignored.
 *
 * @module listen
 */

/**
 * @typedef {{kind: 'fd', fd: number} | {kind: 'tcp', host: string, port: number}} ListenTarget
 */

/** The first fd systemd and naija-sup hand over (after stdin, stdout, stderr). */
export const LISTEN_FDS_START = 3;

/**
 * Decides where to listen. Pure: pass the environment and this process's pid.
 *
 * @param {object} options
 * @param {Record<string, string | undefined>} options.env  reads LISTEN_FDS and LISTEN_PID
 * @param {number} options.pid   this process's pid
 * @param {string} options.host  HOST, used when no socket is handed over
 * @param {number} options.port  PORT, used when no socket is handed over
 * @returns {{target: ListenTarget, notes: string[]}} notes explain ignored or odd variables, for the log
 */
export function resolveListenTarget({ env, pid, host, port }) {
  /** @type {string[]} */
  const notes = [];
  /** @type {ListenTarget} */
  const tcp = { kind: 'tcp', host, port };
  const fdsRaw = (env.LISTEN_FDS ?? '').trim();
  if (fdsRaw === '') return { target: tcp, notes };

  if (!/^\d+$/.test(fdsRaw)) {
    notes.push(`LISTEN_FDS="${env.LISTEN_FDS}" is not a number of file descriptors; ignoring it and binding PORT`);
    return { target: tcp, notes };
  }
  const count = Number(fdsRaw);
  if (count === 0) return { target: tcp, notes };

  const pidRaw = (env.LISTEN_PID ?? '').trim();
  if (pidRaw !== '' && pidRaw !== String(pid)) {
    notes.push(`LISTEN_FDS ignored: LISTEN_PID=${pidRaw} names another process (this is pid ${pid}); binding PORT`);
    return { target: tcp, notes };
  }
  if (count > 1) {
    notes.push(`LISTEN_FDS=${count}: listening on fd ${LISTEN_FDS_START} only; the other descriptors are unused`);
  }
  return { target: { kind: 'fd', fd: LISTEN_FDS_START }, notes };
}

/**
 * Removes the socket-activation variables, as sd_listen_fds(unset_environment=1) does, so that
 * processes this server starts do not think the sockets are theirs.
 *
 * @param {Record<string, string | undefined>} env  mutated (pass process.env)
 */
export function clearListenEnv(env) {
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
}

/**
 * Starts listening and waits for it.
 *
 * @param {import('node:net').Server} server
 * @param {ListenTarget} target
 * @returns {Promise<void>} rejects with the listen error (EADDRINUSE, EACCES, EBADF, …)
 */
export function listenOn(server, target) {
  return new Promise((resolve, reject) => {
    /** @param {Error} error */
    const onError = (error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    if (target.kind === 'fd') server.listen({ fd: target.fd });
    else server.listen(target.port, target.host);
  });
}

/**
 * The start-up line supervisors and tests match: `listening on http://HOST:PORT (pid N)` or
 * `listening on inherited fd 3 (pid N)`. PORT is the real port, so PORT=0 shows what the kernel chose.
 *
 * @param {import('node:net').Server} server  listening
 * @param {ListenTarget} target
 * @param {number} pid
 * @returns {string}
 */
export function listeningLine(server, target, pid) {
  if (target.kind === 'fd') return `listening on inherited fd ${target.fd} (pid ${pid})`;
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : target.port;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `listening on http://${host}:${port} (pid ${pid})`;
}
