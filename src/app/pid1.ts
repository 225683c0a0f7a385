/**
 * naija-sup as PID 1 (a container started without an init): orphaned grandchildren of the server are
 * reparented to naija-sup, and Node reaps only the children it spawned, so they stay zombies. Said
 * once at start, with the fix doctor's `init` check gives too (src/doctor/checks/init.ts): run under
 * tini or `docker run --init`. The text lives here, not in doctor: the resident supervisor loads no
 * doctor module (issue 19).
 */
import type { SupervisorEvent } from '../supervisor/events.js';

/** What to do about a PID 1 that is not an init (doctor's `init` check, and `start` when naija-sup is PID 1). */
export const INIT_FIX = 'Run the container with an init: `docker run --init …` (compose: `init: true`), or make tini PID 1 (`ENTRYPOINT ["tini", "--"]`).';

export function pid1Warning(pid: number = process.pid): SupervisorEvent | null {
  if (pid !== 1) return null;
  return {
    type: 'warning',
    message: 'naija-sup is PID 1 with no init: orphaned grandchildren of the server will not be reaped and pile up as zombies',
    fix: INIT_FIX,
  };
}
