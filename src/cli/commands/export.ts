/**
 * `naija-sup export <target>`: writes a file generated from the resolved configuration, to stdout
 * or to `--output`. The targets are pure functions in src/export/<target>.ts; this module only
 * loads the config, picks the target and writes.
 *
 * Minimal form (issue 17: prometheus-rules, grafana); the deploy targets join this table.
 */
import { resolve } from 'node:path';
import { loadConfig, type ResolvedConfig } from '../../config/index.js';
import { writeFileAtomic } from '../../control/atomic-file.js';
import { NaijaSupError } from '../../errors.js';
import type { CliIO } from '../context.js';

export interface ExportCommandOptions {
  config?: string;
  output?: string;
  /** Prometheus scrape job of the status server (rules and dashboard). */
  job?: string;
  /** Where docs/metrics.md is published (the rules' runbook_url). */
  runbookBase?: string;
}

type Target = (config: ResolvedConfig, opts: ExportCommandOptions) => Promise<string>;

export const EXPORT_TARGETS: Readonly<Record<string, { description: string; render: Target }>> = {
  'prometheus-rules': {
    description: 'Prometheus alerting rules (crash loop, not ready, liveness, supervisor gone, slow start, proxy errors and latency, dependency down)',
    render: async (config, opts) => (await import('../../export/prometheus-rules.js')).prometheusRules(config, { job: opts.job, runbookBase: opts.runbookBase }),
  },
  grafana: {
    description: 'a Grafana dashboard (JSON) over the same metrics',
    render: async (config, opts) => (await import('../../export/grafana.js')).grafanaDashboard(config, { job: opts.job }),
  },
};

export async function exportCommand(io: CliIO, target: string, opts: ExportCommandOptions): Promise<number> {
  const entry = EXPORT_TARGETS[target];
  if (entry === undefined) {
    throw new NaijaSupError('E_USAGE', `unknown export target "${target}"`, {
      fix: `use one of: ${Object.keys(EXPORT_TARGETS).join(', ')}`,
    });
  }
  const loaded = await loadConfig({ cwd: io.cwd, configPath: opts.config, env: io.env, flags: {}, requireCommand: false });
  const text = await entry.render(loaded.config, opts);
  if (opts.output === undefined || opts.output === '-') {
    io.stdout(text);
    return 0;
  }
  const path = resolve(io.cwd, opts.output);
  try {
    writeFileAtomic(path, text);
  } catch (error) {
    throw new NaijaSupError('E_USAGE', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      fix: 'choose an --output in a directory that exists and that you can write to',
      cause: error,
    });
  }
  io.stderr(`wrote ${path}\n`);
  return 0;
}
