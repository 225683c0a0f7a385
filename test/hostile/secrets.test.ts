/**
 * Issue 15, "secrets stay secret everywhere": values planted in the config's env, in the inherited
 * environment, in a `dependsOn` URL, and printed by the server itself never appear in any output
 * channel — `config` (both forms), `status --json`, `ls --json`, /health and /metrics of the status
 * server, every file in the run dir (logs, the detached supervisor's output, records), `logs`,
 * a failed `start -d`'s error, `doctor`. Real supervisor, real server, through the built CLI
 * (`npm run build` first).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliApp, endCliApps, type CliApp } from '../helpers/cli-app.js';
import { fixture, track } from '../helpers/processes.js';
import { freePort, httpGet } from '../helpers/supervise.js';

/** Every planted value contains this marker, and nothing else naija-sup prints does. */
const MARK = 'PLANTED';
const CONFIG_ENV = {
  STRIPE_SK: `sk_live_${MARK}_stripe_1`,
  DATABASE_URL: `postgres://app:${MARK}_pgpass_2@127.0.0.1:5432/db`,
  PASSPHRASE: `open ${MARK} sesame 5`,
  AUTH_HEADER: `Bearer ${MARK}_auth_6`,
  DSN: `user:${MARK}_dsn_7@tcp(db)/x`,
  // Not secret by its name: the config's `redact` list makes it so.
  CUSTOMER_REF: `${MARK}_custom_8`,
  NODE_ENV: 'production',
};
const SHELL_SECRET = { MY_API_TOKEN: `${MARK}_shell_token_3` };
const DEP_PASSWORD = `${MARK}_dep_pass_4`;

/** The server prints its secrets (and the password alone) before it starts serving. */
const LEAKY = `echo "boot: stripe=$STRIPE_SK db=$DATABASE_URL token=$MY_API_TOKEN pass=$PASSPHRASE pw=${MARK}_pgpass_2 ref=$CUSTOMER_REF"; exec "$0" "$1"`;

let dependency: Server;
let depPort: number;
beforeAll(async () => {
  dependency = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => dependency.listen(0, '127.0.0.1', resolve));
  depPort = (dependency.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => dependency.close(() => resolve()));
});
afterEach(endCliApps);

function expectClean(channel: string, text: string): void {
  // The channel name in the message says where a leak was found.
  expect({ channel, leaked: text.includes(MARK) ? text : '' }).toEqual({ channel, leaked: '' });
}

function runDirFiles(app: CliApp): Array<[string, string]> {
  return readdirSync(app.runDir).filter((f) => !f.endsWith('.sock')).map((f) => [f, readFileSync(join(app.runDir, f), 'utf8')]);
}

async function secretApp(extra: Record<string, unknown> = {}): Promise<CliApp> {
  const app = await cliApp({
    command: ['sh', '-c', LEAKY, process.execPath, fixture('healthy-server.mjs')],
    env: CONFIG_ENV,
    redact: ['customer_ref'],
    dependsOn: [{ name: 'search', http: `http://elastic:${DEP_PASSWORD}@127.0.0.1:${depPort}/` }],
    ...extra,
  });
  Object.assign(app.env, SHELL_SECRET);
  return app;
}

describe('planted secrets', () => {
  it('never appear in config, status, ls, /health, /metrics, the run dir files, logs or doctor', async () => {
    const statusPort = await freePort();
    const app = await secretApp({ status: { port: statusPort } });

    for (const args of [['config'], ['config', '--json']]) {
      const r = await app.cli(args);
      expect(r.status).toBe(0);
      expectClean(args.join(' '), r.stdout + r.stderr);
      expect(r.stdout).toContain('[redacted]');
    }

    const started = await app.cli(['start', '-d']);
    expect(started.status).toBe(0);
    expectClean('start -d', started.stdout + started.stderr);
    const record = JSON.parse(readFileSync(join(app.runDir, 'cli-app.json'), 'utf8')) as { supervisorPid: number; pid: number };
    track(record.supervisorPid);

    try {
      for (const args of [['status', '--json'], ['status'], ['ls', '--json'], ['logs', '-n', '500'], ['doctor']]) {
        const r = await app.cli(args);
        expectClean(args.join(' '), r.stdout + r.stderr);
      }
      const health = await httpGet(statusPort, '/health');
      expect(health.status).toBe(200);
      expect(health.body).toContain('"search"');
      expectClean('/health', health.body);
      const metrics = await httpGet(statusPort, '/metrics');
      expect(metrics.status).toBe(200);
      expectClean('/metrics', metrics.body);
      // The server did print them: the log has the line, redacted.
      const log = readFileSync(join(app.runDir, 'cli-app.log'), 'utf8');
      expect(log).toContain('boot: stripe=[redacted] db=postgres://[redacted]@127.0.0.1:5432/db token=[redacted] pass=[redacted] pw=[redacted] ref=[redacted]');
    } finally {
      const stop = await app.cli(['stop']);
      expectClean('stop', stop.stdout + stop.stderr);
    }
    for (const [file, content] of runDirFiles(app)) expectClean(`run dir file ${file}`, content);
  });

  it('never appear in a failed start -d error, its log, or the status of the app that gave up', async () => {
    const app = await secretApp({
      command: ['sh', '-c', `echo "fatal: cannot connect to $DATABASE_URL with $STRIPE_SK" >&2; exit 3`],
      restart: { policy: 'never' },
    });
    const r = await app.cli(['start', '-d']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('E_STARTUP_FAILED');
    expect(r.stderr).toContain('[redacted]');
    expectClean('start -d (failed)', r.stdout + r.stderr);
    for (const args of [['status', '--json'], ['status'], ['ls', '--json'], ['logs', '-n', '500']]) {
      const s = await app.cli(args);
      expectClean(args.join(' '), s.stdout + s.stderr);
    }
    for (const [file, content] of runDirFiles(app)) expectClean(`run dir file ${file}`, content);
  });
});
