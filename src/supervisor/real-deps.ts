/**
 * The real outside world for the runner: processes from src/process, probes from src/health,
 * classification from src/supervisor/classify.ts, the record in the run dir, the system clock.
 */
import type { ResolvedConfig } from '../config/types.js';
import { recordPath as recordFile, removePidFile, removeRecord, writePidFile, writeRecord, type InstanceRecord } from '../control/record.js';
import type { RecordBook } from '../control/record-book.js';
import { probeHostFor, probeOnce } from '../health/index.js';
import { listeningEndpointsOf } from '../ports/listening.js';
import { explainPortInUse } from './bind-check.js';
import { DescendantTracker } from '../process/descendants.js';
import { listGroupMembers } from '../process/group.js';
import { PROC, processIdentity, type ProcessIdentity } from '../process/identity.js';
import { spawnInstance, type ChildHandle } from '../process/spawn.js';
import { spawnProblem } from '../process/spawnable.js';
import { signalGroup } from '../process/terminate.js';
import { classifyExit } from './classify.js';
import type { SupervisorEvent } from './events.js';
import { StandbyKeeper } from './standby-keeper.js';
import { HttpSpeakers } from './http-speakers.js';
import type { InstanceHandle, ProbeOutcome, RunnerDeps } from './runner.js';
import type { Clock } from './runner-deps.js';
import { monotonicMs } from '../clock.js';

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
  /** The app's one record of every process it owns (src/control/record-book.ts); without it, each instance writes its own. */
  book?: RecordBook | undefined;
  /** Proxy mode: the public port the proxy holds (a server that binds it ignores PORT). */
  publicPort?: number | undefined;
  /** Dependency waits (src/dependencies/wait.ts). */
  waitDependencies?: RunnerDeps['waitDependencies'];
}

/**
 * How old the tracker's last pass may be when the instance is signalled (DescendantTracker.passWithin):
 * a stop through the control socket took one for its client's `events` ack a moment before (in the
 * same read, or the next), so the primary instance's is not repeated. Every other signal takes one:
 * Ctrl+C or SIGTERM to the supervisor, a restart, a reload's retiring instance, a startup timeout,
 * a failed liveness probe, the escalation to SIGKILL. A child that leaves the group within those
 * 10 ms before the signal is the window left.
 */
const RECENT_PASS_MS = 10;

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
  // Every process of each instance, escaped descendants included (src/process/descendants.ts).
  const trackers = new Map<number, DescendantTracker>();
  const speakers = new HttpSpeakers();
  let currentPid: number | null = null;
  const self = PROC.stat(process.pid);
  const extraFds = options.extraFds ?? [];

  // The instance's environment, and what a warm standby must match to stand in for it.
  const spec = (config: ResolvedConfig): { env: Record<string, string | undefined>; fingerprint: string } => {
    const env = { ...instanceEnv(config, options.baseEnv), ...options.extraEnv };
    return { env, fingerprint: JSON.stringify([config.command, config.cwd, env, extraFds]) };
  };
  const standby = new StandbyKeeper({ spec, extraFds, onEvent: options.onEvent });
  const onEvent = (event: SupervisorEvent): void => standby.observe(event, () => options.onEvent(event));

  return {
    spawnProblem: (config) => spawnProblem({ command: config.command, cwd: config.cwd, env: spec(config).env }),
    spawn(config: ResolvedConfig): InstanceHandle {
      const { env, fingerprint } = spec(config);
      const handle = standby.take(config, fingerprint) ?? spawnInstance({ command: config.command, cwd: config.cwd, env, extraFds });
      if (handle.pid !== null) currentPid = handle.pid;
      return asInstanceHandle(handle);
    },
    signalGroup(pid: number, signal: NodeJS.Signals): void {
      const identity = identities.get(pid);
      if (!identity) return; // never signal a pid whose identity we did not record
      signalGroup({ pid, pgid: identity.pgid, startTime: identity.startTime, bootId: identity.bootId }, signal, { ownChild: true });
    },
    signalInstance(pid: number, signal: NodeJS.Signals): void {
      const identity = identities.get(pid);
      if (!identity) return;
      // A pass first (or the one a stop's `events` ack just took): see DescendantTracker.passWithin.
      trackers.get(pid)?.passWithin(RECENT_PASS_MS);
      signalGroup({ pid, pgid: identity.pgid, startTime: identity.startTime, bootId: identity.bootId }, signal, { ownChild: true });
      trackers.get(pid)?.signalEscaped(signal);
    },
    groupMembers: (pid) => listGroupMembers(pid),
    instanceMembers(pid: number): number[] {
      const tracked = trackers.get(pid)?.alive().map((entry) => entry.pid) ?? [];
      return [...new Set([...listGroupMembers(pid), ...tracked])].sort((a, b) => a - b);
    },
    instanceProcesses: (pid) => (trackers.get(pid)?.alive() ?? []).map(({ pid: p, startTime, pgid }) => ({ pid: p, startTime, pgid })),
    listening: (pid) => listeningEndpointsOf([...new Set([pid, ...listGroupMembers(pid)])]),
    // The startup probe's wake-up: a bare connect (no request, nothing logged) to where it goes.
    async accepts(config, signal): Promise<boolean> {
      return (await probeOnce({ type: 'tcp', hosts: probeHostFor(config.host), port: config.port, timeout: 250, signal })).ok;
    },
    probe: (kind, config, signal) => probeInstance({ kind, config, signal, pid: currentPid, speakers, probeAnsweredBy: options.probeAnsweredBy }),
    ...(options.waitDependencies ? { waitDependencies: options.waitDependencies } : {}),
    classify: (input) => explainPortInUse(classifyExit(input), input.port, options.publicPort),
    instanceStarted(pid: number, config: ResolvedConfig): void {
      const identity = processIdentity(pid);
      if (identity) {
        identities.set(pid, identity);
        const tracker = new DescendantTracker(pid);
        trackers.set(pid, tracker);
        tracker.startSampling();
      }
      writeInstanceRecord(options, pid, config, identity, self);
    },
    instanceGone(pid: number, config: ResolvedConfig): void {
      identities.delete(pid);
      speakers.forget(pid);
      trackers.get(pid)?.stopSampling();
      trackers.delete(pid);
      removeInstanceRecord(options, pid, config);
    },
    clock: realClock,
    random: Math.random,
    onEvent,
    dispose: () => standby.dispose(),
    configChanged: (config, ready) => standby.configChanged(config, ready),
  };
}

/** Undoes writeInstanceRecord for an instance that is gone: its record, and its pid file. */
function removeInstanceRecord(options: RealDepsOptions, pid: number, config: ResolvedConfig): void {
  try {
    if (options.book) options.book.remove(config.name, pid);
    else removeRecord(options.runDir, config.name, pid);
    if (config.pidFile) removePidFile(config.pidFile, pid);
  } catch (error) {
    options.onEvent({ type: 'record-error', message: (error as Error).message });
  }
}

/** The runner's view of a spawned process. */
function asInstanceHandle(handle: ChildHandle): InstanceHandle {
  return {
    pid: handle.pid ?? undefined,
    onLine: (listener) => { handle.on('line', listener); },
    onExit: (listener) => { handle.on('exit', listener); },
    onSpawnError: (listener) => { handle.on('error', (error) => listener({ code: error.code, message: error.message, exitStatus: error.exitStatus })); },
    stderrTail: (n) => handle.stderrTail(n),
    stderrKept: () => handle.stderrKept(),
    closeOutput: () => handle.closeOutput(),
  };
}

interface InstanceProbe {
  kind: 'startup' | 'liveness' | 'readiness';
  config: ResolvedConfig;
  signal: AbortSignal;
  /** The current instance's pid, null before the first spawn. */
  pid: number | null;
  speakers: HttpSpeakers;
  probeAnsweredBy: RealDepsOptions['probeAnsweredBy'];
}

/** One health probe of the current instance, as its config says (`health`, or its liveness/readiness). */
async function probeInstance({ kind, config, signal, pid, speakers, probeAnsweredBy }: InstanceProbe): Promise<ProbeOutcome> {
  const spec = kind === 'liveness' ? config.health.liveness : kind === 'readiness' ? config.health.readiness : null;
  const rawType = spec ? spec.type : config.health.type;
  // A log-line readiness probe has no periodic form: a server that is up answers a TCP connect.
  const type = rawType === 'tcp' || rawType === 'log' ? 'tcp' : rawType;
  const path = spec ? spec.path : config.health.path;
  const timeout = spec ? spec.timeout : config.health.timeout;
  const hosts = probeHostFor(config.host);
  const judged = (outcome: ProbeOutcome): ProbeOutcome => (type === 'auto' && pid !== null ? speakers.judge(pid, outcome, timeout) : outcome);
  if (probeAnsweredBy && type !== 'tcp' && pid !== null) {
    // The leader is a member of its own group: listed once.
    const pids = [...new Set([pid, ...listGroupMembers(pid)])];
    return judged(await probeAnsweredBy({ kind, host: hosts[0] ?? '127.0.0.1', port: config.port, path, timeout, pids, anyAnswer: type === 'auto', signal }));
  }
  const result = await probeOnce({ type, hosts, port: config.port, path, timeout, signal });
  return judged({
    ok: result.ok,
    latencyMs: result.latencyMs,
    detail: result.detail,
    ...(result.status === undefined ? {} : { status: result.status }),
    ...(result.failure === undefined ? {} : { failure: result.failure }),
  });
}

/** The instance record (and PID file) a later start finds this instance by, should we die. */
function writeInstanceRecord(options: RealDepsOptions, pid: number, config: ResolvedConfig, identity: ProcessIdentity | null, self: { startTime: number | string } | null): void {
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
  let recordPath: string;
  try {
    recordPath = options.book ? options.book.add(record) : writeRecord(options.runDir, record);
  } catch (error) {
    // Without a record, a later start cannot find this instance if we die: the app stops
    // `start` on it (src/app/supervise.ts) when no record was ever written.
    options.onEvent({ type: 'record-error', file: 'record', path: recordFile(options.runDir, config.name), message: (error as Error).message });
    return;
  }
  let pidFile = config.pidFile;
  try {
    if (pidFile) writePidFile(pidFile, pid);
  } catch (error) {
    options.onEvent({ type: 'record-error', file: 'pid-file', path: pidFile ?? undefined, message: `cannot write the PID file ${pidFile ?? ''}: ${(error as Error).message}` });
    pidFile = null;
  }
  options.onEvent({ type: 'record-written', recordPath, pidFile });
}

/** A timer of 0 ms, run by setImmediate (see {@link realClock}). */
class NextTurn {
  constructor(readonly immediate: NodeJS.Immediate) {}
}

/**
 * The system clock. A delay of 0 (a restart without restart.initialDelay, the last wait before a
 * deadline) runs at the next turn of the event loop: Node's
 * setTimeout(fn, 0) waits at least 1 ms, and a crash's restart sat idle 2.2–2.6 ms between the
 * crash being seen and the spawn (CPU profiles, issue 19).
 */
export const realClock: Clock = {
  now: monotonicMs,
  setTimeout: (fn, ms) => (ms > 0 ? setTimeout(fn, ms) : new NextTurn(setImmediate(fn))),
  clearTimeout: (handle) => {
    if (handle instanceof NextTurn) clearImmediate(handle.immediate);
    else clearTimeout(handle as NodeJS.Timeout);
  },
};
