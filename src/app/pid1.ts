/**
 * naija-sup as PID 1 (a container started without an init): orphaned grandchildren of the server are
 * reparented to naija-sup, and Node reaps only the children it spawned, so they stay zombies. Said
 * once at start, with doctor's fix (src/doctor/checks/init.ts): run under tini or `docker run --init`.
 */
import { INIT_FIX } from '../doctor/checks/init.js';
import type { SupervisorEvent } from '../supervisor/events.js';

export function pid1Warning(pid: number = process.pid): SupervisorEvent | null {
  if (pid !== 1) return null;
  return {
    type: 'warning',
    message: 'naija-sup is PID 1 with no init: orphaned grandchildren of the server will not be reaped and pile up as zombies',
    fix: INIT_FIX,
  };
}
