/**
 * `naija-sup free-port <port> [--host H] [--dry-run] [--force] [--timeout D] [--json]`: the safe
 * replacement for `lsof -ti:PORT | xargs kill -9` (issue 4). Shows who LISTENs on the port, stops
 * them gracefully (stop signal to the process group, grace period, SIGKILL), and confirms with a
 * real bind that the port is free. Exit 0 when the port is free at the end, 1 otherwise (with the
 * reason): held by another user without --force, owner not visible, still held after the kill, or a
 * dry run that found owners. The work is src/ports/free-port.ts; this file only renders.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { parseDuration } from '../../config/duration.js';
import { runDirPath } from '../../control/run-dir.js';
import { NaijaSupError } from '../../errors.js';
import { describeStopped, endpoint, formatAge, freePort, type FreePortResult, type OwnerView } from '../../ports/free-port.js';
import type { CliIO } from '../context.js';
import { useColor } from '../render.js';

export interface FreePortCommandOptions {
  host?: string;
  dryRun?: boolean;
  force?: boolean;
  /** Grace period before SIGKILL, as a duration ("5s"). */
  timeout?: string;
  json?: boolean;
}

const DEFAULT_TIMEOUT = '10s';

export async function freePortCommand(io: CliIO, port: number, opts: FreePortCommandOptions): Promise<number> {
  let timeout: number;
  try {
    timeout = parseDuration(opts.timeout ?? DEFAULT_TIMEOUT);
  } catch (error) {
    throw new NaijaSupError('E_USAGE', `--timeout: ${(error as Error).message}`, { fix: 'for example --timeout 5s or --timeout 500ms' });
  }
  const result = await freePort({
    port,
    host: opts.host,
    dryRun: opts.dryRun === true,
    force: opts.force === true,
    timeout,
    runDir: runDirPath(io.env),
  });
  if (opts.json === true) {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return result.free ? 0 : 1;
  }
  renderFreePort(io, result, opts);
  return result.free ? 0 : 1;
}

/** The human text of a free-port result: owners, refusals and stops on stdout, a port not freed on stderr. */
export function renderFreePort(io: Pick<CliIO, 'stdout' | 'stderr' | 'env' | 'isTTY'>, result: FreePortResult, opts: FreePortCommandOptions): void {
  const c = new Chalk({ level: useColor(io) ? 1 : 0 });
  const out = (line = ''): void => io.stdout(`${line}\n`);
  const where = endpoint(result.host, result.port);
  const { before } = result;

  switch (before.kind) {
    case 'free':
      out(`nothing listens on port ${result.port} (checked for a bind on ${where})`);
      break;
    case 'time-wait':
      out(`no process listens on port ${result.port}; ${before.count} connection(s) are in TIME_WAIT (no owner, they expire within ~60 s)`);
      break;
    case 'held-invisible':
      out(c.yellow(`port ${result.port} is held (${before.sockets.map((s) => s.endpoint).join(', ')}), but its owner is not visible to this user`));
      break;
    case 'held':
      out(`port ${result.port} (${where}) is held by ${plural(result.owners.length, 'process', 'processes')}:`);
      for (const owner of result.owners) renderOwner(out, c, owner);
      if (before.note) out(c.dim(`  note: ${before.note}`));
      break;
  }
  if (before.kind !== 'held' && before.nonConflicting.length > 0) {
    out(c.dim(`  (also listening, without blocking ${where}: ${before.nonConflicting.map((s) => s.endpoint).join(', ')})`));
  }

  for (const refusal of result.refused) {
    out(c.yellow(`cannot stop pid ${refusal.pid} (${refusal.user}): ${refusal.reason}`));
  }
  for (const stopped of result.stopped) {
    const line = `stopped ${describeStopped(stopped)}`;
    out(stopped.outcome === 'survived' || stopped.outcome === 'refused' ? c.red(line) : line);
  }

  if (result.free) {
    out(c.green(`port ${result.port} is free.`) + (result.reason ? c.dim(` (${result.reason})`) : ''));
    return;
  }
  if (result.wouldSignal !== undefined && result.wouldSignal.length > 0) {
    out(`would signal ${plural(result.wouldSignal.length, 'process', 'processes')}:`);
    for (const t of result.wouldSignal) out(`  pid ${t.pid}${t.scope === 'group' ? ` (with its process group ${t.pgid ?? t.pid})` : ' (by pid)'}: ${t.command}`);
  }
  // A real run refuses as soon as any owner is refused (src/ports/free-port.ts): offering it then
  // would contradict the "cannot stop" lines above, which say what to do instead.
  if (opts.dryRun === true && before.kind === 'held' && result.refused.length === 0) {
    out(c.dim(`dry run: nothing was stopped. To stop ${result.owners.length === 1 ? 'it' : 'them'}: naija-sup free-port ${result.port}${result.host ? ` --host ${result.host}` : ''}`));
  } else if (opts.dryRun === true && before.kind === 'held') {
    out(c.dim('dry run: nothing was stopped; free-port would stop nothing while a holder above may not be stopped'));
  }
  io.stderr(c.red(`naija-sup: port ${result.port} is not free: ${result.reason ?? 'unknown reason'}`) + '\n');
}

function renderOwner(out: (line?: string) => void, c: ChalkInstance, owner: OwnerView): void {
  const facts = [
    `user ${owner.user}`,
    owner.ageMs === undefined ? undefined : `up ${formatAge(owner.ageMs)}`,
    owner.pgid === undefined ? undefined : `pgid ${owner.pgid}`,
    owner.ppid > 0 ? `ppid ${owner.ppid}` : undefined,
    owner.addresses.length > 0 ? owner.addresses.join(' ') : undefined,
  ].filter((fact): fact is string => fact !== undefined);
  const ours =
    owner.ours === null
      ? ''
      : owner.ours.supervisorPid === owner.pid
        ? c.cyan(`  naija-sup supervisor of "${owner.ours.name}"`)
        : c.cyan(`  naija-sup instance of "${owner.ours.name}" (supervisor pid ${owner.ours.supervisorPid}${owner.ours.supervisorAlive ? ', running' : ', gone'})`);
  out(`  ${c.bold(`pid ${owner.pid}`)}  ${facts.join('  ')}${ours}`);
  out(`      ${owner.command === '' ? c.dim('(no command line)') : owner.command}`);
  if (owner.cwd !== undefined) out(c.dim(`      cwd ${owner.cwd}`));
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
