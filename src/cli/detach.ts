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
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectControl, describeExit, fetchStatus, waitForReady, requestFailure, type ControlConnection, type ReadyOutcome } from '../control/client.js';
import { tailFile } from '../control/log-files.js';
import { controlPaths } from '../control/paths.js';
import type { StatusSnapshot, StreamedEvent } from '../control/protocol.js';
import { ensureRunDir } from '../control/run-dir.js';
import { NaijaSupError } from '../errors.js';
import type { CliIO } from './context.js';

/** The environment variable that tells `start` it is the detached background supervisor. */
export const DETACHED_ENV = 'NAIJA_SUP_DETACHED';

const MARGIN_MS = 10_000;
const TAIL_LINES = 20;

const BIN = fileURLToPath(new URL('../../bin/naija-sup.js', import.meta.url));

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

/**
 * Starts the supervisor in the background and waits until its instance is ready or has failed.
 * Returns 0 on ready; throws a NaijaSupError (E_ALREADY_RUNNING, E_STARTUP_FAILED, E_FATAL) otherwise.
 * @param argv the CLI arguments as given to `run()` (e.g. ["start", "-d", "--port", "3000"]).
 */
export async function startDetached(io: CliIO, argv: string[]): Promise<number> {
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

  // The child's output goes to a file of its own first: two racing starts must not read each
  // other's lines. It becomes <name>.out once we know it belongs to the supervisor of this name.
  const outFile = join(runDir, `.${name}.out.${randomBytes(4).toString('hex')}`);
  const fd = openSync(outFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  const keepOutput = (keep: boolean): string => {
    try {
      if (keep) renameSync(outFile, paths.daemonLog);
      else rmSync(outFile, { force: true });
    } catch {
      // Already moved: nothing to do.
    }
    return paths.daemonLog;
  };
  // Set from the 'exit' callback; an object so the checks below are not narrowed away.
  const watch = { exit: null as ChildExit | null };
  let child;
  try {
    child = spawn(process.execPath, [BIN, ...backgroundArgs(argv)], {
      cwd: io.cwd,
      env: { ...io.env, [DETACHED_ENV]: '1' },
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
  void exited.then((e) => { watch.exit = e; });

  const budget = config.health.startupTimeout + MARGIN_MS;
  const deadline = Date.now() + budget;

  /**
   * Our supervisor exited before the instance was ready: its own last words say why. They become
   * <name>.out unless another supervisor runs this name (then that one's file stays).
   */
  const exitedEarly = async (e: ChildExit): Promise<NaijaSupError> => {
    const other = await fetchStatus(paths.socket, 500).catch(() => null);
    const keep = other === null || other.supervisorPid === child.pid;
    const how = e.error ? `could not be started: ${e.error.message}` : e.signal ? `was killed by ${e.signal}` : `exited with status ${String(e.code)}`;
    const lines = readTail(outFile, TAIL_LINES);
    const kept = keepOutput(keep);
    return new NaijaSupError('E_STARTUP_FAILED', `the background supervisor for "${name}" ${how} before the server was ready`, {
      details: lines.length > 0 ? ['its output:', ...lines.map((l) => `  ${l}`)] : [],
      fix: keep ? `see ${kept} and "naija-sup logs --name ${name}"` : `see "naija-sup status --name ${name}"`,
      exitStatus: e.code !== null && e.code > 0 ? e.code : 1,
    });
  };

  try {
    // 1. Wait for the control socket (or the child's exit).
    let connection: ControlConnection | null = null;
    const rounds = Math.ceil(budget / 50) + 1;
    for (let i = 0; i < rounds && connection === null && Date.now() < deadline; i += 1) {
      if (watch.exit !== null) throw await exitedEarly(watch.exit);
      const outcome = await connectControl(paths.socket, 1000).catch(() => null);
      if (outcome?.kind === 'live') connection = outcome.connection;
      else await within(exited, 50);
    }
    if (connection === null) {
      if (watch.exit !== null) throw await exitedEarly(watch.exit);
      throw new NaijaSupError('E_STARTUP_FAILED', `the background supervisor for "${name}" (pid ${String(child.pid)}) did not open its control socket within ${Math.round(budget / 1000)} s`, {
        details: readTail(outFile, TAIL_LINES),
        fix: `see ${keepOutput(true)}; stop it with "naija-sup stop --name ${name}"`,
      });
    }

    // 2. Follow its events until the instance is ready or the supervisor gives up.
    try {
      const early: StreamedEvent[] = [];
      let sink: (event: StreamedEvent) => void = (event) => { early.push(event); };
      const first = await connection.subscribe((event) => sink(event));
      if (first.supervisorPid !== child.pid) {
        // Another supervisor answers for this name (two starts raced and ours lost, or one was
        // started meanwhile): ours exits with E_ALREADY_RUNNING. Report ours, never theirs.
        connection.close();
        const e = await within(exited, Math.max(1000, deadline - Date.now()));
        if (e !== null) throw await exitedEarly(e);
        throw new NaijaSupError('E_STARTUP_FAILED', `another supervisor (pid ${first.supervisorPid}) answers for "${name}", and ours (pid ${String(child.pid)}) did not exit`, {
          details: readTail(outFile, TAIL_LINES),
          fix: `see "naija-sup status --name ${name}"`,
        });
      }
      keepOutput(true);
      let result: ReadyOutcome;
      if (first.state === 'ready' && first.instancePid !== null) {
        result = { kind: 'ready', pid: first.instancePid, url: first.url };
      } else {
        const waiter = waitForReady(connection, { notPid: null, timeoutMs: Math.max(1000, deadline - Date.now()) });
        for (const event of early) waiter.onEvent(event);
        sink = waiter.onEvent;
        result = await waiter.result;
      }
      return await report(io, name, connection, result, first, { exited, exitedEarly, budget, daemonLog: paths.daemonLog });
    } catch (error) {
      throw requestFailure(error, name);
    } finally {
      connection.close();
    }
  } finally {
    // Whatever the outcome, the background supervisor lives on (or is gone) on its own.
    child.unref();
  }
}

async function report(
  io: CliIO,
  name: string,
  connection: ControlConnection,
  result: ReadyOutcome,
  first: StatusSnapshot,
  ctx: { exited: Promise<ChildExit>; exitedEarly(e: ChildExit): Promise<NaijaSupError>; budget: number; daemonLog: string },
): Promise<number> {
  switch (result.kind) {
    case 'ready': {
      const status = (await connection.request({ type: 'status' })).status ?? first;
      io.stdout(`${name} is ready: pid ${result.pid}, port ${status.port}, ${status.url}\n`);
      io.stdout(`  supervisor pid ${status.supervisorPid} runs in the background; "naija-sup status --name ${name}", "naija-sup logs -f --name ${name}", "naija-sup stop --name ${name}"\n`);
      return 0;
    }
    case 'fatal':
      throw new NaijaSupError('E_STARTUP_FAILED', `"${name}" failed to start: ${result.reason}`, {
        details: describeExit(result.exit),
        fix: result.exit?.fix ?? `see "naija-sup logs --name ${name}"`,
        exitStatus: result.exitStatus > 0 ? result.exitStatus : 1,
      });
    case 'stopped':
    case 'closed': {
      // The supervisor went away (restart policy "never", or it died): the instance's last exit,
      // the supervisor's exit status and its last words say why.
      const e = await within(ctx.exited, 2000);
      const why = describeExit(result.lastExit);
      const failure = e === null ? null : await ctx.exitedEarly(e);
      const summary = result.lastExit ? `: ${result.lastExit.summary}` : '';
      throw new NaijaSupError('E_STARTUP_FAILED', `"${name}" failed to start${summary}; its supervisor ${result.kind === 'stopped' ? 'stopped' : 'went away'}`, {
        details: [...why, ...(why.length === 0 && failure ? failure.details : [])],
        fix: result.lastExit?.fix ?? `see ${ctx.daemonLog}`,
        exitStatus: failure?.exitStatus ?? 1,
      });
    }
    case 'timeout':
      throw new NaijaSupError('E_STARTUP_FAILED', `"${name}" is not ready after ${Math.round(ctx.budget / 1000)} s; its supervisor (pid ${first.supervisorPid}) keeps trying in the background`, {
        details: describeExit(result.lastExit),
        fix: `follow it with "naija-sup logs -f --name ${name}", or stop it with "naija-sup stop --name ${name}"`,
      });
    default: {
      const never: never = result;
      throw new Error(`unexpected outcome ${JSON.stringify(never)}`);
    }
  }
}
