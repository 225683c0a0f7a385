/**
 * vitest globalSetup: after the run, the registrations that the tests' supervisors left in this
 * user's short directory (`rundir-*`, src/control/paths.ts) for temporary run dirs that are gone
 * now are removed, as the next naija-sup command would remove them (src/control/run-dir.ts). A
 * registration of a run dir that still exists (a real supervisor of this user) is kept.
 */
import { userRunDirs } from '../../src/control/run-dir.js';

export function teardown(): void {
  userRunDirs({});
}
