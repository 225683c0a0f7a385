/**
 * `naija-sup export compose`: one compose service built from the exported Dockerfile, with the same
 * health check (`naija-sup probe`), `stop_grace_period` ≥ `shutdown.timeout` (plus naija-sup's
 * margin), and the restart policy for when naija-sup itself gives up. Secrets are passed through
 * from the shell that runs compose by name, never written here.
 */
import { stringify } from 'yaml';
import { dockerDuration, envNames, generatedBy, healthcheckInterval, probeCommand, restartWords, stopBudgetMs, type ExportInput } from './common.js';

/** The compose file's text. */
export function exportCompose(input: ExportInput): string {
  const { config } = input;
  const { secret } = envNames(config);
  const environment: Record<string, string | null> = { PORT: String(config.port), HOST: '0.0.0.0' };
  // A name with no value passes the variable through from compose's own environment.
  for (const name of secret) environment[name] = null;
  const service = {
    build: { context: '.', dockerfile: 'Dockerfile' },
    ports: [`${config.port}:${config.port}`],
    environment,
    healthcheck: {
      test: ['CMD', ...probeCommand(config)],
      interval: dockerDuration(healthcheckInterval(config)),
      timeout: '3s',
      retries: config.health.liveness?.failureThreshold ?? 3,
      start_period: dockerDuration(config.health.startupTimeout),
    },
    stop_signal: 'SIGTERM',
    stop_grace_period: dockerDuration(stopBudgetMs(config)),
    // naija-sup restarts the server itself; this restarts the container only when naija-sup gives up.
    restart: restartWords(config.restart.policy).docker,
  };
  const header = [
    ...generatedBy('compose', input),
    '# The image runs tini as PID 1 (see the Dockerfile), so no `init: true` here.',
  ];
  return `${header.join('\n')}\n${stringify({ services: { [config.name]: service } }, { lineWidth: 0, aliasDuplicateObjects: false, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' })}`;
}
