/**
 * Test data for the unit tests over a fake /proc (createFakeProc): an instance record and a port
 * owner with plausible defaults, and port-owner answers of each kind. Each test file states the
 * values its fake processes use (pids, start times) as overrides.
 */
import type { InstanceRecord } from '../../src/control/record.js';
import type { PortOwner, PortOwnersAnswer } from '../../src/ports/owners.js';

/** An instance record of the app "api" on 127.0.0.1:8000, started on `bootId`. */
export function sampleRecord(bootId: string, overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    version: 1,
    name: 'api',
    pid: 600,
    pgid: 600,
    startTime: '2000',
    bootId,
    cmdline: ['node', 'server.js'],
    port: 8000,
    host: '127.0.0.1',
    supervisorPid: 590,
    supervisorStartTime: '1900',
    startedAt: 0,
    cwd: '/srv/app',
    ...overrides,
  };
}

/** A process of uid 1000 ("alice") listening on 127.0.0.1:8000. */
export function sampleOwner(overrides: Partial<PortOwner> = {}): PortOwner {
  return {
    pid: 500,
    pgid: 500,
    ppid: 1,
    uid: 1000,
    user: 'alice',
    startTime: 1000,
    startedAt: undefined,
    cmdline: ['node', 'server.js'],
    command: 'node server.js',
    cwd: '/srv/app',
    addresses: ['127.0.0.1:8000'],
    inodes: [77],
    ...overrides,
  };
}

const base = { port: 8000, host: '127.0.0.1', complete: true, method: 'procfs' as const, nonConflicting: [] };

/** findPortOwners' answers for 127.0.0.1:8000. */
export const ownersAnswer = {
  free: (note?: string): PortOwnersAnswer => ({ ...base, kind: 'free', ...(note === undefined ? {} : { note }) }),
  held: (owners: PortOwner[], note?: string): PortOwnersAnswer => ({ ...base, kind: 'held', owners, sockets: [], unownedSockets: [], ...(note === undefined ? {} : { note }) }),
  timeWait: (count = 1, note?: string): PortOwnersAnswer => ({ ...base, kind: 'time-wait', count, ...(note === undefined ? {} : { note }) }),
};
