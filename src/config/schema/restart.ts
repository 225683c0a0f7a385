/**
 * What happens when the server exits: the restart policy, the backoff between restarts, and the
 * limits after which supervision stops (`restart.startRetries` before a first ready,
 * `restart.maxRestarts` after).
 */
import { booleanLeaf, decodeNumber, durationLeaf, enumLeaf, fail, integerLeaf, leaf, ok, section, value } from './builders.js';

// null is the default, so the environment must be able to say it too: "none" or "null" there.
const maxRestartsLeaf = leaf<number | null, number | null>({
  description: 'Restarts allowed within `restart.window`; one more stops supervision with an error. null (the default): no limit once the server was ready, the waits growing to `restart.maxDelay` and starting over after `restart.minUptime` of readiness.',
  typeText: 'integer ≥ 0 | null',
  jsonSchema: { type: ['integer', 'null'], minimum: 0 },
  default: value(null),
  envForm: 'a number, or none/null',
  fromEnv: (raw) => (/^\s*(none|null)\s*$/i.test(raw) ? ok(null) : decodeNumber(raw)),
  parse: (raw) => (raw === null || (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) ? ok(raw) : fail('an integer ≥ 0 or null', raw)),
});

export const restartSection = section('What happens when the server exits.', {
  policy: enumLeaf('"on-failure" restarts after a non-zero exit or a signal, "always" after any exit, "never" not at all.', ['on-failure', 'always', 'never'] as const, 'on-failure'),
  initialDelay: durationLeaf('Delay before the first restart.', 100),
  // 5 minutes, like Kubernetes' CrashLoopBackOff: a server that was ready once is never given up
  // on by default (restart.maxRestarts null), so a long outage of something it needs costs one
  // start every 5 minutes, not a restart storm and not a dead API once it comes back.
  maxDelay: durationLeaf('Longest delay between restarts (exponential backoff with jitter is capped here). A server that was ready once and keeps crashing is restarted every `restart.maxDelay` at worst, for as long as it takes.', 300_000),
  factor: leaf<number, number>({
    description: 'Each further delay is the previous one times this.',
    typeText: 'number ≥ 1',
    jsonSchema: { type: 'number', minimum: 1 },
    default: value(2),
    fromEnv: decodeNumber,
    parse: (raw) => (typeof raw === 'number' && Number.isFinite(raw) && raw >= 1 ? ok(raw) : fail('a number ≥ 1', raw)),
  }),
  startRetries: integerLeaf('Failed starts retried before the server was ever ready (an exit, or no readiness within `health.startupTimeout`); one more stops supervision with an error saying it never got ready. 2 means 3 attempts in all. Causes a restart cannot fix (port in use, not allowed to bind, module not found, native module, command not found) are fatal at once, before or after a first ready.', 0, 2),
  maxRestarts: maxRestartsLeaf,
  window: durationLeaf('The window `restart.maxRestarts` is counted in.', 60_000),
  minUptime: durationLeaf('After being ready this long, the server counts as stable and the backoff resets.', 10_000),
  standby: booleanLeaf('Keep a spare Node process booted and parked before the server\'s code (a warm standby): a crash restart then skips Node\'s own start-up. Costs one idle Node process (about 40 MiB); only for a `command` that runs `node` directly.', false),
});
