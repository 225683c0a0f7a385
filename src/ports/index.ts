/**
 * Ports: who holds a port (/proc, find-process off Linux), whether a bind on a host would
 * conflict, and whether the port can be bound now.
 */

export { decodeHexAddress, formatIPv6, parseProcNetTcp } from './proc-net.js';
export type { ParseProcNetOptions, ProcNetTcpRow, TcpState } from './proc-net.js';
export { bindConflicts } from './bind-conflicts.js';
export type { BindConflictOptions } from './bind-conflicts.js';
export { findPortOwners, formatEndpoint } from './owners.js';
export type {
  FindPortOwnersOptions,
  FindProcessFn,
  ListenSocket,
  PortOwner,
  PortOwnersAnswer,
  ScanStats,
} from './owners.js';
export { canBind, waitUntilFree } from './availability.js';
export type { CanBindResult, WaitUntilFreeOptions, WaitUntilFreeResult } from './availability.js';
