/**
 * `naija-sup start --detach`: runs the same `start` in the background and returns only once the
 * instance is ready (exit 0, printing pid, port and URL) or has failed (non-zero, with the cause
 * and the stderr tail). It never says "started" for something that is not.
 *
 * The background supervisor is `node bin/naija-sup.js start <the same arguments minus -d>` in its
 * own session (setsid: no controlling terminal, so closing the terminal does not SIGHUP it), with
 * stdin closed and stdout/stderr in a file of its own in the run dir, renamed to `<name>.out` once
 * it is known to be the supervisor of that name (two racing starts never mix their output). It is
 * told it runs detached by NAIJA_SUP_DETACHED=1, so it keeps the instance's output in the rotating
 * log only. This process then watches the control socket's event stream until `ready`, `fatal`,
 * the supervisor's exit, or the deadline (health.startupTimeout + 10 s).
 *
 * Failure is reported only once the background supervisor is gone, for two reasons. Its exit and
 * its last words are the cause: it opens its control socket before preflight, so a start that
 * fails preflight (E_PORT_IN_USE) closes the connection under us, and only its output says why.
 * And a start reported as failed must leave nothing running: a supervisor that does not exit on
 * its own (not ready in time, still restarting, interrupted by Ctrl+C) is stopped with its server,
 * as `naija-sup stop` would. Its output file never stays hidden: it becomes `<name>.out`, or is
 * removed when another supervisor owns the name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectControl, describeExit, fetchStatus, waitForReady, type ControlConnection, type ReadyOutcome, type StreamedExit } from '../control/client.js';
import { tailFile } from '../control/log-files.js';
import { controlPaths, type ControlPaths } from '../control/paths.js';
import type { StatusSnapshot, StreamedEvent } from '../control/protocol.js';
import { ensureRunDir } from '../control/run-dir.js';
import { docsRef } from '../docs-ref.js';
import { redactorFor, type Redactor } from '../config/redact.js';
import { ERROR_CODES, NaijaSupError, type ErrorCode } from '../errors.js';
import type { CliIO } from './context.js';
import type { StartOptions } from './options.js';
import { DETACHED_ENV, START_OPTIONS_ENV, supervisorEnv, supervisorNodeFlags } from './resident.js';
import { packagePath } from '../package-root.js';

const MARGIN_MS = 10_000;
const TAIL_LINES = 20;

const BIN = packagePath('bin', 'naija-sup.js');

/**
 * `start`'s arguments for the background process: `argv` as given to the CLI (with or without the
 * leading "start"), without -d/--detach. Everything after `--` is the server's command and is
 * left alone.
 */
export function backgroundArgs(argv: readonly string[]): string[] {
  const args = argv[0] === 'start' ? argv.slice(1) : [...argv];
  const dashdash = args.indexOf('--');
  const options = dashdash === -1 ? args : args.slice(0, dashdash);
  const rest = dashdash === -1 ? [] : args.slice(dashdash);
  return ['start', ...options.filter((a) => a !== '-d' && a !== '--detach'), ...rest];
}

/** The value of -c/--config in `argv` (before `--`), if any. */
export function configArg(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (a === '--') break;
    if ((a === '-c' || a === '--config') && i + 1 < argv.length) found = argv[i + 1];
    else if (a.startsWith('--config=')) found = a.slice('--config='.length);
    else if (a.startsWith('-c') && a.length > 2 && !a.startsWith('--')) found = a.slice(2);
  }
  return found;
}

/** The last non-empty lines among the last `n` lines of `path` (the detached server's output file). */
function readTail(path: string, n: number): string[] {
  return (tailFile(path, n)?.lines ?? []).filter((line) => line.trim() !== '');
}

interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

/**
 * `promise`, or null after `ms`. The timer is cleared either way: a pending timer would keep this
 * process alive long after it has answered.
 */
function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The background supervisor this `start -d` spawned, and where its own output goes. */
interface Background {
  name: string;
  child: ChildProcess;
  /** Its stdout/stderr: the hidden per-start file until it is known to own the name, then `<name>.out`. */
  output: string;
  /** True once `output` was renamed to `<name>.out` or removed. */
  outputSettled: boolean;
  exited: Promise<ChildExit>;
  /** Set once it has exited (read after every await: the callback may have run meanwhile). */
  exit: ChildExit | null;
  /** Set when this process was asked to stop (SIGINT/SIGTERM) while it waited. */
  interrupted: NodeJS.Signals | null;
  /** SIGTERMs sent to it: the first asks for a graceful stop, the second kills its server's group. */
  terms: number;
}

/** What `start` parsed: handed to the background supervisor through {@link START_OPTIONS_ENV}. */
export interface ParsedStart {
  opts: StartOptions;
  command: string[];
}

/** `mode`: the app's, which picks the background supervisor's node flags. */
function spawnBackground(io: CliIO, argv: string[], runDir: string, name: string, parsed: ParsedStart | undefined, mode: string): Background {
  // The child's output goes to a file of its own first: two racing starts must not read each
  // other's lines. It becomes <name>.out once we know it belongs to the supervisor of this name.
  // Our pid and Math.random, not node:crypto (~9 ms to load before the spawn): the run dir is
  // private (0700), so the name needs to be unique (O_EXCL checks it), not unguessable.
  const output = join(runDir, `.${name}.out.${process.pid.toString(16)}${Math.floor(Math.random() * 0x1_0000).toString(16).padStart(4, '0')}`);
  let fd: number;
  try {
    // O_APPEND: the supervisor rotates this file by truncating it (rotateOwnOutput); its writes must follow.
    fd = openSync(output, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    throw new NaijaSupError('E_RUN_DIR', `cannot create the background supervisor's output file in the run dir ${runDir}: ${(error as Error).message}`, {
      fix: 'the run dir must be writable and have space: free space on its disk, or point NAIJA_SUP_RUN_DIR (or XDG_RUNTIME_DIR) at a writable directory',
    });
  }
  let child: ChildProcess;
  try {
    // With the mode, whose node flags the bin needs to know to pick the code cache made under them.
    const handed = parsed === undefined ? {} : { [START_OPTIONS_ENV]: JSON.stringify({ opts: { ...parsed.opts, detach: false }, command: parsed.command, mode }) };
    // The resident process's flags and malloc arenas (src/cli/resident.ts: why each, as measured).
    child = spawn(process.execPath, [...supervisorNodeFlags(io.env, mode), BIN, ...backgroundArgs(argv)], {
      cwd: io.cwd,
      env: { ...supervisorEnv(io.env), [DETACHED_ENV]: '1', ...handed },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  // Ref'd until it settles or we stop waiting: the wait must never end because nothing is left
  // to keep this process alive (that would exit 0 without an answer).
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  const bg: Background = { name, child, output, outputSettled: false, exited, exit: null, interrupted: null, terms: 0 };
  void exited.then((e) => { bg.exit = e; });
  return bg;
}

/**
 * Sends `signal` to the background supervisor if it has not exited. Safe against PID reuse: Node
 * reaps a child and emits 'exit' in the same callback, so until `exit` is set the PID is still ours.
 */
function signalBackground(bg: Background, signal: NodeJS.Signals): void {
  if (bg.exit !== null) return;
  if (signal === 'SIGTERM') bg.terms += 1;
  bg.child.kill(signal);
}

/**
 * Starts the supervisor in the background and waits until its instance is ready or has failed.
 * Returns 0 on ready, with the supervisor running. Otherwise throws a NaijaSupError
 * (E_ALREADY_RUNNING, E_STARTUP_FAILED) once the background supervisor and its server are gone:
 * stopped by us if they did not go away on their own.
 * @param argv the CLI arguments as given to `run()` (e.g. ["start", "-d", "--port", "3000"]).
 * @param parsed the same, as `start` parsed them (handed over so the background skips commander).
 */
export async function startDetached(io: CliIO, argv: string[], parsed?: ParsedStart): Promise<number> {
  const configPath = configArg(argv);
  const { loadConfig } = await import('../config/load.js');
  const { config } = await loadConfig({
    cwd: io.cwd,
    ...(configPath === undefined ? {} : { configPath }),
    env: io.env,
    requireCommand: false,
  });
  const name = config.name;
  const runDir = ensureRunDir(io.env);
  const paths = controlPaths(runDir, name);

  const running = await fetchStatus(paths.socket).catch(() => null);
  if (running !== null) {
    throw new NaijaSupError('E_ALREADY_RUNNING', `"${name}" is already running (supervisor pid ${running.supervisorPid}${running.instancePid ? `, instance pid ${running.instancePid}` : ''}, ${running.state})`, {
      fix: `stop it first ("naija-sup stop --name ${name}"), or give this app another name (the "name" setting)`,
    });
  }

  // --mode wins over the file, as in the background supervisor; the mode cannot change on reload.
  const bg = spawnBackground(io, argv, runDir, name, parsed, parsed?.opts.mode ?? config.mode);
  const budget = config.health.startupTimeout + MARGIN_MS;
  // Ctrl+C while waiting: nobody would be told whether it started, so it must not stay behind.
  const onInterrupt = (signal: NodeJS.Signals) => (): void => {
    bg.interrupted ??= signal;
    signalBackground(bg, 'SIGTERM');
  };
  const onInt = onInterrupt('SIGINT');
  const onTerm = onInterrupt('SIGTERM');
  io.signals?.on('SIGINT', onInt);
  io.signals?.on('SIGTERM', onTerm);
  try {
    const outcome = await follow(io, bg, paths, budget);
    if (outcome === 0) return 0;
    throw redactedError(await failed(bg, paths, outcome, config.shutdown.timeout), redactorFor(config, io.env));
  } finally {
    io.signals?.off('SIGINT', onInt);
    io.signals?.off('SIGTERM', onTerm);
    // Whatever the outcome, the background supervisor lives on (or is gone) on its own.
    bg.child.unref();
  }
}

/** Why a detached start failed, before its supervisor is known to be gone. */
type Failure =
  /** The supervisor said why (it gave up, or it is not ready in time). */
  | { kind: 'reported'; error: NaijaSupError; graceMs: number }
  /** It went away, closed the connection or never answered: its exit and its last words say why. */
  | { kind: 'lost'; lastExit: StreamedExit | null; graceMs: number; note?: string };

/**
 * How long a supervisor that is on its way out (it gave up, stopped, closed its socket) gets to
 * exit on its own before it is stopped. Normally milliseconds; generous because a loaded machine
 * is slow, and reading its exit is the only way to learn why it failed.
 */
const EXIT_GRACE_MS = 10_000;

/** Connects and subscribes to the events of the supervisor at `socket`; null on any failure. */
async function subscribeTo(socket: string): Promise<{ connection: ControlConnection; first: StatusSnapshot; early: StreamedEvent[]; setSink(sink: (e: StreamedEvent) => void): void } | null> {
  const outcome = await connectControl(socket, 1000).catch(() => null);
  if (outcome?.kind !== 'live') return null;
  const early: StreamedEvent[] = [];
  let sink: (event: StreamedEvent) => void = (event) => { early.push(event); };
  try {
    const first = await outcome.connection.subscribe((event) => sink(event));
    return { connection: outcome.connection, first, early, setSink: (next) => { sink = next; } };
  } catch {
    // Its control server closed while we asked: it is on its way out (a failed preflight), or
    // it was not ready to answer yet. The next round tells which.
    outcome.connection.close();
    return null;
  }
}

/** 0 when the instance is ready (the supervisor runs on); otherwise why not. */
async function follow(io: CliIO, bg: Background, paths: ControlPaths, budget: number): Promise<0 | Failure> {
  const deadline = Date.now() + budget;
  // 1. Wait for the control socket to answer (or the child's exit). Never conclude from one
  //    failed connection: the control socket opens before preflight, so a supervisor that fails
  //    preflight closes it under us; its exit status and output say why.
  //    Every 5 ms for the first 2 s (a connect to a socket that is not there yet costs
  //    microseconds, and each wait is time added to the start), then every 50 ms.
  let sub: Awaited<ReturnType<typeof subscribeTo>> = null;
  const rounds = Math.ceil(budget / 5) + 1;
  for (let i = 0; i < rounds && sub === null && bg.exit === null && Date.now() < deadline; i += 1) {
    sub = await subscribeTo(paths.socket);
    if (sub === null) await within(bg.exited, i < 400 ? 5 : 50);
  }
  if (sub === null) {
    return { kind: 'lost', lastExit: null, graceMs: 0, ...(bg.exit === null && bg.interrupted === null ? { note: `it did not answer on its control socket within ${Math.round(budget / 1000)} s` } : {}) };
  }
  const { connection, first } = sub;
  try {
    if (first.supervisorPid !== bg.child.pid) {
      // Another supervisor answers for this name (two starts raced and ours lost, or one was
      // started meanwhile): ours exits with E_ALREADY_RUNNING. Report ours, never theirs.
      return { kind: 'lost', lastExit: null, graceMs: EXIT_GRACE_MS };
    }
    settleOutput(bg, paths, true);
    // 2. Follow its events until the instance is ready or the supervisor gives up.
    let result: ReadyOutcome;
    if (first.state === 'ready' && first.instancePid !== null) {
      result = { kind: 'ready', pid: first.instancePid, url: first.url };
    } else {
      const waiter = waitForReady(connection, { notPid: null, timeoutMs: Math.max(1000, deadline - Date.now()) });
      for (const event of sub.early) waiter.onEvent(event);
      sub.setSink(waiter.onEvent);
      result = await waiter.result;
    }
    return await outcomeOf(io, bg, connection, result, budget);
  } finally {
    connection.close();
  }
}

/** Prints the ready line (0), or says why the start failed. */
async function outcomeOf(io: CliIO, bg: Background, connection: ControlConnection, result: ReadyOutcome, budget: number): Promise<0 | Failure> {
  const name = bg.name;
  switch (result.kind) {
    case 'ready': {
      // Ready means running: asked once more, so a supervisor that died just after is not reported as started.
      const status = (await connection.request({ type: 'status' }).catch(() => null))?.status;
      if (!status || status.instancePid === null || bg.interrupted !== null) return { kind: 'lost', lastExit: null, graceMs: EXIT_GRACE_MS };
      io.stdout(`${name} is ready: pid ${result.pid}, port ${status.port}, ${status.url}\n`);
      io.stdout(`  supervisor pid ${status.supervisorPid} runs in the background; "naija-sup status --name ${name}", "naija-sup logs -f --name ${name}", "naija-sup stop --name ${name}"\n`);
      // What the start did or found that the user should know (a port holder it stopped with
      // --kill-existing…): in the background supervisor's log otherwise, where nobody looks now.
      for (const warning of status.warnings ?? []) io.stderr(`warning: ${warning.message}${warning.fix === undefined ? '' : `\n  fix: ${warning.fix}`}\n`);
      return 0;
    }
    case 'fatal':
      return {
        kind: 'reported',
        graceMs: EXIT_GRACE_MS,
        error: new NaijaSupError('E_STARTUP_FAILED', `"${name}" failed to start: ${result.reason}`, {
          details: describeExit(result.exit),
          fix: result.exit?.fix ?? `see "naija-sup logs --name ${name}"`,
          exitStatus: result.exitStatus > 0 ? result.exitStatus : 1,
          docs: result.exit ? docsRef(result.exit.cause) : undefined,
        }),
      };
    case 'stopped':
    case 'closed':
      // The supervisor went away (restart policy "never", a failed preflight, or it died): the
      // instance's last exit, the supervisor's exit status and its last words say why.
      return { kind: 'lost', lastExit: result.lastExit, graceMs: EXIT_GRACE_MS };
    case 'timeout':
      return {
        kind: 'reported',
        graceMs: 0,
        error: new NaijaSupError('E_STARTUP_FAILED', `"${name}" is not ready after ${Math.round(budget / 1000)} s`, {
          details: describeExit(result.lastExit),
          fix: `see why in "naija-sup logs --name ${name}"; if it only needs longer, raise health.startupTimeout`,
        }),
      };
    default: {
      const never: never = result;
      throw new Error(`unexpected outcome ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Waits up to `graceMs` for the background supervisor to exit on its own, then stops it the way
 * a user would (SIGTERM: graceful, its server's group too), then a second SIGTERM (the supervisor
 * SIGKILLs its server's group), then SIGKILL. Returns how it ended.
 */
async function ensureGone(bg: Background, graceMs: number, shutdownMs: number): Promise<'itself' | 'stopped' | 'killed'> {
  if (bg.exit !== null) return 'itself';
  if (graceMs > 0 && bg.terms === 0 && (await within(bg.exited, graceMs)) !== null) return 'itself';
  // An interrupted wait sent the first SIGTERM already: a second one now would skip the graceful stop.
  if (bg.terms === 0) signalBackground(bg, 'SIGTERM');
  if ((await within(bg.exited, shutdownMs + 5000)) !== null) return 'stopped';
  if (bg.terms === 1) signalBackground(bg, 'SIGTERM');
  if ((await within(bg.exited, 5000)) !== null) return 'stopped';
  signalBackground(bg, 'SIGKILL');
  await within(bg.exited, 5000);
  return 'killed';
}

/**
 * The hidden output file becomes `<name>.out` when `keep` (ours is, or was, the supervisor of this
 * name) and is removed otherwise: a failed start never leaves it behind.
 */
function settleOutput(bg: Background, paths: ControlPaths, keep: boolean): void {
  if (bg.outputSettled) return;
  bg.outputSettled = true;
  try {
    if (keep) {
      renameSync(bg.output, paths.daemonLog);
      bg.output = paths.daemonLog;
    } else {
      rmSync(bg.output, { force: true });
    }
  } catch {
    // Already moved: nothing to do.
  }
}

/**
 * The background supervisor's last words: its lines that are not JSON event lines (those are in
 * the run dir's log, "naija-sup logs"), e.g. its error with code and fix, or a crash's stack. With
 * `orEvents`, its last event lines when it wrote nothing else.
 */
function lastWords(lines: readonly string[], orEvents: boolean): string[] {
  const words = lines.filter((line) => !/^\{".*"event":/.test(line));
  return (words.length > 0 || !orEvents ? words : lines).slice(-TAIL_LINES);
}

/**
 * The error the background supervisor ended with, from the JSON line it writes for it (render.ts,
 * NAIJA_SUP_DETACHED); null when its output holds none (a crash, an old version).
 */
export function supervisorError(lines: readonly string[]): { code: ErrorCode; message: string; details: string[]; fix?: string; docs?: string; exitStatus: number } | null {
  for (const line of [...lines].reverse()) {
    if (!line.startsWith('{"time"') || !line.includes('"event":"error"')) continue;
    try {
      const { error } = JSON.parse(line) as { error?: Record<string, unknown> };
      const code = error?.['code'];
      // The file is the user's to edit: only a known code, and an exit status a failure can have.
      if (typeof code !== 'string' || !Object.hasOwn(ERROR_CODES, code) || typeof error?.['message'] !== 'string') return null;
      const details = Array.isArray(error['details']) ? error['details'].filter((d): d is string => typeof d === 'string') : [];
      const status = error['exitStatus'];
      const exitStatus = Number.isInteger(status) && (status as number) >= 1 && (status as number) <= 255 ? (status as number) : 1;
      return {
        code: code as ErrorCode,
        message: error['message'],
        details,
        ...(typeof error['fix'] === 'string' ? { fix: error['fix'] } : {}),
        ...(typeof error['docs'] === 'string' ? { docs: error['docs'] } : {}),
        exitStatus,
      };
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * The error with the app's secrets hidden: it quotes the server's last words and exit summary,
 * which may print a password (issue 15: one redaction rule for every output).
 */
function redactedError(error: NaijaSupError, redactor: Redactor): NaijaSupError {
  return new NaijaSupError(error.code, redactor.text(error.message), {
    details: error.details.map((d) => redactor.text(d)),
    ...(error.fix === undefined ? {} : { fix: redactor.text(error.fix) }),
    exitStatus: error.exitStatus,
  });
}

/** The error for a failed start, once the background supervisor and its server are gone. */
async function failed(bg: Background, paths: ControlPaths, failure: Failure, shutdownMs: number): Promise<NaijaSupError> {
  const name = bg.name;
  const ended = await ensureGone(bg, failure.graceMs, shutdownMs);
  const e = bg.exit;
  // Read once, before settleOutput may remove the file (another supervisor runs this name).
  const tail = readTail(bg.output, TAIL_LINES * 4);
  const words = lastWords(tail, failure.kind === 'lost' && failure.lastExit === null);
  // Still hidden: ours never answered for this name. Keep its output as <name>.out unless another
  // supervisor (whose file that is) runs this name now.
  if (!bg.outputSettled) settleOutput(bg, paths, (await fetchStatus(paths.socket, 500).catch(() => null)) === null);
  const kept = bg.outputSettled && bg.output === paths.daemonLog;
  const stopped = ended === 'itself' ? [] : [`naija-sup stopped its background supervisor (pid ${String(bg.child.pid)})${ended === 'killed' ? ' with SIGKILL: its server may be left; "naija-sup stop --name ' + name + '" stops it from its record' : ' and the server'}`];
  if (bg.interrupted !== null) {
    return new NaijaSupError('E_STARTUP_FAILED', `interrupted (${bg.interrupted}) before "${name}" was ready`, {
      details: stopped,
      fix: `start it again with "naija-sup start -d"`,
      exitStatus: 130,
    });
  }
  if (failure.kind === 'reported') {
    return new NaijaSupError(failure.error.code, failure.error.message, {
      details: [...failure.error.details, ...stopped],
      fix: failure.error.fix,
      exitStatus: failure.error.exitStatus,
      docs: failure.error.docs,
    });
  }
  // It failed before any instance, with an error of its own (E_PORT_IN_USE…): that error is the
  // answer, as a foreground start would give it.
  const own = failure.kind === 'lost' && failure.lastExit === null && e !== null ? supervisorError(tail) : null;
  if (own !== null) return new NaijaSupError(own.code, own.message, { ...own, details: [...own.details, ...stopped] });
  const how = failure.note ?? (e === null ? 'did not exit'
    : e.error ? `could not be started: ${e.error.message}`
      : e.signal ? `was killed by ${e.signal}` : `exited with status ${String(e.code)}`);
  const head = failure.lastExit ? `"${name}" failed to start: ${failure.lastExit.summary}; its background supervisor ${how}` : `the background supervisor for "${name}" ${how} before the server was ready`;
  const code = e?.code ?? null;
  return new NaijaSupError('E_STARTUP_FAILED', head, {
    details: [...describeExit(failure.lastExit), ...(words.length > 0 ? ['its output:', ...words.map((l) => `  ${l}`)] : []), ...stopped],
    fix: failure.lastExit?.fix ?? (kept ? `see ${paths.daemonLog} and "naija-sup logs --name ${name}"` : `see "naija-sup logs --name ${name}"`),
    exitStatus: code !== null && code > 0 ? code : 1,
    docs: failure.lastExit ? docsRef(failure.lastExit.cause) : undefined,
  });
}
