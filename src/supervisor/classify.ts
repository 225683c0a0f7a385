/**
 * Why did the instance stop? Turns an exit (code or signal), the tail of its stderr and what the
 * supervisor itself observed into one named cause with a summary and a fix, for the event, the log,
 * `status` and the exit message (DESIGN.md "Crash classification").
 *
 * Precedence: a known failure in stderr (src/failures.ts) names the real problem even when the
 * supervisor then had to kill the process; next what the supervisor saw (startup timeout, failed
 * liveness); then a signal death; then the exit code.
 */

import { constants } from 'node:os';
import { matchFailure, renderFix } from '../failures.js';
import type { FailureCause } from '../failures.js';

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
  /** The last stderr lines of the instance, oldest first. */
  stderrTail: readonly string[];
  /** The port the instance was given, for messages. */
  port?: number | undefined;
  /** The supervisor stopped it because it never became ready. */
  startupTimedOut?: boolean | undefined;
  /** The supervisor stopped it because its liveness probe failed. */
  livenessFailed?: boolean | undefined;
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
}

/** Classifies one exit of the instance. Pure. */
export function classifyExit(facts: ExitFacts): ExitClassification {
  const exitStatus = exitStatusOf(facts);
  const found = matchFailure(facts.stderrTail, { fatalOnly: true });
  if (found !== null) {
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
  if (facts.signal !== null) return { cause: 'killed', ...describeSignal(facts.signal), exitStatus };
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

function describeSignal(signal: NodeJS.Signals): { summary: string; fix: string } {
  switch (signal) {
    case 'SIGKILL':
      return {
        summary: 'killed by SIGKILL (possibly the out-of-memory killer)',
        fix: 'If nobody killed it on purpose, look for "Out of memory: Killed process" in `dmesg` or `journalctl -k`, then give it more memory or find the leak.',
      };
    case 'SIGSEGV':
    case 'SIGBUS':
    case 'SIGILL':
    case 'SIGFPE':
      return {
        summary: `crashed with ${signal} (${CRASH_NAMES[signal]})`,
        fix: 'The runtime or a native module crashed: check native dependencies with `naija-sup doctor` and keep the stderr tail for a bug report.',
      };
    case 'SIGABRT':
      return {
        summary: 'aborted with SIGABRT',
        fix: 'Node aborts like this when its heap is full ("JavaScript heap out of memory"): raise --max-old-space-size or find the leak; otherwise check native modules.',
      };
    case 'SIGTERM':
    case 'SIGINT':
    case 'SIGHUP':
    case 'SIGQUIT':
      return {
        summary: `terminated by ${signal} from outside naija-sup`,
        fix: 'Something else stopped it (a `kill`, a deploy script, the system shutting down); stop it with `naija-sup stop` instead.',
      };
    default:
      return {
        summary: `killed by ${signal}`,
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
  return {
    summary: `exited with code ${code === null ? 'unknown' : code}`,
    fix: 'Read the stderr tail above for the error; run the command by hand in the app directory to reproduce it.',
  };
}

function lowerFirst(text: string): string {
  return text.length === 0 ? text : text[0]?.toLowerCase() + text.slice(1);
}
