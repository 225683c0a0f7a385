/**
 * Why did the instance stop? Turns an exit (code or signal), its stderr and what the supervisor
 * itself observed into one named cause with a summary and a fix, for the event, the log, `status`
 * and the exit message (each cause's fix is in docs/troubleshooting.md).
 *
 * Precedence: a known failure in stderr (src/failures.ts) names the real problem even when the
 * supervisor then had to kill the process; next what the supervisor saw (startup timeout, failed
 * liveness); then a signal death — also one a wrapper (npm, `sh -c`) reported as 128 + n; then
 * the exit code.
 */

import { constants } from 'node:os';
import { matchFailure, renderFix } from '../failures.js';
import type { FailureCause, FailureMatch } from '../failures.js';
import { signalNamed, signalReportedBy } from './wrapper-exit.js';

export type ExitCause =
  | FailureCause
  | 'killed'
  | 'startup-timeout'
  | 'liveness-failed'
  | 'exit-code'
  | 'clean-exit';

export interface ExitFacts {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last stderr lines of the instance, oldest first (what the event shows). */
  stderrTail: readonly string[];
  /**
   * All the stderr this start kept (src/process/spawn.ts keeps its first and last 64 KiB), oldest
   * first. Searched instead of `stderrTail` when given: the line that names a failure may come
   * first (Node's "Could not locate the bindings file" is line 1 of 26).
   */
  stderr?: readonly string[] | undefined;
  /**
   * The instance had become ready before it exited. Then only its last {@link RECENT_LINES}
   * stderr lines are searched: a warning it logged (and survived) while starting hours ago does
   * not explain a crash now.
   */
  wasReady?: boolean | undefined;
  /** The command the supervisor ran: a known wrapper's 128 + n is decoded as signal n. */
  command?: readonly string[] | undefined;
  /** The port the instance was given, for messages. */
  port?: number | undefined;
  /** The supervisor stopped it because it never became ready. */
  startupTimedOut?: boolean | undefined;
  /**
   * The supervisor had begun to stop it (a stop, a restart, a reload retiring it) and sent it
   * these: a death by one of them is what naija-sup asked for, not one "from outside naija-sup".
   * Any other signal (an abort in its shutdown, the OOM killer) is told as it would be otherwise.
   */
  stopping?: StopFacts | undefined;
  /** The supervisor stopped it because its liveness probe failed. */
  livenessFailed?: boolean | undefined;
}

/** What the supervisor sent an instance it was stopping. */
export interface StopFacts {
  /** The signals sent, in order (the stop signal, then SIGKILL when it escalated). */
  sent: readonly NodeJS.Signals[];
  /** Why SIGKILL was sent: the shutdown timeout ran out, or a second Ctrl+C asked to stop at once. */
  escalation: 'timeout' | 'second-signal' | null;
}

export interface ExitClassification {
  cause: ExitCause;
  /** One line, lower case start, no trailing period: "killed by SIGKILL (possibly the out-of-memory killer)". */
  summary: string;
  /** One line saying what to do. */
  fix: string;
  /** The id of the matched entry of the failure table ('port-in-use-node', 'N8', …). */
  failureId?: string;
  /** The stderr line that identified the failure. */
  line?: string;
  /** The exit status a shell would report: the code, or 128 + the signal number. */
  exitStatus: number;
  /** The signal that ended it, also when a wrapper reported it as exit 128 + n. */
  signal?: NodeJS.Signals;
}

/**
 * How many of the last stderr lines explain a crash after the instance was ready: the longest
 * known failure text (Node's bindings error with its stack) is 26 lines, with room to spare.
 */
export const RECENT_LINES = 60;

/** Classifies one exit of the instance. Pure. */
export function classifyExit(facts: ExitFacts): ExitClassification {
  const exitStatus = exitStatusOf(facts);
  const kept = facts.stderr ?? facts.stderrTail;
  const lines = facts.wasReady === true ? kept.slice(-RECENT_LINES) : kept;
  const found = matchFailure(lines, { fatalOnly: true });
  if (found !== null) {
    const entry = missingEntryScript(found, lines);
    if (entry !== null) {
      return {
        cause: 'module-not-found',
        summary: `the script node was told to run does not exist: ${entry}`,
        fix: 'Check the command (the file name, and the folder it runs in: `cwd`); the file is not there, so no `npm install` will help.',
        failureId: 'entry-not-found-node',
        line: found.line,
        exitStatus,
      };
    }
    const { failure, module } = found;
    const portText = facts.port === undefined ? 'the port' : `port ${facts.port}`;
    const summary =
      failure.cause === 'port-in-use'
        ? `${portText} is already in use`
        : failure.cause === 'permission-denied'
          ? `not allowed to bind ${portText} (permission denied)`
          : module === undefined
          ? lowerFirst(failure.title)
          : `${lowerFirst(failure.title)}: ${module}`;
    return {
      cause: failure.cause,
      summary,
      fix: renderFix(failure.fix, { port: facts.port, module }),
      failureId: failure.id,
      line: found.line,
      exitStatus,
    };
  }

  if (facts.startupTimedOut === true) {
    return {
      cause: 'startup-timeout',
      summary: 'did not become ready before the startup timeout',
      fix: renderFix(
        'Check that the server listens on {port} (it should read PORT and HOST) and that the health check answers 200–399; raise health.startupTimeout if it is only slow.',
        { port: facts.port },
      ),
      exitStatus,
    };
  }
  if (facts.livenessFailed === true) {
    return {
      cause: 'liveness-failed',
      summary: 'stopped answering its liveness probe',
      fix: 'Look for a hang in its log (a blocked event loop, a deadlock, an exhausted pool), or raise health.liveness.timeout or failureThreshold.',
      exitStatus,
    };
  }
  const stopping = facts.stopping;
  if (facts.signal !== null) return { cause: 'killed', ...describeSignal(facts.signal, stopping), exitStatus, signal: facts.signal };
  const reported = facts.code === null ? null : signalReportedBy(facts.code, facts.command ?? [], lines);
  if (reported !== null) {
    const via = signalNamed(exitStatus - 128) === reported.signal ? `reported by ${reported.by} as exit ${exitStatus}` : `reported by ${reported.by}, which exited ${exitStatus}`;
    return { cause: 'killed', ...describeSignal(reported.signal, stopping, via), exitStatus, signal: reported.signal };
  }
  if (facts.code === 0) {
    return {
      cause: 'clean-exit',
      summary: 'exited with code 0',
      fix: 'A server should keep running: check that the command starts the server and does not exit after setup (e.g. a missing listen() or a backgrounding script).',
      exitStatus,
    };
  }
  return { cause: 'exit-code', ...describeCode(facts.code), exitStatus };
}

/**
 * The absolute path of the script `node FILE` was told to run, when that is what "Cannot find
 * module" names: nothing required it (node prints `requireStack: []` and no "Require stack:"
 * list, and it was not "imported from" a module), so node's own entry point did, not a require()
 * or import in the app's code, which a missing dependency would be. Null otherwise.
 */
function missingEntryScript(found: FailureMatch, lines: readonly string[]): string | null {
  if (found.failure.id !== 'module-not-found-node' || found.module === undefined || !found.module.startsWith('/')) return null;
  // Under an ESM loader (--import, --loader) node resolves the entry itself, "imported from" the
  // working directory (a folder, with its trailing slash); a module imports from a file.
  const importer = / imported from (\S+)$/.exec(found.line)?.[1];
  if (importer !== undefined) return importer.endsWith('/') ? found.module : null;
  const at = lines.indexOf(found.line);
  const after = lines.slice(at + 1, at + 9);
  if (after.some((line) => line.startsWith('Require stack:'))) return null;
  return after.some((line) => /^\s*requireStack: \[\]/.test(line)) ? found.module : null;
}

/**
 * The exit status a shell would report for this exit: the code, or 128 + the signal's number
 * (from os.constants.signals, never a hard-coded table). 1 when neither is known.
 */
export function exitStatusOf(exit: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (exit.code !== null) return exit.code;
  if (exit.signal !== null) {
    const number = (constants.signals as Readonly<Record<string, number | undefined>>)[exit.signal];
    if (number !== undefined) return 128 + number;
  }
  return 1;
}

/** `via` ("reported by npm as exit 137") goes into the summary's parentheses, after any hint. */
function describeSignal(signal: NodeJS.Signals, stopping: StopFacts | undefined, via?: string): { summary: string; fix: string } {
  const { head, hint, fix } = (stopping && stopWords(signal, stopping)) ?? signalWords(signal);
  const notes = [hint, via].filter((note) => note !== undefined);
  return { summary: notes.length === 0 ? head : `${head} (${notes.join('; ')})`, fix };
}

/** A death by a signal naija-sup sent while stopping it; undefined for any other signal. */
function stopWords(signal: NodeJS.Signals, stopping: StopFacts): { head: string; hint?: string; fix: string } | undefined {
  if (!stopping.sent.includes(signal)) return undefined;
  if (signal === 'SIGKILL' && stopping.escalation === 'timeout') {
    return {
      head: 'killed with SIGKILL after the shutdown timeout',
      fix: 'It did not exit within shutdown.timeout of the stop signal: find what its shutdown waits for (open connections, timers, a pool), or raise shutdown.timeout.',
    };
  }
  if (signal === 'SIGKILL' && stopping.escalation === 'second-signal') {
    return { head: 'killed with SIGKILL: asked to stop at once (a second Ctrl+C or SIGTERM)', fix: 'Nothing to do: naija-sup stopped it as asked.' };
  }
  return { head: `ended by ${signal} as asked`, fix: 'Nothing to do: naija-sup stopped it.' };
}

function signalWords(signal: NodeJS.Signals): { head: string; hint?: string; fix: string } {
  switch (signal) {
    case 'SIGKILL':
      return {
        head: 'killed by SIGKILL',
        hint: 'possibly the out-of-memory killer',
        fix: 'If nobody killed it on purpose, look for "Out of memory: Killed process" in `dmesg` or `journalctl -k`, then give it more memory or find the leak.',
      };
    case 'SIGSEGV':
    case 'SIGBUS':
    case 'SIGILL':
    case 'SIGFPE':
      return {
        head: `crashed with ${signal}`,
        hint: CRASH_NAMES[signal],
        fix: 'The runtime or a native module crashed: check native dependencies with `naija-sup doctor` and keep the stderr tail for a bug report.',
      };
    case 'SIGABRT':
      return {
        head: 'aborted with SIGABRT',
        fix: 'Node aborts like this when its heap is full ("JavaScript heap out of memory"): raise --max-old-space-size or find the leak; otherwise check native modules.',
      };
    case 'SIGTERM':
    case 'SIGINT':
    case 'SIGHUP':
    case 'SIGQUIT':
      return {
        head: `terminated by ${signal} from outside naija-sup`,
        fix: 'Something else stopped it (a `kill`, a deploy script, the system shutting down); stop it with `naija-sup stop` instead.',
      };
    default:
      return {
        head: `killed by ${signal}`,
        fix: `Find what sent ${signal}; a server that should handle it needs a handler.`,
      };
  }
}

const CRASH_NAMES = {
  SIGSEGV: 'segmentation fault',
  SIGBUS: 'bus error',
  SIGILL: 'illegal instruction',
  SIGFPE: 'arithmetic error',
} as const;

function describeCode(code: number | null): { summary: string; fix: string } {
  if (code === 127) {
    return {
      summary: 'exited with code 127 (command not found)',
      fix: 'A shell or script could not find a command: check the spelling and PATH in the stderr tail.',
    };
  }
  if (code === 126) {
    return {
      summary: 'exited with code 126 (command not executable)',
      fix: 'A shell or script found a command but could not run it: check its permissions (`chmod +x`).',
    };
  }
  // Not decoded as a signal (see wrapper-exit.ts), but say what 128 + n usually means.
  const signal = code === null ? undefined : signalNamed(code - 128);
  return {
    summary:
      code === null
        ? 'exited with an unknown code'
        : signal === undefined
          ? `exited with code ${code}`
          : `exited with code ${code} (128 + ${code - 128}: what a shell reports for a child killed by ${signal})`,
    fix: 'Read the stderr tail above for the error; run the command by hand in the app directory to reproduce it.',
  };
}

function lowerFirst(text: string): string {
  return text.length === 0 ? text : text[0]?.toLowerCase() + text.slice(1);
}
