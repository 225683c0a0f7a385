/**
 * `port`: is the app's port free on the host it binds? If not: who holds it (every owner, with
 * pid, user, command, cwd), whether that is naija-sup's own instance (running, or orphaned by a
 * killed supervisor) or a foreign process, TIME_WAIT, an owner this user cannot see, and an
 * IPv4/IPv6 neighbour that does not block the bind but answers "localhost". Also says what
 * `naija-sup start` would do about it. Never signals anything.
 */
import { compileMatchPattern } from '../../config/index.js';
import { findPortOwners, type PortOwner } from '../../ports/index.js';
import { isOurs, readInstanceState } from './instance-state.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';
import { isoTime } from '../../iso-time.js';

function describeOwner(owner: PortOwner): string {
  const started = owner.startedAt === undefined ? '' : `, started ${isoTime(owner.startedAt)}`;
  const cwd = owner.cwd === undefined ? '' : `, cwd ${owner.cwd}`;
  return `pid ${owner.pid} (ppid ${owner.ppid}, pgid ${owner.pgid ?? '?'}) user ${owner.user}${started}${cwd}: ${owner.command || '(no command line)'} — listens on ${owner.addresses.join(', ') || '?'}`;
}

type Answer = Awaited<ReturnType<typeof findPortOwners>>;
type Config = NonNullable<DoctorContext['loaded']>['config'];

export const portCheck: Check = {
  id: 'port',
  title: 'port',
  async run(ctx: DoctorContext): Promise<CheckOutcome> {
    if (ctx.loaded === null) return { status: 'skip', summary: 'needs a valid config (see the config check)' };
    const config = ctx.loaded.config;
    const { port, host } = config;
    const answer = await findPortOwners({ port, host, proc: ctx.proc });
    const where = `${host}:${port}`;
    const details: string[] = [];
    if (answer.nonConflicting.length > 0) {
      details.push(
        `also listening on port ${port}: ${answer.nonConflicting.map((socket) => socket.endpoint).join(', ')} — it does not block ${host}, but "localhost:${port}" may reach it instead of the server`,
      );
    }
    if (answer.note !== undefined) details.push(answer.note);
    if (answer.kind !== 'held') return unheldOutcome(answer, where, config, details);

    const owners = answer.owners;
    details.unshift(...owners.map(describeOwner));
    const state = readInstanceState(ctx, config.name);
    // In proxy and handoff mode the supervisor itself listens on the port (and passes the traffic,
    // or the socket, to its instance): the record's running supervisor is ours too.
    const isSupervisor = (owner: PortOwner): boolean => state.supervisor === 'same' && owner.pid === state.record?.supervisorPid;
    const ours = owners.filter((owner) => isOurs(owner, state, ctx) || isSupervisor(owner));
    const foreign = owners.filter((owner) => !ours.includes(owner));
    if (foreign.length === 0 && state.record !== null) {
      if (owners.every(isSupervisor)) {
        details.push(`record: ${state.path} (instance pid ${state.record.pid}, supervisor pid ${state.record.supervisorPid})`);
        return { status: 'ok', summary: `${where} is held by ${config.name}'s running supervisor (pid ${state.record.supervisorPid}), which listens on it for its instance (proxy or handoff mode)`, details };
      }
      return oursOutcome({ ...state, record: state.record }, owners.filter((owner) => !isSupervisor(owner)), where, config.name, details);
    }
    return foreignOutcome(foreign, where, config, details);
  },
};

/** The port has no owner to name: free, TIME_WAIT only, or held by a socket this user cannot see. */
function unheldOutcome(answer: Exclude<Answer, { kind: 'held' }>, where: string, config: Config, details: string[]): CheckOutcome {
  const { port, host } = config;
  switch (answer.kind) {
    case 'free':
      if (answer.nonConflicting.length > 0) {
        return {
          status: 'warn',
          summary: `${where} is free, but another server listens on ${answer.nonConflicting.map((s) => s.endpoint).join(', ')} (IPv4/IPv6 mismatch)`,
          details,
          fix: `Stop the other server (\`naija-sup free-port ${port} --host ${answer.nonConflicting[0]?.address ?? '::'}\`), and have clients use ${host} rather than "localhost".`,
        };
      }
      return { status: 'ok', summary: `${where} is free`, details };
    case 'time-wait':
      return {
        status: 'warn',
        summary: `no process listens on ${where}, but ${answer.count} connection(s) are in TIME_WAIT (no owner; they expire within ~60 s)`,
        details,
        fix: 'Nothing to stop: Node and uvicorn set SO_REUSEADDR and bind anyway; a server without it gets EADDRINUSE until they expire, so wait a minute.',
      };
    case 'held-invisible':
      return {
        status: 'fail',
        summary: `${where} is held, but its owner is not visible to you (socket uid ${answer.uid}, user ${answer.user})`,
        details: [...answer.sockets.map((socket) => `socket ${socket.endpoint} (inode ${socket.inode})`), ...details],
        fix: `Run \`sudo naija-sup doctor --only port\` (or as ${answer.user}) to name it, then stop it; or choose another port with --port.`,
      };
  }
}

type InstanceState = ReturnType<typeof readInstanceState>;

/** Every owner is this app's own instance, as its record says: running, or orphaned by a killed supervisor. */
function oursOutcome(state: InstanceState & { record: NonNullable<InstanceState['record']> }, owners: readonly PortOwner[], where: string, name: string, details: string[]): CheckOutcome {
  const record = state.record;
  const pids = owners.map((owner) => owner.pid).join(', ');
  details.push(`record: ${state.path} (instance pid ${record.pid}, supervisor pid ${record.supervisorPid})`);
  if (state.supervisor === 'same') {
    return { status: 'ok', summary: `${where} is held by ${name}'s running instance (pid ${pids}), supervised by pid ${record.supervisorPid}`, details };
  }
  return {
    status: 'warn',
    summary: `${where} is held by an orphaned instance of ${name} (pid ${pids}): its supervisor (pid ${record.supervisorPid}) is gone`,
    details,
    fix: `\`naija-sup start\` stops it first (the record matches it); to stop it now: \`kill -TERM -${record.pgid}\` (its whole process group).`,
  };
}

/** Foreign owners: what `start` would do about them. */
function foreignOutcome(foreign: readonly PortOwner[], where: string, config: Config, details: string[]): CheckOutcome {
  const { port } = config;
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const otherUsers = foreign.filter((owner) => uid !== undefined && uid !== 0 && owner.uid !== undefined && owner.uid !== uid);
  const matchers = config.cleanup.match.map((pattern) => ({ pattern, test: compileMatchPattern(pattern) }));
  const matched = foreign.filter((owner) => matchers.some((m) => m.test(owner.command)));
  const first = foreign[0] as PortOwner;
  const who = `pid ${foreign.map((owner) => owner.pid).join(', ')} (${first.user}: ${first.command || '?'})`;
  if (otherUsers.length > 0) {
    return {
      status: 'fail',
      summary: `${where} is held by ${who}, another user's process: naija-sup will not stop it`,
      details,
      fix: `Ask its owner (${otherUsers[0]?.user ?? '?'}) to stop it, or as root: \`sudo naija-sup free-port ${port}\`; or choose another port with --port.`,
    };
  }
  if (config.cleanup.killExisting || matched.length === foreign.length) {
    const why = config.cleanup.killExisting ? 'cleanup.killExisting is on' : `its command matches cleanup.match (${config.cleanup.match.join(', ')})`;
    return {
      status: 'warn',
      summary: `${where} is held by ${who}, not started by naija-sup; \`naija-sup start\` will stop it (${why})`,
      details,
      fix: `Nothing to do if it is a stale server; to stop it now: \`naija-sup free-port ${port}\`.`,
    };
  }
  return {
    status: 'fail',
    summary: `${where} is held by ${who}, not started by naija-sup: \`naija-sup start\` would fail with EADDRINUSE`,
    details,
    fix: `If it is a stale server, stop it gracefully: \`naija-sup free-port ${port}\` (or \`kill -TERM ${first.pid}\`), or let start do it: \`naija-sup start --kill-existing\`; otherwise choose another port: \`naija-sup start --port ${port === 65535 ? port - 1 : port + 1}\`.`,
  };
}
