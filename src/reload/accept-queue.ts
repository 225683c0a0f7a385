/**
 * The accept queue of a listening socket, from /proc/net/tcp{,6}: how many connections the kernel
 * completed that no process has accept()ed yet. Proxy mode's retire step waits for it to empty
 * before the old instance gets its stop signal (src/reload/proxy-mode.ts).
 */
import { PROC, type ProcDeps } from '../process/proc-read.js';
import { parseProcNetTcpForPort, type TcpState } from '../ports/proc-net.js';
import { monotonicMs } from '../clock.js';

/** Rows of a connection the kernel has set up but no process has accept()ed yet (inode 0). */
const QUEUED_STATES: ReadonlySet<TcpState> = new Set<TcpState>(['SYN_RECV', 'NEW_SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT']);

/**
 * How many connections to local `port` wait in a listening socket's queues (handshake done or
 * under way, not accept()ed yet: the row's inode is still 0); null when /proc cannot be read.
 *
 * Read asynchronously, in large chunks, and filtered on the port's hex text before parsing: a busy
 * machine has tens of thousands of rows (TIME_WAIT), and this runs in the process that also runs
 * the proxy.
 */
export async function queuedConnections(port: number, deps: ProcDeps = {}): Promise<number | null> {
  const proc = deps.proc ?? PROC;
  let readAny = false;
  let queued = 0;
  for (const [file, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    const text = await proc.netTableAsync(file);
    if (text === null) continue; // tcp6 is missing when IPv6 is off
    readAny = true;
    for (const row of parseProcNetTcpForPort(text, family, port)) {
      if (row.inode === 0 && QUEUED_STATES.has(row.state)) queued += 1;
    }
  }
  return readAny ? queued : null;
}

/**
 * Resolves true once no connection to `port` waits to be accepted, false at `timeoutMs` (strictly:
 * a slow /proc read does not stretch it) or when `signal` aborts.
 *
 * Proxy mode (issue 8) uses it between switching new connections to green and stopping blue.
 * The proxy ties each client to an upstream connection as soon as the kernel completes the
 * handshake, before blue's accept(); a server that closes its listening socket on the stop signal
 * with connections still queued (Python's socketserver stops its accept loop first) makes the
 * kernel reset them: failed requests. Nothing new reaches blue after the switch, so the queue only
 * empties. Without /proc it waits `fallbackMs` (default 100 ms) and says true.
 */
export async function waitForAcceptQueueEmpty(
  port: number,
  options: { timeoutMs: number; intervalMs?: number; fallbackMs?: number; signal?: AbortSignal } & ProcDeps,
): Promise<boolean> {
  const interval = options.intervalMs ?? 5;
  const deadline = monotonicMs() + options.timeoutMs;
  const remaining = (): number => deadline - monotonicMs();
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  const over = (): boolean => remaining() <= 0 || options.signal?.aborted === true;
  const poll = async (): Promise<boolean> => {
    // A connect() the proxy issued just before the switch may not be in the table yet.
    await sleep(1);
    for (let attempt = 0; attempt <= Math.ceil(options.timeoutMs / interval) && !over(); attempt += 1) {
      const queued = await queuedConnections(port, options);
      if (queued === null) {
        await sleep(Math.min(options.fallbackMs ?? 100, remaining()));
        return true;
      }
      if (queued === 0) return true;
      await sleep(Math.min(interval, remaining()));
    }
    return false;
  };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), options.timeoutMs);
  });
  try {
    return await Promise.race([poll(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
