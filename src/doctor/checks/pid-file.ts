/**
 * `pid-file`: the instance record in the run dir and the optional plain PID file, checked against
 * /proc. A PID alone proves nothing (PIDs are reused), so the record's start time and boot id
 * decide: stale (the process is gone), reused (another process has the PID now), zombie, orphaned
 * (alive, but its supervisor is gone), or running. Read-only: prints the command that cleans up.
 */
import { readFileSync } from 'node:fs';
import { readInstanceState } from './instance-state.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';
import { isoTime } from '../../iso-time.js';

/** The outcome for the record alone. */
function recordOutcome(ctx: DoctorContext, name: string): { outcome: CheckOutcome | null; pid: number | null; details: string[] } {
  const state = readInstanceState(ctx, name);
  const record = state.record;
  if (record === null) return { outcome: null, pid: null, details: [`no instance record (${state.path})`] };
  const details = [
    `record: ${state.path}`,
    `instance pid ${record.pid} (pgid ${record.pgid}), started ${isoTime(record.startedAt)}: ${record.cmdline.join(' ')}`,
    `supervisor pid ${record.supervisorPid}: ${state.supervisor === 'same' ? 'running' : 'gone'}`,
  ];
  switch (state.instance) {
    case 'gone':
      return {
        pid: record.pid,
        details,
        outcome: {
          status: 'warn',
          summary: `stale record: instance pid ${record.pid} is gone`,
          fix: `Harmless: \`naija-sup start\` replaces it. To remove it now: \`rm ${state.path}\`.`,
        },
      };
    case 'reused': {
      const now = ctx.proc.cmdline(record.pid).join(' ') || ctx.proc.stat(record.pid)?.comm || '?';
      return {
        pid: record.pid,
        details: [...details, `pid ${record.pid} now runs: ${now}`],
        outcome: {
          status: 'warn',
          summary: `stale record: pid ${record.pid} now belongs to another process (PID reuse); naija-sup will not signal it`,
          fix: `Remove the stale record: \`rm ${state.path}\`.`,
        },
      };
    }
    case 'zombie': {
      const ppid = ctx.proc.stat(record.pid)?.ppid;
      return {
        pid: record.pid,
        details,
        outcome: {
          status: 'warn',
          summary: `instance pid ${record.pid} is a zombie: it exited and waits for its parent${ppid === undefined ? '' : ` (pid ${ppid})`} to reap it; it holds no port`,
          fix: `Nothing to kill (a zombie is already dead); if its parent never reaps it, stop the parent${ppid === undefined ? '' : ` (pid ${ppid})`}.`,
        },
      };
    }
    default:
      break;
  }
  if (state.supervisor === 'same') {
    return {
      pid: record.pid,
      details,
      outcome: { status: 'ok', summary: `${name} is running: instance pid ${record.pid}, supervisor pid ${record.supervisorPid}` },
    };
  }
  return {
    pid: record.pid,
    details,
    outcome: {
      status: 'warn',
      summary: `orphaned instance: pid ${record.pid} still runs, but its supervisor (pid ${record.supervisorPid}) is gone`,
      fix: `\`naija-sup start\` stops it first (the record matches it); to stop it now: \`kill -TERM -${record.pgid}\` (its whole process group).`,
    },
  };
}

export const pidFileCheck: Check = {
  id: 'pid-file',
  title: 'PID file and instance record',
  run(ctx: DoctorContext): CheckOutcome {
    if (ctx.loaded === null) return { status: 'skip', summary: 'needs a valid config (see the config check)' };
    const config = ctx.loaded.config;
    const fromRecord = recordOutcome(ctx, config.name);
    const details = [...fromRecord.details];
    let pidFileOutcome: CheckOutcome | null = null;

    if (config.pidFile !== null) {
      let text: string | null = null;
      try {
        text = readFileSync(config.pidFile, 'utf8');
      } catch {
        details.push(`no PID file (${config.pidFile})`);
      }
      if (text !== null) {
        const pid = /^\s*(\d+)\s*$/.test(text) ? Number(text.trim()) : null;
        details.push(`PID file ${config.pidFile}: ${pid === null ? JSON.stringify(text.slice(0, 40)) : pid}`);
        const stat = pid === null ? null : ctx.proc.stat(pid);
        if (pid === null) {
          pidFileOutcome = {
            status: 'warn',
            summary: `the PID file ${config.pidFile} does not hold a PID`,
            fix: `Remove it: \`rm ${config.pidFile}\` (start writes a new one).`,
          };
        } else if (stat === null || ctx.proc.hasExited(stat)) {
          pidFileOutcome = {
            status: 'warn',
            summary: `stale PID file: ${config.pidFile} names pid ${pid}, which is ${stat === null ? 'gone' : 'a zombie'}`,
            fix: `Remove it: \`rm ${config.pidFile}\` (start writes a new one).`,
          };
        } else if (pid !== fromRecord.pid || fromRecord.outcome?.status !== 'ok') {
          const command = ctx.proc.cmdline(pid).join(' ') || stat.comm;
          details.push(`pid ${pid} runs: ${command}`);
          pidFileOutcome = {
            status: 'warn',
            summary: `the PID file names pid ${pid} (${stat.comm}), which naija-sup cannot confirm is its instance (no matching record: PID reuse, or another tool's file)`,
            fix: `Check it (\`ps -o pid,lstart,args -p ${pid}\`); if it is not your server, remove the file: \`rm ${config.pidFile}\`. naija-sup never signals a PID from a plain PID file.`,
          };
        }
      }
    }

    const worst = [fromRecord.outcome, pidFileOutcome].filter((o): o is CheckOutcome => o !== null && o.status !== 'ok')[0];
    if (worst !== undefined) return { ...worst, details };
    if (fromRecord.outcome !== null) return { ...fromRecord.outcome, details };
    return { status: 'ok', summary: `no instance of ${config.name} is recorded; nothing stale`, details };
  },
};
