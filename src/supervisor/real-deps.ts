/**
 * The real outside world for the runner: processes from src/process, probes from src/health,
 * classification from src/supervisor/classify.ts, the record in the run dir, the system clock.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { removePidFile, removeRecord, writePidFile, writeRecord, type InstanceRecord } from '../control/record.js';
import { probeHostFor, probeOnce } from '../health/index.js';
import { listeningEndpointsOf } from '../ports/listening.js';
import { explainPortInUse } from './bind-check.js';
import { listGroupMembers } from '../process/group.js';
import { DEFAULT_PROC_ROOT, processIdentity, readProcStat, type ProcessIdentity } from '../process/identity.js';
import { parseProcNetTcpForPort, type TcpState } from '../ports/proc-net.js';
import { spawnInstance } from '../process/spawn.js';
import { signalGroup } from '../process/terminate.js';
import { classifyExit } from './classify.js';
import type { SupervisorEvent } from './events.js';
import { StandbyKeeper } from './standby-keeper.js';
import type { InstanceHandle, ProbeOutcome, RunnerDeps } from './runner.js';

export interface RealDepsOptions {
  runDir: string;
  /** The supervisor's own environment, inherited by the instance under config.env. */
  baseEnv: NodeJS.ProcessEnv;
  onEvent(event: SupervisorEvent): void;
  /** Open fds passed to the instance as fd 3… (handoff mode). */
  extraFds?: number[];
  /** Added to the instance's environment (LISTEN_FDS in handoff mode). */
  extraEnv?: Record<string, string>;
  /**
   * Handoff mode: every instance accepts on one socket, so a probe must check that THIS instance
   * answered (src/reload/answered-by.ts), not another one sharing the socket.
   */
  probeAnsweredBy?: (input: { kind: 'startup' | 'liveness' | 'readiness'; host: string; port: number; path: string; timeout: number; pids: number[]; anyAnswer: boolean; signal: AbortSignal }) => Promise<ProbeOutcome>;
  /** Proxy mode: the public port the proxy holds (a server that binds it ignores PORT). */
  publicPort?: number | undefined;
  /** Dependency waits (src/dependencies/wait.ts). */
  waitDependencies?: RunnerDeps['waitDependencies'];
}

/** The instance's environment: ours, then config.env, then what naija-sup itself promises. */
export function instanceEnv(config: ResolvedConfig, base: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...base, ...config.env };
  env['PORT'] = String(config.port);
  env['HOST'] = config.host;
  if (config.bcrypt.fallback && env['BCRYPT_FALLBACK'] === undefined) env['BCRYPT_FALLBACK'] = 'true';
  // Give the server a drain budget (in seconds, the convention of the original task list) a little
  // under ours, so it gives up on stragglers itself before our SIGKILL lands.
  if (env['GRACEFUL_TIMEOUT'] === undefined) env['GRACEFUL_TIMEOUT'] = String(Math.max(1, Math.floor((config.shutdown.timeout * 0.9) / 1000)));
  return env;
}

export function realDeps(options: RealDepsOptions): RunnerDeps {
  const identities = new Map<number, ProcessIdentity>();
  let currentPid: number | null = null;
  const self = readProcStat(process.pid);
  const extraFds = options.extraFds ?? [];

  // The instance's environment, and what a warm standby must match to stand in for it.
  const spec = (config: ResolvedConfig): { env: Record<string, string | undefined>; fingerprint: string } => {
    const env = { ...instanceEnv(config, options.baseEnv), ...options.extraEnv };
    return { env, fingerprint: JSON.stringify([config.command, config.cwd, env, extraFds]) };
  };
  const standby = new StandbyKeeper({ spec, extraFds, onEvent: options.onEvent });
  const onEvent = (event: SupervisorEvent): void => standby.observe(event, () => options.onEvent(event));

  return {
    spawn(config: ResolvedConfig): InstanceHandle {
      const { env, fingerprint } = spec(config);
      const handle = standby.take(config, fingerprint) ?? spawnInstance({ command: config.command, cwd: config.cwd, env, extraFds });
      if (handle.pid !== null) currentPid = handle.pid;
      return {
        pid: handle.pid ?? undefined,
        onLine: (listener) => { handle.on('line', listener); },
        onExit: (listener) => { handle.on('exit', listener); },
        onSpawnError: (listener) => { handle.on('error', (error) => listener({ code: error.code, message: error.message, exitStatus: error.exitStatus })); },
        stderrTail: (n) => handle.stderrTail(n),
        stderrKept: () => handle.stderrKept(),
      };
    },
    signalGroup(pid: number, signal: NodeJS.Signals): void {
      const identity = identities.get(pid);
      if (!identity) return; // never signal a pid whose identity we did not record
      signalGroup({ pid, pgid: identity.pgid, startTime: identity.startTime, bootId: identity.bootId }, signal, { ownChild: true });
    },
    groupMembers: (pid) => listGroupMembers(pid),
    listening: (pid) => listeningEndpointsOf([...new Set([pid, ...listGroupMembers(pid)])]),
    async probe(kind, config, signal): Promise<ProbeOutcome> {
      const spec = kind === 'liveness' ? config.health.liveness : kind === 'readiness' ? config.health.readiness : null;
      const rawType = spec ? spec.type : config.health.type;
      // A log-line readiness probe has no periodic form: a server that is up answers a TCP connect.
      const type = rawType === 'tcp' || rawType === 'log' ? 'tcp' : rawType;
      const path = spec ? spec.path : config.health.path;
      const timeout = spec ? spec.timeout : config.health.timeout;
      const hosts = probeHostFor(config.host);
      if (options.probeAnsweredBy && type !== 'tcp' && currentPid !== null) {
        // The leader is a member of its own group: listed once.
        const pids = [...new Set([currentPid, ...listGroupMembers(currentPid)])];
        return options.probeAnsweredBy({ kind, host: hosts[0] ?? '127.0.0.1', port: config.port, path, timeout, pids, anyAnswer: type === 'auto', signal });
      }
      const result = await probeOnce({ type, hosts, port: config.port, path, timeout, signal });
      return {
        ok: result.ok,
        latencyMs: result.latencyMs,
        detail: result.detail,
        ...(result.status === undefined ? {} : { status: result.status }),
        ...(result.failure === undefined ? {} : { failure: result.failure }),
      };
    },
    ...(options.waitDependencies ? { waitDependencies: options.waitDependencies } : {}),
    classify: (input) => explainPortInUse(classifyExit(input), input.port, options.publicPort),
    instanceStarted(pid: number, config: ResolvedConfig): void {
      const identity = processIdentity(pid);
      if (identity) identities.set(pid, identity);
      const record: InstanceRecord = {
        version: 1,
        name: config.name,
        pid,
        pgid: identity?.pgid ?? pid,
        startTime: identity ? String(identity.startTime) : '',
        bootId: identity?.bootId ?? '',
        cmdline: identity?.cmdline.length ? identity.cmdline : [...config.command],
        port: config.port,
        host: config.host,
        supervisorPid: process.pid,
        supervisorStartTime: self ? String(self.startTime) : '',
        startedAt: Date.now(),
        cwd: config.cwd,
      };
      try {
        const recordPath = writeRecord(options.runDir, record);
        if (config.pidFile) writePidFile(config.pidFile, pid);
        options.onEvent({ type: 'record-written', recordPath, pidFile: config.pidFile });
      } catch (error) {
        options.onEvent({ type: 'record-error', message: (error as Error).message });
      }
    },
    instanceGone(pid: number, config: ResolvedConfig): void {
      identities.delete(pid);
      try {
        removeRecord(options.runDir, config.name, pid);
        if (config.pidFile) removePidFile(config.pidFile, pid);
      } catch (error) {
        options.onEvent({ type: 'record-error', message: (error as Error).message });
      }
    },
    clock: {
      now: () => performance.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
    random: Math.random,
    onEvent,
    dispose: () => standby.dispose(),
    configChanged: (config, ready) => standby.configChanged(config, ready),
  };
}

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
export async function queuedConnections(port: number, procRoot: string = DEFAULT_PROC_ROOT): Promise<number | null> {
  let readAny = false;
  let queued = 0;
  for (const [file, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    const text = await readProcText(join(procRoot, 'net', file));
    if (text === null) continue; // tcp6 is missing when IPv6 is off
    readAny = true;
    for (const row of parseProcNetTcpForPort(text, family, port)) {
      if (row.inode === 0 && QUEUED_STATES.has(row.state)) queued += 1;
    }
  }
  return readAny ? queued : null;
}

/**
 * A /proc file, read to its end. /proc files report size 0, and the kernel hands out at most a
 * page or so of /proc/net/tcp per read(), so this loops until a read returns nothing.
 */
async function readProcText(path: string): Promise<string | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const chunks: Buffer[] = [];
    const buffer = Buffer.allocUnsafe(64 * 1024);
    let total = 0;
    // Bounded: 256 MiB of table text is far beyond any real /proc/net/tcp.
    while (total < 256 * 1024 * 1024) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
      total += bytesRead;
    }
    return Buffer.concat(chunks).toString('latin1');
  } catch {
    return null;
  } finally {
    await handle.close();
  }
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
  options: { timeoutMs: number; intervalMs?: number; fallbackMs?: number; procRoot?: string; signal?: AbortSignal },
): Promise<boolean> {
  const interval = options.intervalMs ?? 5;
  const deadline = performance.now() + options.timeoutMs;
  const remaining = (): number => deadline - performance.now();
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  const over = (): boolean => remaining() <= 0 || options.signal?.aborted === true;
  const poll = async (): Promise<boolean> => {
    // A connect() the proxy issued just before the switch may not be in the table yet.
    await sleep(1);
    for (let attempt = 0; attempt <= Math.ceil(options.timeoutMs / interval) && !over(); attempt += 1) {
      const queued = await queuedConnections(port, options.procRoot);
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
