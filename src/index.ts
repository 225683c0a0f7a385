/**
 * naija-sup's public library API. Importing it has no side effects: nothing starts, prints or
 * listens until you call something.
 *
 * ```ts
 * import { defineConfig } from 'naija-sup';
 * export default defineConfig({ command: ['node', 'server.js'], health: { path: '/health' } });
 * ```
 */
export { defineConfig, loadConfig, resolveConfig, parseDuration, formatDuration, splitCommand, redactEnv, buildJsonSchema } from './config/index.js';
export type { UserConfig, ConfigFlags } from './config/index.js';
export type { ResolvedConfig, LoadedConfig, ValueSource, HealthConfig, RestartConfig, ShutdownConfig, CleanupConfig, LivenessConfig, RestartPolicy, ProbeType } from './config/types.js';
export { NaijaSupError, InternalError, ERROR_CODES, isNaijaSupError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { Supervisor } from './supervisor/runner.js';
export type { RunnerDeps, InstanceHandle, ProbeOutcome, Classification, Clock, SpawnFailure } from './supervisor/runner.js';
export { realDeps, instanceEnv } from './supervisor/real-deps.js';
export { transition, initialMachine } from './supervisor/machine.js';
export type { State, Machine, MachineEvent, Effect, Context } from './supervisor/machine.js';
export type { SupervisorEvent, ExitInfo, CrashCause } from './supervisor/events.js';
export { classifyExit, exitStatusOf } from './supervisor/classify.js';
export { KNOWN_FAILURES, matchFailure } from './failures.js';
export { findPortOwners, bindConflicts, canBind, waitUntilFree } from './ports/index.js';
export { probeHttp, probeTcp, probeOnce, probeHostFor } from './health/index.js';
export { runDoctor, CHECK_IDS } from './doctor/index.js';
export { runPreflight } from './ports/preflight.js';
export { freePort, describePortHolders } from './ports/free-port.js';
export { App } from './app/app.js';
export { supervise } from './app/supervise.js';
export type { SuperviseOptions, Supervision } from './app/supervise.js';
export type { ReloadResult } from './app/app.js';
export type { ProbeSpec, DependencyConfig, ReloadMode, LogFormat } from './config/types.js';
