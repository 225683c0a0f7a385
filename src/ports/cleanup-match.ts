/**
 * Step 2 of the `start` preflight (preflight.ts): processes whose command line matches
 * `cleanup.match` — found, listed, and stopped only with killExisting. It lives apart from the
 * port steps because it is a search by command line, not by socket: its own matching rules (same
 * user only; never us, our ancestors, our process group or PID 1) and its own findings.
 */

import { userInfo } from 'node:os';
import { compileMatchPattern } from '../config/schema.js';
import { listProcesses } from '../process/group.js';
import type { Proc } from '../process/identity.js';
import {
  describeStopped,
  executeStops,
  formatAge,
  planStops,
  processAgeMs,
  shortCommand,
  type ResolvedStopDeps,
  type StopCandidate,
  type StoppedProcess,
} from './free-port.js';
import { listRecords, recordOfOwner } from './stale.js';

/** A process whose command line matches `cleanup.match`. */
export interface MatchedProcess {
  pid: number;
  pgid: number;
  ppid: number;
  startTime: string;
  uid: number;
  user: string;
  cmdline: string[];
  command: string;
  /** How long it has run, ms (undefined when unknown). */
  ageMs: number | undefined;
  /** The pattern that matched. */
  pattern: string;
}

export interface CleanupMatchOptions {
  /** `cleanup.match`: substrings, or "/regex/flags". */
  patterns: readonly string[];
  /** The run dir holding the instance records (a match may be one of our instances). */
  runDir: string;
  killExisting: boolean;
  signal: NodeJS.Signals;
  timeout: number;
  deps: ResolvedStopDeps;
  /** Called with each finding as it happens, so a refusal is reported before the stops run. */
  note: (level: 'info' | 'warn', message: string) => void;
}

/**
 * Step 2: finds the processes matching `patterns` and, with killExisting, stops their groups
 * (planned as free-port plans its stops). Returns the matches (stopped or not) and what was stopped.
 */
export async function cleanupMatches(options: CleanupMatchOptions): Promise<{ matched: MatchedProcess[]; stopped: StoppedProcess[] }> {
  const { patterns, deps, note } = options;
  if (patterns.length === 0) return { matched: [], stopped: [] };
  if (!deps.proc.available()) {
    note('warn', 'cleanup.match needs /proc (Linux); skipped');
    return { matched: [], stopped: [] };
  }
  const found = findMatchingProcesses(patterns, deps);
  if (found.otherUsers > 0) {
    note('info', `${found.otherUsers} process(es) of other users match cleanup.match: never touched`);
  }
  if (found.matched.length === 0) {
    note('info', `no process matches cleanup.match (${patterns.join(', ')})`);
    return { matched: found.matched, stopped: [] };
  }
  const list = found.matched.map(describeMatched).join('; ');
  if (!options.killExisting) {
    note('warn', `${found.matched.length} process(es) match cleanup.match, not stopped (use --kill-existing): ${list}`);
    return { matched: found.matched, stopped: [] };
  }
  const records = listRecords(options.runDir);
  const candidates = found.matched.map((p): StopCandidate => ({
    pid: p.pid,
    pgid: p.pgid,
    startTime: p.startTime,
    uid: p.uid,
    user: p.user,
    command: p.command,
    reason: 'cleanup-match',
    record: recordOfOwner({ pid: p.pid, pgid: p.pgid, ppid: p.ppid, startTime: Number(p.startTime) }, records, { proc: deps.proc }),
  }));
  const plan = planStops(candidates, { force: false, proc: deps.proc, self: deps.self, uid: deps.uid });
  for (const refusal of plan.refused) note('warn', `not stopping pid ${refusal.pid} (${shortCommand(refusal.command, 80)}): ${refusal.reason}`);
  const results = await executeStops(plan.units, { signal: options.signal, timeout: options.timeout }, deps);
  for (const result of results) note('warn', `stopped ${describeStopped(result)} (matches cleanup.match)`);
  return { matched: found.matched, stopped: results };
}

export interface MatchDeps {
  proc: Proc;
  self: { pid: number; pgid: number | null; ancestors: readonly number[] };
  uid: number | undefined;
}

/**
 * Processes of this user whose full command line (argv joined by spaces) matches one of
 * `patterns` (substrings, or "/regex/flags"). Never PID 1, naija-sup itself, its ancestors (an
 * `npx naija-sup start -- python start_server.py` has the pattern in its own command line), its own
 * process group, zombies or kernel threads. `otherUsers` counts matches of other users, left alone.
 */
export function findMatchingProcesses(
  patterns: readonly string[],
  deps: MatchDeps,
): { matched: MatchedProcess[]; otherUsers: number } {
  const matchers = patterns.map((pattern) => ({ pattern, test: compileMatchPattern(pattern) }));
  const matched: MatchedProcess[] = [];
  let otherUsers = 0;
  if (matchers.length === 0) return { matched, otherUsers };
  const { self } = deps;
  const user = currentUser();
  for (const stat of listProcesses({ proc: deps.proc })) {
    if (deps.proc.hasExited(stat)) continue;
    if (stat.pid <= 1 || stat.pid === self.pid || self.ancestors.includes(stat.pid)) continue;
    if (self.pgid !== null && stat.pgid === self.pgid) continue;
    const cmdline = deps.proc.cmdline(stat.pid);
    if (cmdline.length === 0) continue;
    const command = cmdline.join(' ');
    const hit = matchers.find((matcher) => matcher.test(command));
    if (hit === undefined) continue;
    const uid = deps.proc.uid(stat.pid);
    if (uid === null || uid !== deps.uid) {
      otherUsers += 1;
      continue;
    }
    matched.push({
      pid: stat.pid,
      pgid: stat.pgid,
      ppid: stat.ppid,
      startTime: stat.startTime,
      uid,
      user,
      cmdline,
      command,
      ageMs: processAgeMs(stat.startTime, { proc: deps.proc }),
      pattern: hit.pattern,
    });
  }
  return { matched, otherUsers };
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown'); // no passwd entry (container --user 1234)
  }
}

function describeMatched(p: MatchedProcess): string {
  const age = p.ageMs === undefined ? '' : `, running for ${formatAge(p.ageMs)}`;
  return `pid ${p.pid} (pgid ${p.pgid}${age}): ${shortCommand(p.command, 100)}`;
}
