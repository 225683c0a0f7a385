/**
 * Stopping an app (issue 21: the decisions live in the core; `naija-sup stop` only parses, calls
 * {@link stopApp} and shows the lines it reports). A graceful stop through the control socket, then
 * a wait (event-driven, bounded) until the instance's processes and the supervisor are gone.
 * Without a supervisor, an instance it left behind is stopped from the record, but only while the
 * record's start time and boot id still match (PIDs are reused). Nothing running: "not running",
 * exit 0 (stopping a stopped app succeeded).
 */
import { formatDuration } from '../elapsed.js';
import {
  ControlRequestError,
  connectControl,
  inspectStale,
  requestFailure,
  stillRunning,
  type AppLocation,
  type ControlConnection,
  type StaleInspection,
} from './client.js';
import type { InstanceRecord } from './record.js';
import type { StatusSnapshot } from './protocol.js';
import { lockPathFor, peerIsOurs } from './start-lock.js';
import { lstatSync } from 'node:fs';
import { NaijaSupError } from '../errors.js';
import { listGroupMembers } from '../process/group.js';
import { PROC } from '../process/identity.js';
import { terminateGroup, type TerminateResult } from '../process/terminate.js';

export interface StopAppOptions {
  /** A grace period shorter than the app's shutdown.timeout; undefined: the app's own. */
  timeoutMs?: number | undefined;
  /** Kill at once; works even when the control socket is saturated or wedged (from the record). */
  force: boolean;
}

/** Where stopApp reports: each line it has to say, and how a "not running" inspection reads. */
export interface StopReport {
  /** One or more lines of text, each ending in a newline. */
  out(text: string): void;
  /** The lines that explain what an inspection of a stopped app found (cleaned-up files…). */
  notRunningNotes(name: string, found: Partial<StaleInspection>): string[];
}

/** Slack on top of the grace period: the supervisor's own SIGKILL, reaping, cleanup. */
const MARGIN_MS = 10_000;
/** Grace period for an orphan (no config to read it from) unless --timeout says otherwise. */
const ORPHAN_TIMEOUT_MS = 10_000;
const POLL_MS = 25;
/**
 * Once the supervisor said its instance stopped, or closed our connection on its way out, what is
 * left is the last milliseconds of its exit: looked at this often, for at most FAST_POLL_FOR_MS.
 */
const FAST_POLL_MS = 2;
const FAST_POLL_FOR_MS = 500;
/**
 * How long to wait for a supervisor that holds the start lock without answering: one that is
 * starting (its socket comes after the preflight) or exiting (its socket is gone before its lock).
 */
const BUSY_WAIT_MS = 15_000;


/**
 * Polls until `done()` or the deadline; returns the last answer. Bounded in time and rounds.
 * `wake` (the supervisor's `stopped` event or its closing the connection) ends the current wait
 * at once and makes the next FAST_POLL_FOR_MS of checks fine-grained: a stop returns within a few
 * ms of the last process being gone, not up to a whole POLL_MS later.
 */
async function pollUntil(done: () => boolean | Promise<boolean>, deadline: number, wake?: Promise<unknown>): Promise<boolean> {
  let wokenAt: number | null = null;
  const woken = wake?.then(() => { wokenAt ??= Date.now(); }, () => { wokenAt ??= Date.now(); });
  const rounds = Math.ceil(Math.max(0, deadline - Date.now()) / FAST_POLL_MS) + 1;
  for (let i = 0; i < rounds; i += 1) {
    if (await done()) return true;
    if (Date.now() >= deadline) break;
    const fast = wokenAt !== null && Date.now() - wokenAt < FAST_POLL_FOR_MS;
    let timer: NodeJS.Timeout | undefined;
    const slept = new Promise<void>((resolve) => { timer = setTimeout(resolve, fast ? FAST_POLL_MS : POLL_MS); });
    await (woken !== undefined && wokenAt === null ? Promise.race([slept, woken]) : slept);
    // Cleared: a pending timer would keep the process alive after it has answered.
    clearTimeout(timer);
  }
  return done();
}

function groupGone(pgid: number | null): boolean {
  return pgid === null || listGroupMembers(pgid).length === 0;
}

async function supervisorGone(s: Pick<StatusSnapshot, 'supervisorPid' | 'supervisorStartTime' | 'bootId'>): Promise<boolean> {
  return !(await stillRunning(s.supervisorPid, s.supervisorStartTime, s.bootId ?? ''));
}

/**
 * Whether the supervisor has let go of the app's name: its start lock is gone. A supervisor's last
 * steps are, in order, unlinking its control socket, ending its connections and unlinking its lock
 * (src/control/server.ts close()); only then does it close its log and exit. So once the lock is
 * gone a `start` of the same name takes it at once, and the stop need not wait for the process's
 * own exit (10–40 ms at load, issue 19).
 */
function nameReleased(socketPath: string): boolean {
  // lstat, not the socket: asking a lock that is being released would only slow its holder down.
  try {
    lstatSync(lockPathFor(socketPath));
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function describeTermination(result: TerminateResult): string {
  switch (result.outcome) {
    case 'exited': return 'exited gracefully';
    case 'killed': return 'was killed (SIGKILL)';
    case 'gone-already': return 'was already gone';
    case 'refused': return `was not signalled: ${result.reason}`;
    case 'survived': return `survived SIGKILL: ${result.remaining.join(', ')}`;
    default: return result.outcome;
  }
}

/** Stops an instance group from its record (verified by start time) and removes the record. */
async function stopFromRecord(record: InstanceRecord, location: AppLocation, timeoutMs: number, force: boolean): Promise<TerminateResult> {
  // The other processes the record names (a green or an old blue of a reload cut short): first.
  const { expandRecord } = await import('./record.js');
  for (const other of expandRecord(record).slice(1)) {
    await terminateGroup(
      { pid: other.pid, pgid: other.pgid, startTime: other.startTime, bootId: other.bootId === '' ? null : other.bootId },
      { timeout: timeoutMs, signal: force ? 'SIGKILL' : 'SIGTERM' },
    );
  }
  const result = await terminateGroup(
    { pid: record.pid, pgid: record.pgid, startTime: record.startTime, bootId: record.bootId === '' ? null : record.bootId },
    { timeout: timeoutMs, signal: force ? 'SIGKILL' : 'SIGTERM' },
  );
  if (result.outcome !== 'survived' && result.outcome !== 'refused' && location.paths) {
    const { removeRecord } = await import('./record.js');
    removeRecord(location.paths.runDir, location.name, record.pid);
  }
  return result;
}

async function killFromRecord(report: StopReport, location: AppLocation, started: number): Promise<number> {
  const { readRecord } = await import('./record.js');
  const record = location.paths === null ? null : readRecord(location.paths.runDir, location.name);
  if (record === null) {
    throw new NaijaSupError('E_FATAL', `the supervisor of "${location.name}" does not answer and left no instance record to stop it from`, {
      fix: 'find it with "ps -ef | grep naija-sup" and stop it yourself',
    });
  }
  if (await stillRunning(record.supervisorPid, record.supervisorStartTime, record.bootId)) process.kill(record.supervisorPid, 'SIGKILL');
  await pollUntil(async () => !(await stillRunning(record.supervisorPid, record.supervisorStartTime, record.bootId)), Date.now() + 5000);
  const result = await stopFromRecord(record, location, 0, true);
  if (result.outcome === 'survived' || result.outcome === 'refused') {
    throw new NaijaSupError('E_FATAL', `the instance of "${location.name}" (pid ${record.pid}) ${describeTermination(result)}`, {
      fix: 'look at the remaining processes with "ps -o pid,pgid,stat,cmd -g <pgid>"',
    });
  }
  report.out(`${location.name}: killed (its supervisor pid ${record.supervisorPid} did not answer; instance pid ${record.pid} ${describeTermination(result)}) in ${formatDuration(Date.now() - started)}\n`);
  return 0;
}

/** One of the instance's processes as the supervisor knew it (pid + start time, so never a reused pid). */
type KnownProcess = { pid: number; startTime: string };

/** Those of `known` still running (same pid and start time), plus whatever is left in group `pgid`. */
async function stillAlive(known: readonly KnownProcess[], pgid: number | null, bootId: string | null): Promise<number[]> {
  const left = new Set(pgid === null ? [] : listGroupMembers(pgid));
  for (const p of known) if (await stillRunning(p.pid, p.startTime, bootId ?? '')) left.add(p.pid);
  return [...left].sort((a, b) => a - b);
}

/**
 * The supervisor is gone and some of its instance's processes are not (a descendant that escaped
 * the group and outlived a supervisor that could not stop it): signal each by pid, verified by its
 * start time right before, SIGTERM then SIGKILL after `graceMs` (at once with --force).
 */
async function stopLeftovers(known: readonly KnownProcess[], bootId: string | null, graceMs: number): Promise<void> {
  const { isSameProcess } = await import('../process/identity.js');
  const signalAll = (signal: NodeJS.Signals): void => {
    for (const p of known) {
      if (isSameProcess({ pid: p.pid, startTime: p.startTime, bootId }) !== 'same') continue;
      try { process.kill(p.pid, signal); } catch { /* gone in between, or not ours */ }
    }
  };
  if (graceMs > 0) {
    signalAll('SIGTERM');
    if (await pollUntil(async () => (await stillAlive(known, null, bootId)).length === 0, Date.now() + graceMs)) return;
  }
  signalAll('SIGKILL');
  await pollUntil(async () => (await stillAlive(known, null, bootId)).length === 0, Date.now() + 5000);
}

/** Why a stop did not end: the supervisor closed the connection (it was already on its way out). */
const RETRY = Symbol('retry');

/**
 * The stop did not end in time (the supervisor hangs, or the instance outlived its grace): with
 * --force, kill the supervisor (verified by /proc) and then the instance's group and its known
 * processes; without it, say the supervisor is still running (E_FATAL, with the --force fix).
 */
async function stopWhatIsLeft(location: AppLocation, status: StatusSnapshot, known: KnownProcess[], { force, started }: { force: boolean; started: number }): Promise<void> {
  const pgid = status.instancePid;
  if (!(await supervisorGone(status))) {
    if (!force) {
      throw new NaijaSupError('E_FATAL', `the supervisor of "${location.name}" (pid ${status.supervisorPid}) is still running ${formatDuration(Date.now() - started)} after the stop request`, {
        fix: `"naija-sup stop --force --name ${location.name}" kills it and its instance`,
      });
    }
    // --force and the supervisor itself hangs: kill it (verified), then its instance's group.
    // The pid is what the supervisor said about itself: signalled only once /proc confirms it.
    if (peerIsOurs(status.supervisorPid, status.supervisorStartTime) && await stillRunning(status.supervisorPid, status.supervisorStartTime, status.bootId ?? '')) process.kill(status.supervisorPid, 'SIGKILL');
    await pollUntil(() => supervisorGone(status), Date.now() + 5000);
  }
  if (!groupGone(pgid) && pgid !== null && status.instanceStartTime !== null) {
    await terminateGroup(
      { pid: pgid, pgid, startTime: status.instanceStartTime, bootId: status.bootId },
      { timeout: force ? 0 : 2000, signal: force ? 'SIGKILL' : 'SIGTERM' },
    );
  }
  await stopLeftovers(known, status.bootId, force ? 0 : 2000);
}

async function stopLive(report: StopReport, location: AppLocation, connection: ControlConnection, timeoutMs: number | undefined, force: boolean): Promise<number | typeof RETRY> {
  const started = Date.now();
  let graceful: boolean | null = null;
  let escalated = false;
  let status: StatusSnapshot;
  let sawStopped!: () => void;
  const stoppedEvent = new Promise<void>((resolve) => { sawStopped = resolve; });
  // Both requests in one write, not one round trip after the other: the drain starts a round trip
  // sooner. The supervisor answers in order, so the status comes from before the stop began.
  const subscribed = connection.subscribe((event) => {
    if (event.type === 'stopped') {
      graceful = event['graceful'] === true;
      sawStopped();
    }
    if (event.type === 'escalated') escalated = true;
  });
  const requested = connection.request({ type: 'stop', ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(force ? { force } : {}) });
  requested.catch(() => undefined); // seen below, or moot when the subscription failed first
  try {
    status = await subscribed;
    await requested;
  } catch (error) {
    connection.close();
    // A supervisor that accepts connections but never answers (SIGSTOPped, wedged), or whose socket
    // is saturated so that it closed us out: --force kills it and its instance from the record,
    // both verified by start time.
    if (force && error instanceof ControlRequestError && (error.code === 'E_TIMEOUT' || error.code === 'E_CLOSED')) return killFromRecord(report, location, started);
    // Another stop got there first and the supervisor is closing: wait for it like any other stop.
    if (error instanceof ControlRequestError && error.code === 'E_CLOSED') return RETRY;
    throw requestFailure(error, location.name);
  }
  const grace = force ? 0 : (timeoutMs ?? status.shutdownTimeoutMs);
  const pgid = status.instancePid;
  const known: KnownProcess[] = status.processes ?? [];
  if (pgid !== null && status.instanceStartTime !== null && !known.some((p) => p.pid === pgid)) known.push({ pid: pgid, startTime: status.instanceStartTime });
  // The supervisor is done with the app once it said `stopped` and released the name (or exited):
  // every process of the instance is gone (/proc decides) and a `start` right after gets the name.
  let saidStopped = false;
  void stoppedEvent.then(() => { saidStopped = true; });
  const socket = location.paths?.socket;
  const released = async (): Promise<boolean> => (saidStopped && socket !== undefined && nameReleased(socket)) || (await supervisorGone(status));
  const allGone = async (): Promise<boolean> => groupGone(pgid) && (await stillAlive(known, null, status.bootId)).length === 0 && (await released());
  // Event-driven: the supervisor reports `stopped` once its instance is gone and closes the
  // connection as it lets go of the name; /proc (allGone) is what decides, the events say when to look.
  const wake = Promise.race([stoppedEvent, connection.closed]);
  let gone = false;
  if (!force && timeoutMs !== undefined && timeoutMs < status.shutdownTimeoutMs) {
    // Enforce a shorter --timeout from here as well: whatever the supervisor does with timeoutMs,
    // once it has passed a second (forced) stop kills the group.
    gone = await pollUntil(allGone, started + timeoutMs, wake);
    if (!gone && connection.isOpen) {
      escalated = true;
      await connection.request({ type: 'stop', force: true }).catch(() => undefined);
    }
  }
  gone = gone || (await pollUntil(allGone, started + grace + MARGIN_MS, wake));
  connection.close();
  if (!gone) await stopWhatIsLeft(location, status, known, { force, started });
  const survivors = await stillAlive(known, pgid, status.bootId);
  const stopped = known.map((p) => p.pid).filter((pid) => !survivors.includes(pid));
  const processes = stopped.length > 1 ? `; processes stopped: ${stopped.join(', ')}` : '';
  if (survivors.length > 0) {
    throw new NaijaSupError('E_FATAL', `"${location.name}" was stopped, but ${survivors.length === 1 ? 'one of its processes is' : `${survivors.length} of its processes are`} still running: ${survivors.map(describePid).join(', ')}`, {
      details: stopped.length > 0 ? [`stopped: ${stopped.join(', ')}`] : [],
      fix: `look at them with "ps -o pid,pgid,sid,stat,cmd -p ${survivors.join(',')}"; a process in state D waits for the kernel (a hung disk or NFS mount)`,
    });
  }
  const how = graceful === true ? 'gracefully' : escalated || graceful === false ? 'killed after the grace period' : force ? 'killed (--force)' : 'stopped';
  const instance = status.instancePid === null ? 'no instance was running' : `instance pid ${status.instancePid} ${how}${processes}`;
  const supervisor = (await supervisorGone(status)) ? 'exited' : 'exiting';
  report.out(`${location.name}: stopped (${instance}; supervisor pid ${status.supervisorPid} ${supervisor}) in ${formatDuration(Date.now() - started)}\n`);
  return 0;
}

/** "1234 (node, state S)" when /proc still knows it, else the pid. */
function describePid(pid: number): string {
  const stat = PROC.stat(pid);
  return stat === null ? String(pid) : `${pid} (${stat.comm}, state ${stat.state})`;
}

/**
 * A supervisor holds the start lock but does not answer (it is starting, or on its way out after
 * another `stop`): wait, bounded, until it answers or lets go. True when it did either.
 */
async function waitWhileBusy(paths: NonNullable<AppLocation['paths']>, pidFile: string | null): Promise<boolean> {
  return pollUntil(async () => {
    const outcome = await connectControl(paths.socket);
    if (outcome.kind === 'live') {
      outcome.connection.close();
      return true;
    }
    return (await inspectStale(paths, { pidFile })).busy === null;
  }, Date.now() + BUSY_WAIT_MS);
}

export async function stopApp(location: AppLocation, options: StopAppOptions, report: StopReport): Promise<number> {
  const { timeoutMs, force } = options;
  if (location.paths === null) {
    report.out(`${location.name}: not running\n`);
    return 0;
  }
  // Bounded: a round ends in a return, or follows a supervisor that was going away (RETRY, busy).
  for (let round = 0; round < 4; round += 1) {
    const outcome = await connectControl(location.paths.socket).catch((error: unknown) => {
      // A socket that accepts nobody (its queue is full, or it is wedged): --force needs no socket.
      if (force && error instanceof NaijaSupError && error.code === 'E_FATAL') return { kind: 'unreachable' as const };
      throw error;
    });
    if (outcome.kind === 'unreachable') return killFromRecord(report, location, Date.now());
    // Reset while queued: the supervisor is closing after another stop. Wait for it to let go,
    // then look again (socket gone → the record and /proc say what is left, if anything).
    if (outcome.kind === 'closing') {
      await waitWhileBusy(location.paths, location.pidFile ?? null);
      continue;
    }
    if (outcome.kind === 'live') {
      const result = await stopLive(report, location, outcome.connection, timeoutMs, force);
      if (result !== RETRY) return result;
      await waitWhileBusy(location.paths, location.pidFile ?? null);
      continue;
    }
    const found = await inspectStale(location.paths, { pidFile: location.pidFile ?? null });
    if (found.live) continue;
    if (found.busy && round < 3 && (await waitWhileBusy(location.paths, location.pidFile ?? null))) continue;
    if (found.busy) {
      throw new NaijaSupError('E_FATAL', `a supervisor${found.busy.pid === null ? '' : ` (pid ${found.busy.pid})`} holds "${location.name}" but does not answer on ${location.paths.socket}`, {
        details: ['it is starting right now, or its control socket was deleted (was the run directory removed?)'],
        fix: `run the stop again in a moment; if this persists, stop that process yourself${found.busy.pid === null ? '' : ` (kill ${found.busy.pid})`}`,
      });
    }
    const notes = report.notRunningNotes(location.name, { ...found, orphan: null, supervisorAlive: false });
    if (found.supervisorAlive && found.record !== null) {
      const record = found.record;
      // A supervisor that does not answer (stopped, or from before the control socket): signal it.
      const started = Date.now();
      if (await stillRunning(record.supervisorPid, record.supervisorStartTime, record.bootId)) process.kill(record.supervisorPid, force ? 'SIGKILL' : 'SIGTERM');
      const limit = (force ? 0 : (timeoutMs ?? ORPHAN_TIMEOUT_MS)) + MARGIN_MS;
      const supGone = await pollUntil(async () => !(await stillRunning(record.supervisorPid, record.supervisorStartTime, record.bootId)), started + limit);
      if (!supGone) {
        throw new NaijaSupError('E_FATAL', `the supervisor of "${location.name}" (pid ${record.supervisorPid}) does not answer and is still running`, {
          fix: `"naija-sup stop --force --name ${location.name}" kills it`,
        });
      }
      const result = await stopFromRecord(record, location, force ? 0 : 2000, force);
      report.out(`${location.name}: stopped (supervisor pid ${record.supervisorPid} did not answer on its socket and was signalled; instance pid ${record.pid} ${describeTermination(result)}) in ${formatDuration(Date.now() - started)}\n`);
      return 0;
    }
    const record = found.orphan;
    if (record !== null) {
      const result = await stopFromRecord(record, location, force ? 0 : (timeoutMs ?? ORPHAN_TIMEOUT_MS), force);
      for (const note of notes) report.out(`${note}\n`);
      if (result.outcome === 'survived' || result.outcome === 'refused') {
        throw new NaijaSupError('E_FATAL', `the orphaned instance of "${location.name}" (pid ${record.pid}) ${describeTermination(result)}`, {
          fix: 'look at the remaining processes with "ps -o pid,pgid,stat,cmd -g <pgid>"',
        });
      }
      report.out(`${location.name}: its supervisor had died; stopped the orphaned instance pid ${record.pid} from its record (${describeTermination(result)})\n`);
      return 0;
    }
    report.out([`${location.name}: not running`, ...notes].map((l) => `${l}\n`).join(''));
    return 0;
  }
  report.out(`${location.name}: not running\n`);
  return 0;
}
