/**
 * One exit in words for people: the classification's summary, plus how the process ended when
 * the summary does not already say it. Never "exit code 1 — exited with code 1". Tiny and
 * dependency-free: `status` loads it on its fast path.
 */

/** The causes whose summary already names the exit code or the signal (src/supervisor/classify.ts). */
const SAYS_HOW = new Set(['exit-code', 'clean-exit', 'killed', 'spawn-failed']);
/** The causes where naija-sup stopped the process itself: how it then exited says nothing. */
const STOPPED_BY_US = new Set(['startup-timeout', 'liveness-failed']);

export function describeExitShort(exit: { code: number | null; signal: string | null; cause: string; summary: string }): string {
  if (SAYS_HOW.has(exit.cause) || STOPPED_BY_US.has(exit.cause)) return exit.summary;
  if (exit.signal !== null) return `${exit.summary} (ended by ${exit.signal})`;
  return exit.code === null ? exit.summary : `${exit.summary} (exit code ${exit.code})`;
}
