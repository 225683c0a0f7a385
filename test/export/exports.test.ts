/**
 * `naija-sup export`: each target's text checked by the real tool — systemd-analyze verify (Debian's
 * systemd) for the unit, the Kubernetes schemas (kubernetes-models) for the manifest, dockerfile-ast
 * for the Dockerfile, the yaml parser for compose, Railway's documented fields for railway.json —
 * for a Node and a Python config; secret values never appear in any of them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerfileParser, type Healthcheck, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { detectRuntime, exportTarget, type ExportInput } from '../../src/export/index.js';
import { kubernetesObjects, PRE_STOP_SECONDS } from '../../src/export/kubernetes.js';
import { railwayObject } from '../../src/export/railway.js';
import { watchdogMs } from '../../src/export/systemd.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const SECRET_VALUE = 'hunter2-do-not-leak';

/** The resident supervisor's node flags and malloc settings (src/process/resident-flags.ts), written out: the exports must carry them. */
const FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=256', '--v8-pool-size=1', '--no-opt', '--no-sparkplug'];
const MALLOC_ENV = 'MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=131072 NAIJA_SUP_ADDED_ENV=MALLOC_ARENA_MAX,MALLOC_MMAP_THRESHOLD_,MALLOC_TRIM_THRESHOLD_';
const IMAGE_START = ['node', ...FLAGS, '/usr/local/lib/node_modules/naija-sup/bin/naija-sup.js', 'start', '-c', 'naija-sup.config.json'];

async function input(config: Record<string, unknown>): Promise<ExportInput> {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-export-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'naija-sup.config.json'), JSON.stringify(config));
  const loaded = await loadConfig({ cwd: dir, env: {} });
  return { config: loaded.config, configFile: 'naija-sup.config.json', version: '0.1.0', workdir: '/srv/api' };
}

const NODE_APP = {
  name: 'api',
  command: 'node dist/server.js',
  port: 3000,
  env: { LOG_LEVEL: 'info', JWT_SECRET: SECRET_VALUE, DATABASE_PASSWORD: SECRET_VALUE },
  health: { path: '/healthz', startupTimeout: '30s', liveness: { path: '/healthz', interval: '5s', failureThreshold: 3 } },
  shutdown: { timeout: '25s', signal: 'SIGINT' },
  restart: { policy: 'always' },
};
const PYTHON_APP = {
  name: 'pyapi',
  command: ['sh', '-c', 'exec uvicorn app:app --host "$HOST" --port "$PORT"'],
  health: { path: '/health' },
  shutdown: { timeout: '10s' },
};

function instructions(text: string): Instruction[] {
  return DockerfileParser.parse(text).getInstructions();
}

function runVerify(file: string): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('systemd-analyze', ['verify', file], { timeout: 60_000, encoding: 'utf8' }, (error, _stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stderr });
    });
  });
}

describe('runtime detection', () => {
  it('reads the command, inside sh -c too', () => {
    expect(detectRuntime(['node', 'dist/server.js'])).toBe('node');
    expect(detectRuntime(['npm', 'start'])).toBe('node');
    expect(detectRuntime(['sh', '-c', 'exec uvicorn app:app --port "$PORT"'])).toBe('python');
    expect(detectRuntime(['/usr/bin/python3', 'server.py'])).toBe('python');
    expect(detectRuntime(['gunicorn', '-b', '0.0.0.0:8000', 'app:app'])).toBe('python');
  });
});

describe('export dockerfile', () => {
  for (const [label, app, user] of [['Node', NODE_APP, 'node'], ['Python', PYTHON_APP, 'app']] as const) {
    it(`${label}: parses; tini as PID 1, non-root USER, exec-form ENTRYPOINT/CMD, STOPSIGNAL, HEALTHCHECK with naija-sup probe`, async () => {
      const text = exportTarget('dockerfile', await input(app));
      const all = instructions(text);
      const final = all.slice(all.map((i) => i.getKeyword()).lastIndexOf('FROM'));
      const one = (kw: string): Instruction => {
        const found = final.filter((i) => i.getKeyword() === kw);
        expect(found, kw).toHaveLength(1);
        return found[0] as Instruction;
      };
      expect(all.filter((i) => i.getKeyword() === 'FROM').length).toBeGreaterThanOrEqual(2);
      const entrypoint = one('ENTRYPOINT') as JSONInstruction;
      expect(entrypoint.getJSONStrings().map((s) => s.getJSONValue())).toEqual(['tini', '--']);
      const cmd = one('CMD') as JSONInstruction;
      expect(cmd.getJSONStrings().map((s) => s.getJSONValue())).toEqual(IMAGE_START);
      // The bin the CMD runs is where the image installs naija-sup; the malloc settings are in the image.
      expect(text).toContain('COPY --from=naija-sup /usr/local/lib/node_modules/naija-sup /usr/local/lib/node_modules/naija-sup');
      expect(final.filter((i) => i.getKeyword() === 'ENV').map((i) => i.getArgumentsContent())).toContain(MALLOC_ENV);
      expect(one('USER').getArgumentsContent()).toBe(user);
      expect(one('STOPSIGNAL').getArgumentsContent()).toBe('SIGTERM');
      const hc = one('HEALTHCHECK') as Healthcheck;
      expect(hc.getFlags().map((f) => f.getName())).toEqual(['interval', 'timeout', 'start-period', 'retries']);
      expect(hc.getArgumentsContent()).toMatch(/^CMD \["naija-sup", "probe", "--name", "[a-z]+"\]$/);
      // tini is installed in the final stage, and the user is set after everything that needs root.
      expect(final.some((i) => i.getKeyword() === 'RUN' && /install .*\btini\b/.test(i.getArgumentsContent() ?? ''))).toBe(true);
      expect(final.findIndex((i) => i.getKeyword() === 'USER')).toBeGreaterThan(final.map((i) => i.getKeyword()).lastIndexOf('RUN'));
      expect(text).not.toContain(SECRET_VALUE);
    });
  }

  it('a Python server gets a Python base image with Node copied in; a Node server does not', async () => {
    expect(exportTarget('dockerfile', await input(PYTHON_APP))).toMatch(/^FROM python:\S+$/m);
    expect(exportTarget('dockerfile', await input(PYTHON_APP))).toContain('COPY --from=naija-sup /usr/local/bin/node /usr/local/bin/node');
    expect(exportTarget('dockerfile', await input(NODE_APP))).not.toMatch(/^FROM python/m);
  });
});

describe('export compose', () => {
  it('parses; the same health check, stop_grace_period ≥ shutdown.timeout, secrets by name only', async () => {
    const text = exportTarget('compose', await input(NODE_APP));
    const doc = parse(text) as { services: Record<string, Record<string, unknown>> };
    const service = doc.services['api'] as Record<string, unknown> & { healthcheck: { test: string[] }; environment: Record<string, unknown> };
    expect(service.healthcheck.test).toEqual(['CMD', 'naija-sup', 'probe', '--name', 'api']);
    expect(service['stop_grace_period']).toBe('30s');
    expect(Number(/^(\d+)s$/.exec(String(service['stop_grace_period']))?.[1])).toBeGreaterThanOrEqual(25);
    expect(service['restart']).toBe('always');
    expect(service.environment).toEqual({ PORT: '3000', HOST: '0.0.0.0', DATABASE_PASSWORD: null, JWT_SECRET: null });
    expect(service['ports']).toEqual(['3000:3000']);
    expect(text).not.toContain(SECRET_VALUE);
  });
});

describe('export systemd', () => {
  for (const [label, app] of [['with a liveness probe', NODE_APP], ['without one', PYTHON_APP]] as const) {
    it(`${label}: systemd-analyze verify accepts it without a warning`, async () => {
      const text = exportTarget('systemd', await input(app));
      const dir = mkdtempSync(join(tmpdir(), 'naija-sup-unit-'));
      dirs.push(dir);
      const file = join(dir, `${(app as { name: string }).name}.service`);
      writeFileSync(file, text);
      const result = await runVerify(file);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    });
  }

  it('Type=notify, NotifyAccess=all, KillMode=mixed, TimeoutStopSec ≥ shutdown.timeout, Restart, hardening; WatchdogSec only with liveness', async () => {
    const node = await input(NODE_APP);
    const text = exportTarget('systemd', node);
    const keys = new Map(text.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(keys.get('Type')).toBe('notify');
    expect(keys.get('NotifyAccess')).toBe('all');
    expect(keys.get('KillMode')).toBe('mixed');
    expect(Number(keys.get('TimeoutStopSec'))).toBeGreaterThan(25);
    expect(keys.get('Restart')).toBe('always');
    expect(keys.get('NoNewPrivileges')).toBe('yes');
    expect(keys.get('PrivateTmp')).toBe('yes');
    expect(keys.get('ProtectSystem')).toBe('full');
    expect(keys.get('WorkingDirectory')).toBe('/srv/api');
    expect(keys.get('ExecStart')).toBe(`/usr/bin/env node ${FLAGS.join(' ')} /srv/api/node_modules/naija-sup/bin/naija-sup.js start -c naija-sup.config.json`);
    expect(text.split('\n')).toContain(`Environment=${MALLOC_ENV}`);
    expect(Number(keys.get('WatchdogSec'))).toBe(Math.ceil((watchdogMs(node.config) ?? 0) / 1000));
    expect(text).not.toContain(SECRET_VALUE);
    expect(exportTarget('systemd', await input(PYTHON_APP))).not.toContain('WatchdogSec');
  });
});

describe('export kubernetes', () => {
  for (const [label, app] of [['Node', NODE_APP], ['Python', PYTHON_APP]] as const) {
    it(`${label}: the Deployment and the Service validate against the Kubernetes schemas`, async () => {
      const text = exportTarget('kubernetes', await input(app));
      const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
      expect(docs.map((d) => d['kind'])).toEqual(['Deployment', 'Service']);
      expect(() => new Deployment(docs[0] as never).validate()).not.toThrow();
      expect(() => new Service(docs[1] as never).validate()).not.toThrow();
      expect(text).not.toContain(SECRET_VALUE);
    });
  }

  it('a wrong field type is rejected by the same validation (the check can fail)', () => {
    expect(() => new Deployment({ metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'x', livenessProbe: { periodSeconds: 'ten' } }] } } } } as never).validate()).toThrow(/periodSeconds/);
  });

  it('probes mirror the config; grace ≥ preStop + shutdown.timeout; requests; secrets from a Secret', async () => {
    const [deployment] = kubernetesObjects(await input(NODE_APP));
    const pod = (deployment['spec'] as { template: { spec: Record<string, unknown> } }).template.spec;
    const c = (pod['containers'] as Record<string, unknown>[])[0] as Record<string, Record<string, unknown>>;
    expect(c['startupProbe']).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
    expect(c['readinessProbe']).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
    expect(c['livenessProbe']).toMatchObject({ httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 });
    // naija-sup restarts in place first: the pod's liveness gives up later than naija-sup's.
    expect(Number(c['livenessProbe']?.['failureThreshold'])).toBeGreaterThan(3);
    expect(pod['terminationGracePeriodSeconds']).toBeGreaterThanOrEqual(PRE_STOP_SECONDS + 25);
    expect(c['lifecycle']).toEqual({ preStop: { exec: { command: ['sleep', String(PRE_STOP_SECONDS)] } } });
    expect(c['resources']).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) } });
    expect(c['env']).toContainEqual({ name: 'JWT_SECRET', valueFrom: { secretKeyRef: { name: 'api-secrets', key: 'JWT_SECRET' } } });
    // The exported image's start, whose ENV has the malloc settings.
    expect(c['command']).toEqual(['tini', '--']);
    expect(c['args']).toEqual(IMAGE_START);
  });

  it('a log-line readiness check, which only naija-sup sees, becomes an exec of naija-sup probe', async () => {
    const [deployment] = kubernetesObjects(await input({ name: 'logapp', command: 'node s.js', health: { type: 'log', log: 'listening' } }));
    const c = ((deployment['spec'] as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]) as Record<string, unknown>;
    expect(c['startupProbe']).toMatchObject({ exec: { command: ['naija-sup', 'probe', '--name', 'logapp'] } });
  });
});

describe('the supervisor\'s node flags in every export', () => {
  it('keep the optimizing compiler in proxy mode, where every request runs through the supervisor', async () => {
    const proxy = await input({ ...NODE_APP, mode: 'proxy' });
    for (const target of ['dockerfile', 'systemd', 'kubernetes', 'railway'] as const) {
      const text = exportTarget(target, proxy);
      expect(text, target).toContain('--v8-pool-size=1');
      expect(text, target).not.toContain('--no-opt');
      expect(text, target).not.toContain('--no-sparkplug');
    }
  });
});

describe('export railway', () => {
  const DOCUMENTED = {
    top: ['$schema', 'build', 'deploy'],
    build: ['builder', 'buildCommand', 'watchPatterns', 'dockerfilePath', 'nixpacksConfigPath'],
    deploy: ['startCommand', 'healthcheckPath', 'healthcheckTimeout', 'restartPolicyType', 'restartPolicyMaxRetries', 'numReplicas', 'cronSchedule', 'preDeployCommand', 'sleepApplication'],
  };

  it('only Railway\'s documented fields, with the health path, a timeout in seconds and the restart policy', async () => {
    const text = exportTarget('railway', await input(NODE_APP));
    const json = JSON.parse(text) as { build: Record<string, unknown>; deploy: Record<string, unknown> };
    for (const key of Object.keys(json)) expect(DOCUMENTED.top).toContain(key);
    for (const key of Object.keys(json.build)) expect(DOCUMENTED.build).toContain(key);
    for (const key of Object.keys(json.deploy)) expect(DOCUMENTED.deploy).toContain(key);
    expect(json.deploy).toMatchObject({ healthcheckPath: '/healthz', restartPolicyType: 'ALWAYS' });
    expect(Number.isInteger(json.deploy['healthcheckTimeout'])).toBe(true);
    expect(json.deploy['startCommand']).toBe(`env HOST=0.0.0.0 ${MALLOC_ENV} node ${FLAGS.join(' ')} node_modules/naija-sup/bin/naija-sup.js start -c naija-sup.config.json`);
    // Railway's PORT is read by naija-sup: the start command does not pin a port.
    expect(String(json.deploy['startCommand'])).not.toMatch(/PORT|--port|-p /);
    expect(text).not.toContain(SECRET_VALUE);
  });

  it('on-failure carries a retry count; without an HTTP health path there is no healthcheckPath', async () => {
    const deploy = railwayObject(await input({ name: 'tcpapp', command: 'node s.js', health: { type: 'tcp' } }))['deploy'] as Record<string, unknown>;
    expect(deploy['restartPolicyType']).toBe('ON_FAILURE');
    expect(deploy['restartPolicyMaxRetries']).toBe(10);
    expect(deploy).not.toHaveProperty('healthcheckPath');
  });
});
