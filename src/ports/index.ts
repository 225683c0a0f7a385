/**
 * Ports: who holds a port (/proc, find-process off Linux), whether a bind on a host would
 * conflict, and whether the port can be bound now.
 */

export { decodeHexAddress, formatIPv6, parseProcNetTcp } from './proc-net.js';
export type { ParseProcNetOptions, ProcNetTcpRow, TcpState } from './proc-net.js';
export { bindConflicts, findPortOwners, formatEndpoint } from './owners.js';
export type {
  BindConflictOptions,
  FindPortOwnersOptions,
  FindProcessFn,
  ListenSocket,
  PortOwner,
  PortOwnersAnswer,
  ScanStats,
} from './owners.js';
export { canBind, waitUntilFree } from './availability.js';
export type { CanBindResult, WaitUntilFreeOptions, WaitUntilFreeResult } from './availability.js';
