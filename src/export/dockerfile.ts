/**
 * `naija-sup export dockerfile`: a production image that runs naija-sup (which runs the server).
 *
 * - tini is PID 1 (`ENTRYPOINT ["tini", "--"]`): it reaps the orphans a server's children leave and
 *   passes `docker stop`'s SIGTERM to naija-sup, which stops the server with `shutdown.signal` and
 *   waits `shutdown.timeout` (so STOPSIGNAL is SIGTERM, what naija-sup understands, whatever signal
 *   the server wants).
 * - A non-root user; the code is copied as root, so the server cannot rewrite it.
 * - Multi-stage: dependencies are installed in a stage of their own (build tools and caches stay
 *   out of the final image); a Python image copies Node and naija-sup in from a Node stage.
 * - HEALTHCHECK runs `naija-sup probe`, which asks the supervisor (no HTTP client, no shell).
 */
import {
  dockerDuration, envNames, generatedBy, healthcheckInterval, IMAGE_BIN, probeCommand, q, startCommand, startEnv, stopBudgetMs,
  detectRuntime, type ExportInput,
} from './common.js';

const NODE_IMAGE = 'node:20-bookworm-slim';
const PYTHON_IMAGE = 'python:3.12-slim-bookworm';
const TINI = 'RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*';

function execForm(argv: readonly string[]): string {
  return `[${argv.map(q).join(', ')}]`;
}

function tarball(input: ExportInput): string {
  return `naija-sup-${input.version}.tgz`;
}

/** ENV, EXPOSE, STOPSIGNAL, HEALTHCHECK, ENTRYPOINT and CMD: the same for every runtime. */
function runtimeTail(input: ExportInput, user: string): string[] {
  const { config } = input;
  const { secret } = envNames(config);
  const hc = [
    `--interval=${dockerDuration(healthcheckInterval(config))}`,
    '--timeout=3s',
    `--start-period=${dockerDuration(config.health.startupTimeout)}`,
    `--retries=${config.health.liveness?.failureThreshold ?? 3}`,
  ].join(' ');
  return [
    '# Inside a container the server must listen on every interface; naija-sup passes PORT and HOST on.',
    `ENV HOST=0.0.0.0 PORT=${config.port}`,
    '# glibc malloc settings for naija-sup, which runs for days; naija-sup takes the ones NAIJA_SUP_ADDED_ENV',
    '# names out of the server\'s environment (a value given with docker run -e stays the server\'s too).',
    `ENV ${startEnv().map(([name, value]) => `${name}=${value}`).join(' ')}`,
    ...(secret.length > 0 ? [`# Secrets are never baked in: give ${secret.join(', ')} at run time (docker run -e, compose, the platform).`] : []),
    `USER ${user}`,
    `EXPOSE ${config.port}`,
    `# docker stop sends this to tini, which passes it to naija-sup; naija-sup stops the server with`,
    `# ${config.shutdown.signal} and waits up to ${dockerDuration(config.shutdown.timeout)}: give docker stop at least ${dockerDuration(stopBudgetMs(config))} (docker run --stop-timeout ${Math.ceil(stopBudgetMs(config) / 1000)}).`,
    'STOPSIGNAL SIGTERM',
    `HEALTHCHECK ${hc} CMD ${execForm(probeCommand(config))}`,
    'ENTRYPOINT ["tini", "--"]',
    '# node with the resident supervisor\'s memory flags, running naija-sup (flags in NODE_OPTIONS would reach the server).',
    `CMD ${execForm(startCommand(input, IMAGE_BIN))}`,
  ];
}

function nodeDockerfile(input: ExportInput): string[] {
  const t = tarball(input);
  return [
    `FROM ${NODE_IMAGE} AS deps`,
    'WORKDIR /app',
    'COPY package*.json ./',
    '# npm ci needs a lock file; an app without one (a workspace member) gets npm install.',
    'RUN if [ -f package-lock.json ]; then npm ci --omit=dev; else npm install --omit=dev; fi',
    '',
    `FROM ${NODE_IMAGE} AS naija-sup`,
    `COPY ${t} /tmp/`,
    `RUN npm install --global --omit=dev /tmp/${t}`,
    '',
    `FROM ${NODE_IMAGE}`,
    TINI,
    'COPY --from=naija-sup /usr/local/lib/node_modules/naija-sup /usr/local/lib/node_modules/naija-sup',
    'RUN ln -s ../lib/node_modules/naija-sup/bin/naija-sup.js /usr/local/bin/naija-sup',
    'WORKDIR /app',
    'COPY --from=deps /app/node_modules ./node_modules',
    'COPY . .',
    'ENV NODE_ENV=production',
    ...runtimeTail(input, 'node'),
  ];
}

function pythonDockerfile(input: ExportInput): string[] {
  const t = tarball(input);
  return [
    `FROM ${NODE_IMAGE} AS naija-sup`,
    `COPY ${t} /tmp/`,
    `RUN npm install --global --omit=dev /tmp/${t}`,
    '',
    `FROM ${PYTHON_IMAGE} AS deps`,
    'COPY requirements.txt /tmp/',
    'RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt',
    '',
    `FROM ${PYTHON_IMAGE}`,
    TINI,
    '# naija-sup runs on Node: the binary and the package, nothing else from the Node image.',
    'COPY --from=naija-sup /usr/local/bin/node /usr/local/bin/node',
    'COPY --from=naija-sup /usr/local/lib/node_modules/naija-sup /usr/local/lib/node_modules/naija-sup',
    'RUN ln -s ../lib/node_modules/naija-sup/bin/naija-sup.js /usr/local/bin/naija-sup \\',
    ' && useradd --system --uid 10001 --create-home app',
    'COPY --from=deps /venv /venv',
    'ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1',
    'WORKDIR /app',
    'COPY . .',
    ...runtimeTail(input, 'app'),
  ];
}

/** The Dockerfile's text. */
export function exportDockerfile(input: ExportInput): string {
  const runtime = detectRuntime(input.config.command);
  const lines = [
    '# syntax=docker/dockerfile:1',
    ...generatedBy('dockerfile', input),
    `# Build context: the app's folder, with naija-sup's tarball beside it (npm pack /path/to/naija-sup → ${tarball(input)}).`,
    '# Keep node_modules, .git and secrets out of the context with a .dockerignore.',
    `# Server: ${runtime === 'node' ? 'Node' : 'Python'} (from the command), run by naija-sup under tini.`,
    '',
    ...(runtime === 'node' ? nodeDockerfile(input) : pythonDockerfile(input)),
  ];
  return `${lines.join('\n')}\n`;
}
