/**
 * Our own stale instance, recognised from the instance record (src/control/record.ts) before a
 * start (issue 4, step 1).
 *
 * Node has no PR_SET_PDEATHSIG, so a SIGKILLed supervisor leaves its instance running as an orphan
 * that keeps the port. The record names it: pid, pgid, start time and boot id of the instance, pid
 * and start time of the supervisor. Three answers:
 *
 * - the supervisor is alive (same pid AND same start time) → another supervisor runs this app:
 *   E_ALREADY_RUNNING, nothing touched;
 * - the supervisor is gone and the instance is verifiably still ours (boot id and start time match,
 *   or its group lives on with members started after it) → stop the whole group, graceful then
 *   kill, and remove the record;
 * - otherwise the record is stale (instance exited, PID reused by an unrelated process, written
 *   before a reboot) → remove the record and the PID file, signal nothing.
 *
 * A PID file alone never justifies a signal (it holds no start time): one that no live record
 * vouches for is stale and removed, and the process it names is left alone.
 */

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { NaijaSupError } from '../errors.js';
import { expandRecord, readRecord, removePidFile, removeRecord, type InstanceRecord } from '../control/record.js';
import { userRunDirs } from '../control/run-dir.js';
import { listGroupMembers } from '../process/group.js';
import { isSameProcess, PROC, type Proc, type ProcDeps } from '../process/identity.js';
import { terminateGroup, type GroupTarget } from '../process/terminate.js';
import type { PortOwner } from './owners.js';
import { terminateOptions, type SignallingDeps, type StoppedProcess } from './stopped.js';
import { isoTime } from '../iso-time.js';

/** What an instance record means now. */
export type RecordState =
  | { kind: 'supervised'; record: InstanceRecord }
  | {
      kind: 'orphan';
      record: InstanceRecord;
      /** The group to stop, anchored on the recorded leader (and, if it exited, on verified members). */
      target: GroupTarget;
      /** Live members of the group now. */
      members: number[];
      /** Whether the recorded leader itself still runs (false: only its workers are left). */
      leaderAlive: boolean;
    }
  | { kind: 'stale'; record: InstanceRecord; why: string };

/** Whether the supervisor that wrote `record` still runs: same pid and same start time. */
export function supervisorAlive(record: InstanceRecord, deps: ProcDeps = {}): boolean {
  const proc = deps.proc ?? PROC;
  if (!Number.isInteger(record.supervisorPid) || record.supervisorPid <= 1) return false;
  const expected = {
    pid: record.supervisorPid,
    startTime: record.supervisorStartTime,
    bootId: record.bootId === '' ? null : record.bootId,
  };
  return isSameProcess(expected, { proc }) === 'same';
}

/** Decides what `record` means now, from /proc. Signals nothing. */
export function inspectRecord(record: InstanceRecord, deps: ProcDeps = {}): RecordState {
  const proc = deps.proc ?? PROC;
  if (supervisorAlive(record, { proc })) return { kind: 'supervised', record };
  const bootId = record.bootId === '' ? null : record.bootId;
  if (bootId !== null && proc.available()) {
    const current = proc.bootId();
    if (current !== null && current !== bootId) {
      return { kind: 'stale', record, why: 'it was written before the machine last booted' };
    }
  }
  const leader = isSameProcess({ pid: record.pid, startTime: record.startTime, bootId }, { proc });
  const base: GroupTarget = { pid: record.pid, pgid: record.pgid, startTime: record.startTime, bootId };
  if (leader === 'same') {
    return { kind: 'orphan', record, target: base, members: listGroupMembers(record.pgid, { proc }), leaderAlive: true };
  }
  if (leader === 'reused') {
    // Linux never hands out a number still used as a process group id, so a reused leader pid
    // also means the old group is empty: nothing of ours is left.
    const now = describePid(record.pid, proc);
    return { kind: 'stale', record, why: `pid ${record.pid} now belongs to another process${now ? ` (${now})` : ''}` };
  }
  // Leader gone (or an unreaped zombie): its workers may live on in its group, still holding the
  // port (research §2: a SIGKILLed uvicorn parent leaves its workers serving). They are ours when
  // they started no earlier than the recorded leader, in the same boot.
  if (proc.available() && /^\d+$/.test(record.startTime)) {
    const leaderStart = BigInt(record.startTime);
    const members = listGroupMembers(record.pgid, { proc }).flatMap((pid) => {
      const stat = proc.stat(pid);
      return stat !== null && BigInt(stat.startTime) >= leaderStart ? [{ pid, startTime: stat.startTime }] : [];
    });
    if (members.length > 0) {
      return {
        kind: 'orphan',
        record,
        target: { ...base, verifiedMembers: members },
        members: members.map((member) => member.pid),
        leaderAlive: false,
      };
    }
  }
  return { kind: 'stale', record, why: `instance pid ${record.pid} has exited` };
}

/** Every instance record in `runDir` (unreadable or foreign files are skipped). */
export function listRecords(runDir: string): InstanceRecord[] {
  // One user, one view (issue 15): an instance supervised from another run dir of this user (a
  // shell with XDG_RUNTIME_DIR, a cron job without) is protected from --kill-existing too.
  return [runDir, ...userRunDirs().filter((d) => d !== runDir)].flatMap(recordsIn);
}

function recordsIn(runDir: string): InstanceRecord[] {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  const records: InstanceRecord[] = [];
  for (const file of names) {
    if (!file.endsWith('.json') || file.startsWith('.')) continue;
    const record = readRecord(runDir, file.slice(0, -'.json'.length));
    if (record !== null) records.push(...expandRecord(record));
  }
  return records;
}

/**
 * The record that names `owner` as a naija-sup instance (its pid and start time, a member of the
 * recorded group, the supervisor itself in handoff/proxy mode, or another child of that live
 * supervisor: the standby, a green), if any.
 */
export function recordOfOwner(
  owner: Pick<PortOwner, 'pid' | 'pgid' | 'startTime'> & { ppid?: number | undefined },
  records: readonly InstanceRecord[],
  deps: ProcDeps = {},
): InstanceRecord | undefined {
  const proc = deps.proc ?? PROC;
  if (owner.startTime === undefined) return undefined;
  const start = String(owner.startTime);
  const currentBoot = proc.available() ? proc.bootId() : null;
  return records.find((record) => {
    if (record.bootId !== '' && currentBoot !== null && record.bootId !== currentBoot) return false;
    // A pid that matches but started at another time was reused: it may still be a child below.
    if (record.pid === owner.pid && record.startTime === start) return true;
    if (record.supervisorPid === owner.pid && record.supervisorStartTime === start) return true;
    // A child of the live supervisor that the record does not name: the parked standby, or a green
    // during a reload. In handoff mode both hold a copy of the listening socket.
    if (owner.ppid !== undefined && owner.ppid === record.supervisorPid && supervisorAlive(record, { proc })) return true;
    if (owner.pgid === undefined || owner.pgid !== record.pgid || !/^\d+$/.test(record.startTime)) return false;
    const state = inspectRecord(record, { proc });
    return state.kind === 'supervised' || (state.kind === 'orphan' && BigInt(start) >= BigInt(record.startTime));
  });
}

export interface StaleCleanupOptions {
  runDir: string;
  /** The app's name: the record is `<runDir>/<name>.json`. */
  name: string;
  /** The configured plain PID file, or null. */
  pidFile: string | null;
  /** Graceful stop signal and grace period for an orphan (config.shutdown). */
  signal: NodeJS.Signals;
  timeout: number;
  deps: StaleDeps;
}

/** The outside world, resolved: the preflight hands in its own (free-port's ResolvedStopDeps). */
export type StaleDeps = SignallingDeps;

export interface StaleFinding {
  level: 'info' | 'warn';
  message: string;
}

export interface StaleCleanupResult {
  /** What the record meant (null: there was none). */
  state: RecordState | null;
  findings: StaleFinding[];
  /** The orphan's group, when one was stopped. */
  stopped: StoppedProcess[];
  recordRemoved: boolean;
  pidFileRemoved: boolean;
}

/**
 * Step 1 of the preflight. Throws NaijaSupError E_ALREADY_RUNNING when the record's supervisor is
 * alive; otherwise stops an orphaned instance (whole group, graceful then SIGKILL, with escaped
 * descendants: everything it started is ours) or removes a stale record, then a stale PID file.
 */
export async function cleanStaleInstance(options: StaleCleanupOptions): Promise<StaleCleanupResult> {
  const { runDir, name, pidFile, deps } = options;
  const proc = deps.proc;
  const out: StaleCleanupResult = { state: null, findings: [], stopped: [], recordRemoved: false, pidFileRemoved: false };
  const record = readRecord(runDir, name);
  let vouched: number | null = null; // a pid a live record still stands for

  if (record !== null) {
    const state = inspectRecord(record, { proc });
    out.state = state;
    if (state.kind === 'supervised') throw alreadyRunning(record, proc);
    // Every process the record names, the primary first: a supervisor SIGKILLed mid-reload leaves
    // blue and green (issue 14).
    let survivors = 0;
    for (const [i, one] of expandRecord(record).entries()) {
      const oneState = i === 0 ? state : inspectRecord(one, { proc });
      if (oneState.kind !== 'orphan') continue;
      const stopped = await stopOrphan(one, oneState, options, out);
      if (!stopped) {
        survivors += 1;
        if (i === 0) vouched = one.pid;
      }
    }
    if (survivors === 0) {
      removeRecord(runDir, name, record.pid);
      out.recordRemoved = true;
      if (state.kind === 'stale') out.findings.push({ level: 'info', message: `stale record removed: ${state.why}; nothing was signalled` });
    }
  }

  if (pidFile !== null) {
    const pid = readPidFile(pidFile);
    if (pid !== null && pid !== vouched) {
      if (record !== null && out.recordRemoved && pid === record.pid) {
        removePidFile(pidFile, pid);
      } else {
        // No live record stands for this pid: a PID alone proves nothing (PIDs are reused), so
        // the file is stale whatever runs under that number now, and that process is left alone.
        const now = describePid(pid, proc);
        rmSync(pidFile, { force: true });
        out.findings.push({
          level: 'info',
          message: `stale PID file ${pidFile} removed (pid ${pid}: ${now ? `now ${now}, not ours: untouched` : 'not running'})`,
        });
      }
      out.pidFileRemoved = true;
    }
  }
  return out;
}

/** Stops one orphaned instance group the record names; false when it could not be stopped. */
async function stopOrphan(
  record: InstanceRecord, state: Extract<RecordState, { kind: 'orphan' }>, options: StaleCleanupOptions, out: StaleCleanupResult,
): Promise<boolean> {
  const { deps } = options;
  const started = deps.now();
  const result = await terminateGroup(state.target, terminateOptions(deps, { signal: options.signal, timeout: options.timeout, includeEscaped: true }));
  out.stopped.push({
    pid: record.pid,
    pgid: record.pgid,
    scope: 'group',
    pids: state.members,
    command: record.cmdline.join(' '),
    user: userName(),
    reason: 'stale-instance',
    signal: options.signal,
    outcome: result.outcome,
    forced: result.forced,
    durationMs: result.durationMs || deps.now() - started,
    detail: result.reason,
  });
  const who =
    `orphaned instance of "${options.name}" (pid ${record.pid}, group ${record.pgid}` +
    `${state.leaderAlive ? '' : `, leader exited, members ${state.members.join(' ')}`}` +
    `; its supervisor pid ${record.supervisorPid} is gone)`;
  if (result.outcome === 'refused' || result.outcome === 'survived') {
    out.findings.push({ level: 'warn', message: `could not stop the ${who}: ${result.reason}` });
    return false;
  }
  const how = result.outcome === 'killed' ? `killed after ${options.signal} timed out` : result.outcome === 'exited' ? `stopped with ${options.signal}` : 'already gone';
  out.findings.push({ level: 'warn', message: `stopped the ${who}: ${how}` });
  return true;
}

function alreadyRunning(record: InstanceRecord, proc: Proc): NaijaSupError {
  const instance = isSameProcess(
    { pid: record.pid, startTime: record.startTime, bootId: record.bootId === '' ? null : record.bootId },
    { proc },
  );
  const instanceText = instance === 'same' ? `instance pid ${record.pid}` : 'its instance is not running right now (restarting?)';
  return new NaijaSupError(
    'E_ALREADY_RUNNING',
    `"${record.name}" is already supervised by naija-sup pid ${record.supervisorPid} (${instanceText}, port ${record.port})`,
    {
      fix: `stop it first with \`naija-sup stop -n ${record.name}\`, or give this one another name (--name or "name" in the config)`,
      details: [
        `supervisor: pid ${record.supervisorPid}${describeSuffix(record.supervisorPid, proc)}`,
        `instance: pid ${record.pid}, group ${record.pgid}: ${record.cmdline.join(' ')}`,
        `started ${isoTime(record.startedAt)} in ${record.cwd}`,
      ],
    },
  );
}

function describeSuffix(pid: number, proc: Proc): string {
  const text = describePid(pid, proc);
  return text ? ` (${text})` : '';
}

/** "node server.js" for a live pid (its command line, else its comm), or null when it is not running. */
function describePid(pid: number, proc: Proc): string | null {
  const stat = proc.stat(pid);
  if (stat === null || proc.hasExited(stat)) return null;
  const cmdline = proc.cmdline(pid);
  const text = cmdline.length > 0 ? cmdline.join(' ') : `[${stat.comm}]`;
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** The pid in a PID file, or null (absent, unreadable, or not a bare number: then not ours to delete). */
function readPidFile(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const match = /^\s*(\d+)\s*$/.exec(text);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Our login name: a record only ever names our own instance (the run dir is per user). */
function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown'); // no passwd entry (container --user 1234)
  }
}
