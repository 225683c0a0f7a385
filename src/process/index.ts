/**
 * The process layer: spawn an instance in its own process group, recognise it later by its /proc
 * identity, and stop its whole group safely. Re-exports only; no side effects.
 */

export {
  createProc,
  DEFAULT_PROC_ROOT,
  PROC,
  USER_HZ,
  hasExited,
  hasProcFs,
  parseProcStat,
  parseVmRss,
  readBootId,
  readCmdline,
  readProcStat,
  readUid,
  readUptimeSeconds,
  readVmRss,
} from './proc-read.js';
export type { FdTable, Proc, ProcDeps, ProcStat } from './proc-read.js';

export { isSameProcess, pidExists, processIdentity } from './identity.js';
export type { ExpectedIdentity, ProcessIdentity, Sameness } from './identity.js';

export { isGroupAlive, listDescendants, listGroupMembers, listProcesses } from './group.js';

export { DEFAULT_MAX_LINE_LENGTH, LineSplitter, TRUNCATION_MARKER } from './line-splitter.js';
export type { LineSplitterOptions } from './line-splitter.js';

export {
  ChildHandle,
  SpawnError,
  KeptLines,
  STDERR_KEEP_CHARS,
  STDERR_KEEP_LINES,
  spawnFailureExitStatus,
  spawnInstance,
  startInstance,
} from './spawn.js';
export type {
  ChildHandleEvents,
  ExitInfo,
  OutputStream,
  RunningChild,
  SpawnFailureReason,
  SpawnFunction,
  SpawnInstanceOptions,
} from './spawn.js';

export {
  abortableSleep,
  decideGroupSignal,
  readSelfInfo,
  refusalReason,
  signalGroup,
  signalGroupWithReason,
  terminateGroup,
} from './terminate.js';
export type {
  GroupTarget,
  SelfInfo,
  SignalDeps,
  SignalOutcome,
  SignalResult,
  TerminateOptions,
  TerminateOutcome,
  TerminateResult,
  VerifiedMember,
} from './terminate.js';
