/**
 * `naija-sup export <target> [-c FILE] [-o FILE]`: writes a deployment file (Dockerfile, compose
 * service, systemd unit, Kubernetes manifest, railway.json) from the resolved configuration. The
 * text comes from src/export/ (pure); this command loads the config, says on stderr which values
 * the file cannot carry (set in the environment or by a flag, not in the config file that the
 * deployed naija-sup reads), and writes stdout or `-o FILE`.
 */
import { writeFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { loadConfig, type LoadedConfig, type ResolvedConfig } from '../../config/index.js';
import { NaijaSupError } from '../../errors.js';
import { EXPORT_TARGETS, exportTarget, type ExportTarget } from '../../export/index.js';
import type { CliIO } from '../context.js';
import { packageVersion } from '../../package-root.js';

export interface ExportOptions {
  config?: string;
  output?: string;
  workdir?: string;
  user?: string;
  /** Prometheus scrape job of the status server (rules and dashboard). */
  job?: string;
  /** Where docs/metrics.md is published (the rules' runbook_url). */
  runbookBase?: string;
}

/** Monitoring files (issue 17): from the config alone, no config file needed. */
const MONITORING_TARGETS: Readonly<Record<string, (config: ResolvedConfig, opts: ExportOptions) => Promise<string>>> = {
  'prometheus-rules': async (config, opts) => (await import('../../export/prometheus-rules.js')).prometheusRules(config, { job: opts.job, runbookBase: opts.runbookBase }),
  grafana: async (config, opts) => (await import('../../export/grafana.js')).grafanaDashboard(config, { job: opts.job }),
};

function write(io: CliIO, text: string, output: string | undefined): number {
  if (output === undefined || output === '-') io.stdout(text);
  else {
    writeFileSync(resolve(io.cwd, output), text);
    io.stderr(`naija-sup: wrote ${output}\n`);
  }
  return 0;
}


/**
 * Settings whose value came from the environment: the deployed naija-sup will not see them. (export
 * passes no flags to loadConfig, so the environment is the only source besides the file.)
 */
function notCarried(loaded: LoadedConfig): string[] {
  return Object.entries(loaded.sources).flatMap(([key, source]) =>
    source.kind === 'env' && !['port', 'host'].includes(key) ? [`${key} (from $${source.variable})`] : [],
  );
}

export async function exportCommand(io: CliIO, target: string, opts: ExportOptions): Promise<number> {
  const monitoring = MONITORING_TARGETS[target];
  if (monitoring !== undefined) {
    const loaded = await loadConfig({ cwd: io.cwd, configPath: opts.config, env: io.env, flags: {}, requireCommand: false });
    return write(io, await monitoring(loaded.config, opts), opts.output);
  }
  if (!(EXPORT_TARGETS as readonly string[]).includes(target)) {
    throw new NaijaSupError('E_USAGE', `unknown export target "${target}"`, { fix: `use one of: ${[...EXPORT_TARGETS, ...Object.keys(MONITORING_TARGETS)].join(', ')}` });
  }
  const loaded = await loadConfig({ cwd: io.cwd, configPath: opts.config, env: io.env });
  if (loaded.filepath === null) {
    throw new NaijaSupError('E_CONFIG_NOT_FOUND', `no config file in ${io.cwd}: the deployed naija-sup needs one to read`, {
      fix: 'write naija-sup.config.json (at least "command" and "health.path"), or pass -c FILE',
    });
  }
  const configFile = relative(loaded.config.cwd, loaded.filepath).split(sep).join('/');
  if (configFile.startsWith('../')) {
    throw new NaijaSupError('E_USAGE', `the config file ${loaded.filepath} is outside the app's folder (${loaded.config.cwd})`, {
      fix: 'keep the config file in the app\'s folder: the image and the unit copy only that folder',
    });
  }
  const text = exportTarget(target as ExportTarget, {
    config: loaded.config, configFile, version: packageVersion(), workdir: opts.workdir, user: opts.user,
  });
  const lost = notCarried(loaded);
  if (lost.length > 0) {
    io.stderr(`naija-sup: not carried into the ${target} file (set them in ${configFile} instead): ${lost.join(', ')}\n`);
  }
  return write(io, text, opts.output);
}
