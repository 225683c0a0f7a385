/**
 * Words for a probe that produced no report: the runtime hung (killed at the deadline), could not
 * be started, or crashed before printing. Shared by the checks that probe the app's runtime.
 */
import { matchFailure, renderFix } from '../../failures.js';
import { tailLines, type ProbeRun } from '../probe-run.js';
import { formatDuration } from '../../elapsed.js';
import type { CheckOutcome } from '../types.js';

export interface ProbeFailureWords {
  summary: string;
  details: string[];
  fix: string;
  /** A failure-table id when the runtime's own output names a known failure. */
  failureId?: string;
}

/** Describes a non-ok probe run of `what` ("the app's node", "/usr/bin/python3"). */
export function describeProbeFailure(run: Exclude<ProbeRun<unknown>, { kind: 'ok' }>, what: string): ProbeFailureWords {
  switch (run.kind) {
    case 'timeout':
      return {
        summary: `${what} did not answer within ${formatDuration(run.timeoutMs)}: the runtime hangs (killed)`,
        details: tailLines(run.stderr).map((line) => `stderr: ${line}`),
        fix: `Run it by hand in the app directory to see where it stops (a native module's load, a NODE_OPTIONS/PYTHONSTARTUP preload, a network mount).`,
      };
    case 'spawn-error':
      return {
        summary: `${what} cannot be started: ${run.code}`,
        details: [run.message],
        fix:
          run.code === 'ENOENT'
            ? `Install it, or fix the command's first word / PATH so that it names an existing executable.`
            : `Check its permissions (\`ls -l\`, \`chmod +x\`).`,
      };
    case 'canceled':
      return { summary: `${what}: the probe was canceled`, details: [], fix: 'Run doctor again.' };
    case 'no-report': {
      const tail = tailLines(run.stderr);
      const known = matchFailure(tail);
      const how = run.signal === null ? `exit code ${run.exitCode ?? 'unknown'}` : `signal ${run.signal}`;
      return {
        summary: `${what} crashed before reporting (${how})${known === null ? '' : `: ${known.failure.title.toLowerCase()}`}`,
        details: tail.map((line) => `stderr: ${line}`),
        fix: known === null ? 'Read the stderr lines above; run the runtime by hand in the app directory to reproduce.' : renderFix(known.failure.fix, { module: known.module }),
        ...(known === null ? {} : { failureId: known.failure.id }),
      };
    }
  }
}

/** A check's "fail" outcome for a probe run of `what` that produced no report. */
export function probeFailureOutcome(run: Exclude<ProbeRun<unknown>, { kind: 'ok' }>, what: string): CheckOutcome {
  const failure = describeProbeFailure(run, what);
  return {
    status: 'fail',
    summary: failure.summary,
    details: failure.details,
    fix: failure.fix,
    ...(failure.failureId === undefined ? {} : { failureId: failure.failureId }),
  };
}
