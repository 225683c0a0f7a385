/** Every doctor check, in CHECK_IDS order. */
import { bcryptNodeCheck } from './bcrypt-node.js';
import { bcryptPythonCheck } from './bcrypt-python.js';
import { configCheck } from './config.js';
import { expressCheck } from './express.js';
import { handoffDrainCheck } from './handoff-drain.js';
import { healthCheck } from './health.js';
import { initCheck } from './init.js';
import { pidFileCheck } from './pid-file.js';
import { portCheck } from './port.js';
import { runDirCheck } from './run-dir.js';
import { runtimeCheck } from './runtime.js';
import type { Check } from '../types.js';

export const ALL_CHECKS: readonly Check[] = [
  runtimeCheck,
  configCheck,
  portCheck,
  pidFileCheck,
  runDirCheck,
  bcryptNodeCheck,
  bcryptPythonCheck,
  healthCheck,
  initCheck,
  expressCheck,
  handoffDrainCheck,
];

export {
  bcryptNodeCheck,
  bcryptPythonCheck,
  configCheck,
  expressCheck,
  handoffDrainCheck,
  healthCheck,
  initCheck,
  pidFileCheck,
  portCheck,
  runDirCheck,
  runtimeCheck,
};
