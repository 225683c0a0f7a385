/**
 * Shared helpers for tests that start real processes.
 *
 * Every process a test starts goes through {@link startFixture} or {@link trackChild}, which
 * record its identity (pid + start time + boot id). Tests assert at the end that everything they
 * started is gone ({@link assertAllGone}); {@link killAllTracked} is only the safety net for a test
 * that failed half-way, and it SIGKILLs nothing but verified processes this test process started.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { listGroupMembers } from '../../src/process/group.js';
import { hasExited, isSameProcess, readBootId, readProcStat } from '../../src/process/identity.js';
import { LineSplitter } from '../../src/process/line-splitter.js';
import { ChildHandle, spawnInstance } from '../../src/process/spawn.js';
import type { OutputStream, RunningChild } from '../../src/process/spawn.js';
import { signalGroup, terminateGroup } from '../../src/process/terminate.js';
import type { GroupTarget, TerminateResult } from '../../src/process/terminate.js';

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Absolute path of a fixture in test/fixtures/. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** The command that runs a fixture: Debian's python3 for .py, this node for the rest. */
export function fixtureCommand(name: string, args: readonly string[] = []): string[] {
  return name.endsWith('.py') ? ['/usr/bin/python3', fixture(name), ...args] : [process.execPath, fixture(name), ...args];
}

/** A small, predictable environment for children (vitest's own variables stay out). */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    LANG: 'C.UTF-8',
    HOST: '127.0.0.1',
    PORT: '0',
    ...extra,
  };
}

export interface WaitOptions {
  /** ms; default 5000. */
  timeout?: number;
  /** ms between attempts; default 20. */
  interval?: number;
  message?: string | (() => string);
}

/**
 * Polls `predicate` until it returns a truthy value (which is returned) or the deadline passes
 * (then throws with `message`). Bounded in time and in attempts.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeout = options.timeout ?? 5000;
  const interval = options.interval ?? 20;
  const deadline = Date.now() + timeout;
  const maxAttempts = Math.ceil(timeout / interval) + 2;
  let lastError: unknown;
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(1, deadline - Date.now()))));
  }
  const message = typeof options.message === 'function' ? options.message() : options.message;
  throw new Error(`waitFor timed out after ${timeout} ms: ${message ?? 'condition not met'}`, { cause: lastError });
}

export interface OutputLine {
  stream: OutputStream;
  line: string;
}

/** A fixture started by {@link startFixture}. */
export interface StartedFixture {
  name: string;
  child: RunningChild;
  pid: number;
  pgid: number;
  /** From `port=` in the readiness line; null if it had none. */
  port: number | null;
  /** From `worker=` in the readiness line (forks-worker.mjs). */
  workerPid: number | null;
  /** Every line so far, in arrival order. */
  lines: OutputLine[];
  /** The readiness line's match. */
  ready: RegExpMatchArray;
  target: GroupTarget;
  /** Stops the group (SIGTERM, 5 s grace, then SIGKILL) and waits for the 'exit' event. */
  stop(options?: { timeout?: number }): Promise<TerminateResult>;
}

type LineSource = ChildHandle | Readable | StartedFixture;

/**
 * Resolves with the first line matching `regex` from a child handle, a readable stream, or a
 * started fixture (whose earlier lines are searched first). Rejects after `timeout` ms, or when
 * the child exits / the stream ends first.
 */
export function waitForLine(source: LineSource, regex: RegExp, timeout = 5000): Promise<RegExpMatchArray> {
  if (isStartedFixture(source)) {
    for (const { line } of source.lines) {
      const match = regex.exec(line);
      if (match !== null) return Promise.resolve(match);
    }
    return waitForLine(source.child, regex, timeout);
  }
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    const cleanups: (() => void)[] = [];
    const settle = (action: () => void): void => {
      for (const cleanup of cleanups) cleanup();
      action();
    };
    const timer = setTimeout(() => settle(() => reject(new Error(`no line matching ${String(regex)} within ${timeout} ms`))), timeout);
    cleanups.push(() => clearTimeout(timer));
    const check = (line: string): void => {
      const match = regex.exec(line);
      if (match !== null) settle(() => resolve(match));
    };
    if (source instanceof ChildHandle) {
      const onLine = (_stream: OutputStream, line: string): void => check(line);
      const onExit = (): void => settle(() => reject(new Error(`child exited before a line matched ${String(regex)}`)));
      source.on('line', onLine);
      source.once('exit', onExit);
      cleanups.push(() => {
        source.off('line', onLine);
        source.off('exit', onExit);
      });
    } else {
      const splitter = new LineSplitter();
      const onData = (chunk: Buffer | string): void => {
        for (const line of splitter.push(chunk)) check(line);
      };
      const onEnd = (): void => {
        for (const line of splitter.end()) check(line);
        settle(() => reject(new Error(`stream ended before a line matched ${String(regex)}`)));
      };
      source.on('data', onData);
      source.once('end', onEnd);
      cleanups.push(() => {
        source.off('data', onData);
        source.off('end', onEnd);
      });
    }
  });
}

function isStartedFixture(source: LineSource): source is StartedFixture {
  return 'lines' in source && 'child' in source;
}

// ── Tracking ─────────────────────────────────────────────────────────────────────────────────────

export interface TrackedProcess {
  pid: number;
  pgid: number;
  startTime: string;
  bootId: string | null;
  /** Spawned by this test process itself (so its group is ours even after it exited). */
  ownChild: boolean;
}

/** Every process this test process started (or learned of as a child of one), by pid. */
export const trackedPids = new Map<number, TrackedProcess>();

/** Records `pid`'s identity now; returns it, or null if the pid is already gone. */
export function track(pid: number): TrackedProcess | null {
  const stat = readProcStat(pid);
  if (stat === null) return null;
  const entry: TrackedProcess = { pid, pgid: stat.pgid, startTime: stat.startTime, bootId: readBootId(), ownChild: false };
  trackedPids.set(pid, entry);
  return entry;
}

/** Tracks a handle returned by spawnInstance (a no-op for a failed spawn). */
export function trackChild(handle: ChildHandle): void {
  const identity = handle.identity();
  if (handle.pid === null || identity === null) return;
  trackedPids.set(handle.pid, {
    pid: handle.pid,
    pgid: identity.pgid,
    startTime: identity.startTime,
    bootId: identity.bootId,
    ownChild: true,
  });
}

/** Whether `pid` runs: it exists and has not exited ({@link hasExited}: a zombie with no thread left). */
export function isRunning(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && !hasExited(stat);
}

/** Whether a tracked (or, if untracked, any non-zombie) process `pid` is still alive. */
function isAlive(pid: number): boolean {
  const tracked = trackedPids.get(pid);
  if (tracked !== undefined) return isSameProcess(tracked) === 'same';
  const stat = readProcStat(pid);
  return stat !== null && !hasExited(stat);
}

/** The pids among `pids` (and members of the groups they led) still alive. */
export function survivors(pids: Iterable<number>): number[] {
  const alive = new Set<number>();
  for (const pid of pids) {
    if (isAlive(pid)) alive.add(pid);
    const tracked = trackedPids.get(pid);
    // Only groups we know we created: a tracked process that led its own group.
    if (tracked !== undefined && tracked.pgid === tracked.pid) {
      for (const member of listGroupMembers(tracked.pgid)) alive.add(member);
    }
  }
  return [...alive].sort((a, b) => a - b);
}

/** Polls /proc until none of `pids` (nor members of their groups) remains; throws naming survivors. */
export async function assertAllGone(pids: Iterable<number>, timeout = 5000): Promise<void> {
  const list = [...pids];
  let left: number[] = [];
  await waitFor(
    () => {
      left = survivors(list);
      return left.length === 0;
    },
    { timeout, message: () => `still running: ${left.map(describePid).join('; ')}` },
  );
}

function describePid(pid: number): string {
  const stat = readProcStat(pid);
  return stat === null ? String(pid) : `${pid} (${stat.comm}, state ${stat.state}, pgid ${stat.pgid})`;
}

/**
 * Safety net for afterEach: SIGKILLs every tracked process that is still verifiably the one we
 * started (and the groups they lead), then forgets them all. Returns the pids it had to kill.
 */
export function killAllTracked(): number[] {
  const killed: number[] = [];
  for (const entry of trackedPids.values()) {
    if (entry.pgid === entry.pid) {
      const members = listGroupMembers(entry.pgid);
      const verifiedMembers = [...trackedPids.values()].filter((other) => other.pgid === entry.pgid);
      if (members.length > 0 && signalGroup({ ...entry, verifiedMembers }, 'SIGKILL') === 'sent') killed.push(...members);
    }
    if (isSameProcess(entry) === 'same') {
      try {
        process.kill(entry.pid, 'SIGKILL');
        killed.push(entry.pid);
      } catch {
        // Exited in between.
      }
    }
  }
  trackedPids.clear();
  return [...new Set(killed)].sort((a, b) => a - b);
}

// ── Starting fixtures ────────────────────────────────────────────────────────────────────────────

export interface StartFixtureOptions {
  /** What announces readiness; default `READY port=… pid=…`. */
  readyPattern?: RegExp;
  /** ms to wait for readiness; default 10 s. */
  timeout?: number;
  args?: readonly string[];
  cwd?: string;
  /** Wrap the command, e.g. `(cmd) => ['sh', '-c', cmd.join(' ')]`. */
  wrap?: (command: string[]) => string[];
}

const DEFAULT_READY = /READY port=(\d+) pid=(\d+)/;

/**
 * Spawns a fixture with spawnInstance (its own process group), tracks it, and waits for its
 * readiness line. Rejects (after cleaning up) if it exits or stays silent first.
 */
export async function startFixture(
  name: string,
  env: Record<string, string | undefined> = {},
  options: StartFixtureOptions = {},
): Promise<StartedFixture> {
  const base = fixtureCommand(name, options.args);
  const command = options.wrap ? options.wrap(base) : base;
  const handle = spawnInstance({ command, cwd: options.cwd ?? FIXTURES_DIR, env: childEnv(env) });
  const lines: OutputLine[] = [];
  handle.on('line', (stream, line) => lines.push({ stream, line }));
  const spawnFailed = new Promise<never>((_resolve, reject) => {
    handle.once('error', reject);
  });
  if (handle.pid === null) return spawnFailed;
  trackChild(handle);
  const child = handle as RunningChild;
  const target = handle.groupTarget() as GroupTarget;

  let ready: RegExpMatchArray;
  try {
    ready = await waitForLine(child, options.readyPattern ?? DEFAULT_READY, options.timeout ?? 10_000);
  } catch (error) {
    await terminateGroup(target, { timeout: 1000 });
    const output = lines.map((entry) => `${entry.stream}: ${entry.line}`).join('\n');
    throw new Error(`${name} did not become ready: ${(error as Error).message}\n${output}`, { cause: error });
  }
  const readyLine = ready.input ?? ready[0];
  const port = /\bport=(\d+)/.exec(readyLine);
  const worker = /\bworker=(\d+)/.exec(readyLine);
  const workerPid = worker?.[1] === undefined ? null : Number(worker[1]);
  if (workerPid !== null) track(workerPid);

  return {
    name,
    child,
    pid: child.pid,
    pgid: child.pgid,
    port: port?.[1] === undefined ? null : Number(port[1]),
    workerPid,
    lines,
    ready,
    target,
    async stop(stopOptions = {}) {
      const result = await terminateGroup(target, { timeout: stopOptions.timeout ?? 5000 });
      await waitFor(() => child.exitInfo !== null, { timeout: 5000, message: `${name}: no 'exit' event after stop` });
      return result;
    },
  };
}

// ── A fake /proc for unit tests ──────────────────────────────────────────────────────────────────

export interface FakeProcess {
  pid: number;
  comm?: string;
  state?: string;
  ppid?: number;
  pgid?: number;
  sid?: number;
  startTime?: string;
  cmdline?: string[];
  uid?: number;
  /** num_threads (field 20); 1 by default. */
  threads?: number;
}

/** The text of /proc/PID/stat for a fake process, in the kernel's field order. */
export function statLine(p: FakeProcess): string {
  const pgid = p.pgid ?? p.pid;
  // Fields 7–21 (tty_nr … itrealvalue) do not matter to naija-sup but num_threads (20); fields after 22 neither.
  const middle = `0 -1 4194304 100 0 0 0 0 0 0 0 20 0 ${p.threads ?? 1} 0`;
  return `${p.pid} (${p.comm ?? 'node'}) ${p.state ?? 'S'} ${p.ppid ?? 1} ${pgid} ${p.sid ?? pgid} ${middle} ${p.startTime ?? '1000'} 3133440 389 18446744073709551615 0 0\n`;
}

export interface FakeProc {
  root: string;
  add(process: FakeProcess): void;
  /** Rewrites one field of an existing process (e.g. state 'Z'). */
  update(pid: number, changes: Partial<FakeProcess>): void;
  remove(pid: number): void;
  has(pid: number): boolean;
  setBootId(id: string): void;
  cleanup(): void;
}

/** A temporary directory laid out like /proc: PID/stat, PID/cmdline, PID/status, sys/kernel/random/boot_id. */
export function createFakeProc(bootId = 'fake-boot-id-0000'): FakeProc {
  const root = mkdtempSync(join(tmpdir(), 'naija-sup-fake-proc-'));
  const processes = new Map<number, FakeProcess>();
  const write = (p: FakeProcess): void => {
    const dir = join(root, String(p.pid));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'stat'), statLine(p));
    const argv = p.state === 'Z' ? [] : (p.cmdline ?? ['node', 'server.js']);
    writeFileSync(join(dir, 'cmdline'), argv.map((arg) => `${arg}\0`).join(''));
    writeFileSync(join(dir, 'status'), `Name:\t${p.comm ?? 'node'}\nState:\t${p.state ?? 'S'}\nUid:\t${p.uid ?? 1000}\t${p.uid ?? 1000}\t${p.uid ?? 1000}\t${p.uid ?? 1000}\n`);
  };
  const fake: FakeProc = {
    root,
    add(p) {
      processes.set(p.pid, p);
      write(p);
    },
    update(pid, changes) {
      const current = processes.get(pid);
      if (current === undefined) throw new Error(`fake proc: no process ${pid}`);
      fake.add({ ...current, ...changes });
    },
    remove(pid) {
      processes.delete(pid);
      rmSync(join(root, String(pid)), { recursive: true, force: true });
    },
    has: (pid) => processes.has(pid),
    setBootId(id) {
      mkdirSync(join(root, 'sys', 'kernel', 'random'), { recursive: true });
      writeFileSync(join(root, 'sys', 'kernel', 'random', 'boot_id'), `${id}\n`);
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  fake.setBootId(bootId);
  return fake;
}
