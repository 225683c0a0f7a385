/**
 * `init`: inside a container, PID 1 must reap orphans. When the server (or naija-sup) is PID 1
 * without an init, grandchildren orphaned by a crash are reparented to it and never reaped: they
 * pile up as zombies (research failures-and-ports.md §2 "Zombie vs orphan"). Fix: tini, or
 * `docker run --init` (which injects tini as docker-init).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { INIT_FIX } from '../../app/pid1.js';
import { PROC, type ProcDeps } from '../../process/proc-read.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';

/** PID 1 names that reap orphans. */
const INITS = new Set([
  'tini',
  'docker-init',
  'dumb-init',
  'catatonit',
  's6-svscan',
  'runit',
  'runsvdir',
  'systemd',
  'init',
  'openrc-init',
  'supervisord',
  'my_init',
]);

/** Why doctor thinks this is a container; null when it sees no sign of one. */
export function containerMarker(rootDir: string, deps: ProcDeps = {}): string | null {
  if (existsSync(join(rootDir, '.dockerenv'))) return '/.dockerenv exists (Docker)';
  if (existsSync(join(rootDir, 'run', '.containerenv'))) return '/run/.containerenv exists (Podman)';
  const cgroup = (deps.proc ?? PROC).cgroup(1) ?? ''; // not readable: no verdict from cgroups
  const match = /\b(docker|kubepods|containerd|libpod|lxc)\b/.exec(cgroup);
  return match === null ? null : `/proc/1/cgroup names ${match[1]}`;
}

export const initCheck: Check = {
  id: 'init',
  title: 'init process (PID 1)',
  run(ctx: DoctorContext): CheckOutcome {
    const marker = containerMarker(ctx.rootDir, ctx);
    const comm = ctx.proc.comm(1)?.trim() ?? null; // null: hidepid or no /proc
    if (marker === null) {
      return { status: 'skip', summary: `not in a container${comm === null ? '' : ` (PID 1 is ${comm})`}` };
    }
    if (comm === null) {
      return { status: 'skip', summary: 'in a container, but PID 1 cannot be read', details: [marker] };
    }
    const details = [marker, `PID 1: ${comm}`];
    if (INITS.has(comm)) return { status: 'ok', summary: `PID 1 is ${comm}, which reaps orphaned processes`, details };
    return {
      status: 'warn',
      summary: `PID 1 is ${comm}, not an init: orphaned grandchildren of the server become zombies nobody reaps`,
      details,
      fix: INIT_FIX,
    };
  },
};
