/**
 * Deployment exports (issue 16): one pure function per target, from a resolved config to the text of
 * the file. The CLI (src/cli/commands/export.ts) loads the config and writes the text.
 */
import type { ExportInput } from './common.js';
import { exportCompose } from './compose.js';
import { exportDockerfile } from './dockerfile.js';
import { exportKubernetes } from './kubernetes.js';
import { exportRailway } from './railway.js';
import { exportSystemd } from './systemd.js';

export type { ExportInput, Runtime } from './common.js';
export { detectRuntime } from './common.js';

export const EXPORT_TARGETS = ['dockerfile', 'compose', 'systemd', 'kubernetes', 'railway'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

/** The file each target is usually saved as (the `-o` the docs suggest). */
export const DEFAULT_FILE_NAMES: Record<ExportTarget, (name: string) => string> = {
  dockerfile: () => 'Dockerfile',
  compose: () => 'compose.yaml',
  systemd: (name) => `${name}.service`,
  kubernetes: () => 'kubernetes.yaml',
  railway: () => 'railway.json',
};

const EXPORTERS: Record<ExportTarget, (input: ExportInput) => string> = {
  dockerfile: exportDockerfile,
  compose: exportCompose,
  systemd: exportSystemd,
  kubernetes: exportKubernetes,
  railway: exportRailway,
};

/** The text of `target`'s file. */
export function exportTarget(target: ExportTarget, input: ExportInput): string {
  return EXPORTERS[target](input);
}
