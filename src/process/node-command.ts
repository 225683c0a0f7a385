import { basename } from 'node:path';

/**
 * True when `command` runs Node directly (`node`, `nodejs`, `node20`, or this process's own
 * executable), so NODE_OPTIONS reaches its first process. `restart.standby` needs it: another
 * program, or a shell in front of Node, would not stop at the standby gate.
 */
export function isNodeCommand(command: readonly string[], execPath: string = process.execPath): boolean {
  const file = command[0];
  if (file === undefined || file === '') return false;
  if (file === execPath) return true;
  return /^node(js)?(\d+(\.\d+)*)?$/.test(basename(file));
}
