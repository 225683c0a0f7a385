/**
 * What the run dir says about the app's instance, checked against /proc: the record
 * (src/control/record.ts), whether its instance is still the process it names (start time and boot
 * id, src/process/identity.ts), and whether its supervisor still runs. Read-only.
 */
import { readRecord, recordPath, type InstanceRecord } from '../../control/record.js';
import { isSameProcess, type ProcDeps, type Sameness } from '../../process/identity.js';
import { PROC } from '../../process/proc-read.js';
import type { PortOwner } from '../../ports/index.js';
import type { DoctorContext } from '../types.js';

export interface InstanceState {
  /** The record file's path (whether or not it exists). */
  path: string;
  record: InstanceRecord | null;
  /** The instance process against the record; null without a record. */
  instance: Sameness | null;
  /** The supervisor process against the record; null without a record. */
  supervisor: Sameness | null;
}

/** Reads the record of `name` in the run dir; never creates anything. */
export function readInstanceState(ctx: Pick<DoctorContext, 'runDir' | 'proc'>, name: string): InstanceState {
  const path = recordPath(ctx.runDir, name);
  const record = readRecord(ctx.runDir, name);
  if (record === null) return { path, record, instance: null, supervisor: null };
  const bootId = record.bootId === '' ? null : record.bootId;
  return {
    path,
    record,
    instance: isSameProcess({ pid: record.pid, startTime: record.startTime, bootId }, { proc: ctx.proc }),
    supervisor: isSameProcess({ pid: record.supervisorPid, startTime: record.supervisorStartTime, bootId }, { proc: ctx.proc }),
  };
}

/**
 * Whether a port owner belongs to the recorded instance: the instance itself, or a member of its
 * process group started after it in this boot (a pre-fork worker, possibly orphaned by its parent).
 */
export function isOurs(owner: PortOwner, state: InstanceState, deps: ProcDeps = {}): boolean {
  const record = state.record;
  if (record === null) return false;
  if (owner.pid === record.pid) return state.instance === 'same';
  if (owner.pgid !== record.pgid) return false;
  const bootId = (deps.proc ?? PROC).bootId();
  if (record.bootId !== '' && bootId !== null && bootId !== record.bootId) return false;
  const recordedStart = Number(record.startTime);
  return owner.startTime !== undefined && Number.isFinite(recordedStart) && owner.startTime >= recordedStart;
}
