/**
 * `naija-sup export railway`: railway.json (config as code). Railway builds the app, sets PORT (which
 * naija-sup reads and passes to the server: the config's port is only the default), probes
 * `healthcheckPath` until it answers 200 before switching traffic, and restarts the container by
 * `restartPolicyType`. Railway's health check is the deploy gate only, not a liveness probe: after
 * that, naija-sup's own probes and restarts are what watch the server.
 *
 * The fields are the ones Railway documents for railway.json: $schema, build.builder,
 * deploy.startCommand, deploy.healthcheckPath, deploy.healthcheckTimeout (seconds),
 * deploy.restartPolicyType (ON_FAILURE | ALWAYS | NEVER), deploy.restartPolicyMaxRetries.
 */
import type { ResolvedConfig } from '../config/types.js';
import { APP_BIN, seconds, startBudgetMs, startCommand, startEnv, type ExportInput } from './common.js';

export const RAILWAY_SCHEMA = 'https://railway.com/railway.schema.json';

function healthcheckPath(config: ResolvedConfig): string | null {
  const h = config.health;
  if (h.readiness?.type === 'http') return h.readiness.path;
  if (h.type === 'http') return h.path;
  return null;
}

function restartPolicy(config: ResolvedConfig): 'ON_FAILURE' | 'ALWAYS' | 'NEVER' {
  if (config.restart.policy === 'always') return 'ALWAYS';
  if (config.restart.policy === 'never') return 'NEVER';
  return 'ON_FAILURE';
}

/** The railway.json object. */
export function railwayObject(input: ExportInput): Record<string, unknown> {
  const { config } = input;
  const path = healthcheckPath(config);
  // Railway runs startCommand without a shell; HOST=0.0.0.0 and naija-sup's malloc settings (which
  // it keeps from the server) come from the command's environment. The app's own naija-sup, run by
  // node with the resident supervisor's flags (common.ts: why not npx or NODE_OPTIONS).
  const env = ['HOST=0.0.0.0', ...startEnv().map(([name, value]) => `${name}=${value}`)];
  const deploy: Record<string, unknown> = {
    startCommand: ['env', ...env, ...startCommand(input, APP_BIN)].join(' '),
    ...(path === null ? {} : { healthcheckPath: path, healthcheckTimeout: seconds(startBudgetMs(config)) }),
    restartPolicyType: restartPolicy(config),
  };
  // A retry count only means something for ON_FAILURE.
  if (deploy['restartPolicyType'] === 'ON_FAILURE') deploy['restartPolicyMaxRetries'] = 10;
  return { $schema: RAILWAY_SCHEMA, build: { builder: 'NIXPACKS' }, deploy };
}

/** railway.json's text. */
export function exportRailway(input: ExportInput): string {
  return `${JSON.stringify(railwayObject(input), null, 2)}\n`;
}
