/**
 * The words free-port and the preflight use for port owners and stops: one line per owner, per
 * stop, per lookup answer, and the "who holds the port" lines of a fatal "port in use" message.
 * Pure text apart from describePortHolders' lookup; printing and colour stay in src/cli/.
 */

import { formatElapsed } from '../elapsed.js';
import { PROC, USER_HZ, type ProcDeps } from '../process/proc-read.js';
import { findPortOwners, type PortOwner, type PortOwnersAnswer } from './owners.js';
import type { StopDeps } from './stop-execute.js';
import type { StoppedProcess } from './stopped.js';

/** "850ms" → "<1s"; 75 s → "1m 15s"; 2 h 5 min → "2h 5m"; 3 days → "3d 0h". */
export function formatAge(ms: number): string {
  return !Number.isFinite(ms) || ms < 1000 ? '<1s' : formatElapsed(ms);
}

/** "127.0.0.1:8000", "[::1]:8000", "[::]:8000" (host undefined = every address). */
export function endpoint(host: string | undefined, port: number): string {
  const h = host === undefined || host === '' ? '::' : host;
  return h.includes(':') && !h.startsWith('[') ? `[${h}]:${port}` : `${h}:${port}`;
}

const MAX_COMMAND = 160;

/** A command line shortened for one-line messages (details keep it whole). */
export function shortCommand(command: string, max = MAX_COMMAND): string {
  if (command === '') return '(no command line: a kernel thread or a zombie)';
  return command.length <= max ? command : `${command.slice(0, max - 1)}…`;
}

/**
 * One owner in one line: `pid 1234 (user alice, running for 5m 3s, pgid 1234): node server.js — listening on [::]:8000`.
 */
export function formatOwner(owner: PortOwner, now: number = Date.now(), options: { full?: boolean } = {}): string {
  const facts = [`user ${owner.user}`];
  if (owner.startedAt !== undefined) facts.push(`running for ${formatAge(now - owner.startedAt)}`);
  if (owner.pgid !== undefined && owner.pgid !== owner.pid) facts.push(`pgid ${owner.pgid}`);
  const command = options.full === true ? owner.command || shortCommand('') : shortCommand(owner.command);
  const where = owner.addresses.length > 0 ? ` — listening on ${owner.addresses.join(', ')}` : '';
  return `pid ${owner.pid} (${facts.join(', ')}): ${command}${where}`;
}

/** "process group 1234 (pids 1234 1235: node server.js): exited after SIGTERM in 120 ms". */
export function describeStopped(s: StoppedProcess): string {
  const command = shortCommand(s.command, 80);
  const scope =
    s.scope === 'group' ? `process group ${s.pgid ?? s.pid} (pids ${s.pids.join(' ')}: ${command})` : `pid ${s.pids.join(' ')} (${command})`;
  const how: Record<StoppedProcess['outcome'], string> = {
    exited: `exited after ${s.signal}`,
    killed: 'killed with SIGKILL after the grace period',
    'gone-already': 'already gone',
    refused: `not signalled: ${s.detail}`,
    // The detail already says it ("still running after SIGKILL: 712", "SIGKILL refused: …").
    survived: s.detail,
  };
  return `${scope}: ${how[s.outcome]} in ${Math.round(s.durationMs)} ms`;
}

/** One line per fact of a lookup answer: who holds the port, or why nobody visible does. */
export async function describeAnswer(answer: PortOwnersAnswer, now: number): Promise<string[]> {
  switch (answer.kind) {
    case 'free':
      return [`nothing listens on port ${answer.port} now${answer.note ? ` (${answer.note})` : ''}`];
    case 'time-wait':
      return [answer.note ?? `port ${answer.port}: ${answer.count} connection(s) in TIME_WAIT, no owner`];
    case 'held-invisible':
      return [`port ${answer.port} is held ${invisibleReason(answer).replace(/^the port is held /, '')}`];
    case 'held': {
      const lines = answer.owners.map((owner) => `port ${answer.port} is held by ${formatOwner(owner, now, { full: true })}`);
      if (answer.note) lines.push(answer.note);
      return lines;
    }
  }
}

/**
 * Lines naming whoever holds `host:port` right now, for a fatal "port in use" message after a
 * classified crash: a port conflict is not retried blindly, its message names the owner.
 * Never throws: a failed lookup becomes a line saying so.
 */
export async function describePortHolders(
  port: number,
  host?: string,
  deps: Pick<StopDeps, 'lookup' | 'proc' | 'now'> = {},
): Promise<string[]> {
  const lookup = deps.lookup ?? findPortOwners;
  try {
    const answer = await lookup({ port, host, proc: deps.proc });
    return await describeAnswer(answer, (deps.now ?? Date.now)());
  } catch (error) {
    return [`could not look up who holds port ${port}: ${error instanceof Error ? error.message : String(error)}`];
  }
}

/** How long a process has run, from its stat start time and /proc/uptime; undefined if unknown. */
export function processAgeMs(startTime: string | undefined, deps: ProcDeps = {}): number | undefined {
  const proc = deps.proc ?? PROC;
  if (startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
  const uptime = proc.uptimeSeconds();
  if (uptime === null) return undefined;
  const age = uptime * 1000 - (Number(startTime) * 1000) / USER_HZ;
  return Number.isFinite(age) ? Math.max(0, age) : undefined;
}

/** Why a held port's owner cannot be named: the socket belongs to a user whose processes we cannot read. */
export function invisibleReason(answer: Extract<PortOwnersAnswer, { kind: 'held-invisible' }>): string {
  return (
    `the port is held (${answer.sockets.map((s) => s.endpoint).join(', ')}), but its owner is not visible to this user ` +
    `(the socket belongs to ${answer.user}, uid ${answer.uid}): run free-port as that user, or as root`
  );
}
