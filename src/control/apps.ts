/**
 * Every app of this user, found from the run dir alone (issue 12): `naija-sup ls`, and the control
 * commands run outside an app's folder. No config is read: the names come from what supervisors
 * leave in the run dir.
 *
 * - A control socket that answers is a running app; its status names it. Long names have hashed
 *   socket names, some in the short directory shared by every run dir (src/control/paths.ts), so a
 *   socket counts only when it is the one `controlPaths(runDir, name)` computes for its answer.
 * - A socket that accepts but does not answer (a SIGSTOPped supervisor) is still a running app when
 *   its name can be told: from a plain `<name>.sock`, or from an instance record pointing at it.
 * - `<name>.last-run` without a running supervisor: the app gave up (src/control/record.ts).
 * - `<name>.json` (instance record) without a running supervisor, whose instance still runs: an
 *   orphaned instance.
 * Stale sockets (nobody listening) are skipped: `status --name` reports and removes them.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectControl, stillRunning } from './client.js';
import { controlPaths, shortSocketDir } from './paths.js';
import type { StatusSnapshot } from './protocol.js';
import { readLastRun, readRecord, type LastRun } from './record.js';
import { checkPrivateDir, checkRunDir, viewRunDirs } from './run-dir.js';

export interface AppEntry {
  name: string;
  /**
   * The supervisor's state (ready, starting, backoff, …), or: `not-answering` (a supervisor holds
   * the name but does not answer), `gave-up` (it exited after a fatal error), `orphaned` (its
   * supervisor died, the instance still runs).
   */
  state: string;
  /** A supervisor holds the name (answering or not): commands can target it. */
  running: boolean;
  /** The instance's pid. */
  pid: number | null;
  port: number | null;
  /** How long the current instance has run, ms. */
  uptimeMs: number | null;
  restarts: number | null;
  cwd: string | null;
  supervisorPid: number | null;
  url: string | null;
  /** Why it gave up, when `state` is `gave-up`. */
  gaveUp: { at: string; reason: string } | null;
  /** Each instance of an app that runs several (issue 20); absent with one. */
  instances?: StatusSnapshot['instances'];
}

/** How long one supervisor may take to answer before it counts as not answering. */
const ANSWER_TIMEOUT_MS = 1500;

type Probe = { kind: 'answered'; status: StatusSnapshot } | { kind: 'silent' } | { kind: 'stale' };

async function probeSocket(socket: string): Promise<Probe> {
  let outcome;
  try {
    outcome = await connectControl(socket, ANSWER_TIMEOUT_MS);
  } catch {
    return { kind: 'silent' };
  }
  if (outcome.kind !== 'live') return { kind: 'stale' };
  try {
    const reply = await outcome.connection.request({ type: 'status' }, ANSWER_TIMEOUT_MS);
    return reply.status ? { kind: 'answered', status: reply.status } : { kind: 'silent' };
  } catch {
    return { kind: 'silent' };
  } finally {
    outcome.connection.close();
  }
}

function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Socket paths that may belong to `runDir`: its own, and the shared short directory's. */
function candidateSockets(runDir: string, runDirFiles: string[]): string[] {
  const sockets = runDirFiles.filter((f) => f.endsWith('.sock')).map((f) => join(runDir, f));
  const short = shortSocketDir();
  let shortOk = false;
  try {
    shortOk = checkPrivateDir(short, 'socket directory') !== null;
  } catch {
    // Not ours or not private: nothing in it is trusted.
  }
  if (shortOk) sockets.push(...filesIn(short).filter((f) => f.endsWith('.sock')).map((f) => join(short, f)));
  return sockets.filter(isSocket);
}

function fromStatus(s: StatusSnapshot): AppEntry {
  return {
    name: s.name,
    state: s.state,
    running: true,
    pid: s.instancePid,
    port: s.port,
    uptimeMs: s.instanceUptimeMs,
    restarts: s.restarts,
    // Supervisors from before issue 12 do not send it.
    cwd: (s as Partial<StatusSnapshot>).cwd ?? null,
    supervisorPid: s.supervisorPid,
    url: s.url,
    ...(s.instances ? { instances: s.instances } : {}),
    gaveUp: null,
  };
}

function fromLastRun(last: LastRun): AppEntry {
  return {
    name: last.name,
    state: 'gave-up',
    running: false,
    pid: null,
    port: last.port,
    uptimeMs: null,
    restarts: last.restarts,
    cwd: last.cwd,
    supervisorPid: null,
    url: null,
    gaveUp: { at: last.at, reason: last.reason },
  };
}

/** Names that have a file with `suffix` in the run dir (`api.json` → api); temp files (dot) skipped. */
function namesWith(files: string[], suffix: string): string[] {
  return files.filter((f) => f.endsWith(suffix) && !f.startsWith('.')).map((f) => f.slice(0, -suffix.length));
}

/**
 * The apps of this user in the run dir (`env` as for the CLI), sorted by name. With `runningOnly`,
 * only the names a supervisor holds (what the control commands may target): gave-up and orphaned
 * apps are not looked for.
 */
export async function listApps(env: NodeJS.ProcessEnv, options: { runningOnly?: boolean } = {}): Promise<AppEntry[]> {
  // The command's own run dir is checked first: a problem with it is an error, not a silent skip.
  checkRunDir(env);
  // One user, one view (issue 15): every run dir of this user; an app found in two, once (the first).
  const apps = new Map<string, AppEntry>();
  for (const runDir of viewRunDirs(env)) {
    for (const [name, entry] of await appsIn(runDir, options)) if (!apps.has(name)) apps.set(name, entry);
  }
  return [...apps.values()].sort((a, b) => a.name.localeCompare(b.name));
}

async function appsIn(runDir: string, options: { runningOnly?: boolean }): Promise<Map<string, AppEntry>> {
  const files = filesIn(runDir);
  const recordNames = namesWith(files, '.json');
  const sockets = candidateSockets(runDir, files);
  const probes = await Promise.all(sockets.map(async (socket) => ({ socket, probe: await probeSocket(socket) })));
  const apps = new Map<string, AppEntry>();
  for (const { socket, probe } of probes) {
    if (probe.kind === 'answered') {
      if (controlPaths(runDir, probe.status.name).socket === socket) apps.set(probe.status.name, fromStatus(probe.status));
      continue;
    }
    if (probe.kind !== 'silent') continue;
    const plain = socket.startsWith(`${runDir}/`) && socket.endsWith('.sock') ? socket.slice(runDir.length + 1, -'.sock'.length) : null;
    const name = [...(plain === null ? [] : [plain]), ...recordNames].find((n) => controlPaths(runDir, n).socket === socket);
    if (name !== undefined) apps.set(name, silentEntry(runDir, name));
  }
  if (!options.runningOnly) await addStopped(runDir, files, recordNames, apps);
  return apps;
}

function silentEntry(runDir: string, name: string): AppEntry {
  const record = readRecord(runDir, name);
  return {
    name,
    state: 'not-answering',
    running: true,
    pid: record?.pid ?? null,
    port: record?.port ?? null,
    uptimeMs: null,
    restarts: null,
    cwd: record?.cwd ?? null,
    supervisorPid: record?.supervisorPid ?? null,
    url: null,
    gaveUp: null,
  };
}

/** Orphaned instances first (something still runs there), then the apps that gave up. */
async function addStopped(runDir: string, files: string[], recordNames: string[], apps: Map<string, AppEntry>): Promise<void> {
  for (const name of recordNames) {
    const record = apps.has(name) ? null : readRecord(runDir, name);
    if (record === null || !(await stillRunning(record.pid, record.startTime, record.bootId))) continue;
    apps.set(name, {
      ...silentEntry(runDir, name),
      state: 'orphaned',
      running: false,
      uptimeMs: Math.max(0, Date.now() - record.startedAt),
    });
  }
  for (const name of namesWith(files, '.last-run')) {
    const last = apps.has(name) ? null : readLastRun(runDir, name);
    if (last !== null) apps.set(name, fromLastRun(last));
  }
}
