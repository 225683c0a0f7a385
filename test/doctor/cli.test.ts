/**
 * `naija-sup doctor` as the CLI runs it (doctorCommand with an injected io): the human checklist
 * (snapshot), colour only on a TTY and never with NO_COLOR, --json against the schema, and the exit
 * statuses 0 / 1 / 2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { colorLevel, doctorCommand, renderDoctorReport } from '../../src/cli/commands/doctor.js';
import { TROUBLESHOOTING_FILE } from '../../src/cli/docs-link.js';
import { useColor } from '../../src/cli/render.js';
import type { CliIO } from '../../src/cli/context.js';
import { stripAnsi } from '../../src/health/index.js';
import { CHECK_IDS, DOCTOR_RESULTS_JSON_SCHEMA, type CheckResult, type DoctorReport } from '../../src/doctor/index.js';
import { validate } from './json-schema-validator.js';
import { makeNodeApp, prebuild, removeTemps, replaceBinding, ROOT, tempDir, writeJson } from './helpers.js';

afterAll(() => {
  removeTemps();
});

function captureIO(cwd: string, env: Record<string, string | undefined> = {}, isTTY = false): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    cwd,
    isTTY,
    out: () => out,
    err: () => err,
  };
}

const result = (partial: Partial<CheckResult> & Pick<CheckResult, 'id' | 'status' | 'summary'>): CheckResult => ({
  title: partial.id,
  details: [],
  fix: null,
  failureId: null,
  durationMs: 1,
  ...partial,
});

/** A report with one of each status, as doctor prints them. */
const REPORT: DoctorReport = {
  name: 'express-api',
  configFile: '/srv/app/naija-sup.config.json',
  configFailed: false,
  results: [
    result({ id: 'runtime', status: 'ok', summary: "naija-sup's node 20.20.2, the app's node 20.20.2 (linux x64, glibc 2.36)", details: ['hidden for ok'] }),
    result({
      id: 'port',
      status: 'fail',
      summary: '127.0.0.1:8000 is held by pid 4242 (dev: node old-server.js), not started by naija-sup: `naija-sup start` would fail with EADDRINUSE',
      details: ['pid 4242 (ppid 1, pgid 4242) user dev: node old-server.js — listens on 127.0.0.1:8000'],
      fix: 'If it is a stale server, stop it gracefully: `naija-sup free-port 8000` (or `kill -TERM 4242`), or let start do it: `naija-sup start --kill-existing`.',
    }),
    result({
      id: 'bcrypt-python',
      status: 'warn',
      summary: 'passlib 1.7.4 + bcrypt 4.1.2: hashing works, but passlib logs "(trapped) error reading bcrypt version" (P1, harmless)',
      details: ['requirements.txt: bcrypt==4.1.2'],
      fix: "Pin `bcrypt==4.0.1` to silence it. Here: `/srv/app/.venv/bin/python -m pip install 'bcrypt==4.0.1'`",
      failureId: 'P1',
    }),
    result({ id: 'health', status: 'skip', summary: 'no supervisor is running express-api' }),
  ],
};

describe('the human checklist', () => {
  it('plain text (snapshot)', () => {
    expect(renderDoctorReport(REPORT, { colorLevel: 0, cwd: '/srv/app' })).toMatchInlineSnapshot(`
      "naija-sup doctor · express-api (naija-sup.config.json)

      ✔ runtime        naija-sup's node 20.20.2, the app's node 20.20.2 (linux x64, glibc 2.36)
      ✖ port           127.0.0.1:8000 is held by pid 4242 (dev: node old-server.js), not started by naija-sup: \`naija-sup start\` would fail with EADDRINUSE
                       pid 4242 (ppid 1, pgid 4242) user dev: node old-server.js — listens on 127.0.0.1:8000
                       fix: If it is a stale server, stop it gracefully: \`naija-sup free-port 8000\` (or \`kill -TERM 4242\`), or let start do it: \`naija-sup start --kill-existing\`.
      ⚠ bcrypt-python  passlib 1.7.4 + bcrypt 4.1.2: hashing works, but passlib logs "(trapped) error reading bcrypt version" (P1, harmless)
                       requirements.txt: bcrypt==4.1.2
                       fix: Pin \`bcrypt==4.0.1\` to silence it. Here: \`/srv/app/.venv/bin/python -m pip install 'bcrypt==4.0.1'\`
      – health         no supervisor is running express-api

      1 ok · 1 warning · 1 failed · 1 skipped
      "
    `);
  });

  it('colours marks only at level 1', () => {
    const coloured = renderDoctorReport(REPORT, { colorLevel: 1, cwd: '/srv/app' });
    expect(coloured).toContain('\u001b[31m✖\u001b[39m');
    expect(coloured).toContain('\u001b[33m⚠\u001b[39m');
    expect(coloured).toContain('\u001b[32m✔\u001b[39m');
    expect(stripAnsi(coloured)).toBe(renderDoctorReport(REPORT, { colorLevel: 0, cwd: '/srv/app' }));
  });

  it('colour on a TTY only, never with NO_COLOR, always with FORCE_COLOR — NO_COLOR wins when both are set (one rule for every command: useColor)', () => {
    expect(colorLevel({ isTTY: true, env: {} })).toBe(1);
    expect(colorLevel({ isTTY: false, env: {} })).toBe(0);
    expect(colorLevel({ isTTY: true, env: { NO_COLOR: '1' } })).toBe(0);
    expect(colorLevel({ isTTY: true, env: { NO_COLOR: '' } })).toBe(1);
    expect(colorLevel({ isTTY: false, env: { FORCE_COLOR: '1' } })).toBe(1);
    expect(colorLevel({ isTTY: false, env: { FORCE_COLOR: '0' } })).toBe(0);
    expect(colorLevel({ isTTY: false, env: { FORCE_COLOR: 'false' } })).toBe(0);
    expect(colorLevel({ isTTY: true, env: { FORCE_COLOR: '0' } })).toBe(0);
    expect(colorLevel({ isTTY: true, env: { NO_COLOR: '1', FORCE_COLOR: '1' } })).toBe(0);
    expect(useColor({ isTTY: false, env: { FORCE_COLOR: '1' } })).toBe(true);
  });
});

describe('doctorCommand', () => {
  it('--json on the example app: every check, valid against the schema', async () => {
    const io = captureIO(ROOT, { NAIJA_SUP_RUN_DIR: join(tempDir(), 'run') });
    const status = await doctorCommand(io, { config: 'examples/express-api/naija-sup.config.json', json: true });
    const parsed = JSON.parse(io.out()) as CheckResult[];
    expect(validate(DOCTOR_RESULTS_JSON_SCHEMA as unknown as Record<string, unknown>, parsed)).toEqual([]);
    expect(parsed.map((r) => r.id)).toEqual([...CHECK_IDS]);
    expect(parsed.find((r) => r.id === 'bcrypt-node')).toMatchObject({ status: 'ok' });
    expect(parsed.find((r) => r.id === 'config')).toMatchObject({ status: 'ok', summary: 'examples/express-api/naija-sup.config.json loads and validates' });
    expect(status).toBe(parsed.some((r) => r.status === 'fail') ? 1 : 0);
    expect(io.err()).toBe('');
  });

  it('the schema validator catches wrong shapes', () => {
    const schema = DOCTOR_RESULTS_JSON_SCHEMA as unknown as Record<string, unknown>;
    expect(validate(schema, [{ id: 'port', title: 't', status: 'bad', summary: '', details: [1], fix: null, failureId: null, durationMs: 1.5, extra: 1 }])).toEqual([
      '$[0].status: "bad" is not one of ["ok","warn","fail","skip"]',
      '$[0].summary: shorter than 1',
      '$[0].details[0]: expected string, got integer',
      '$[0].durationMs: expected integer, got number',
      '$[0]: unexpected "extra"',
    ]);
  });

  it('a failing check: the checklist shows ✖ with its details and fix, exit 1', async () => {
    const app = makeNodeApp({ stage: (dir) => replaceBinding(dir, readFileSync(prebuild('win32-x64/bcrypt.node'))) });
    const io = captureIO(app, { NAIJA_SUP_RUN_DIR: join(tempDir(), 'run') }, false);
    const status = await doctorCommand(io, { only: ['bcrypt-node', 'run-dir'] });
    expect(status).toBe(1);
    const lines = io.out().split('\n');
    expect(lines[0]).toBe('naija-sup doctor · doctor-fixture-app (naija-sup.config.json)');
    expect(lines).toContain('✖ bcrypt-node  bcrypt cannot load: a native module binary is for another operating system (N2)');
    expect(lines).toContain('               fix: Do not copy node_modules between systems (add it to .dockerignore); reinstall on this machine: `npm ci`.');
    expect(lines.some((line) => line.startsWith('✔ run-dir '))).toBe(true);
    expect(lines).toContain('1 ok · 0 warnings · 1 failed · 0 skipped');
    expect(stripAnsi(io.out())).toBe(io.out());
  });

  it('an invalid config: ✖ config listing every error, the other config-bound checks skip, exit 2', async () => {
    const app = tempDir();
    writeJson(join(app, 'naija-sup.config.json'), { port: 'eighty', health: { timeout: 'fast' } });
    const io = captureIO(app);
    const status = await doctorCommand(io, { only: ['port'] });
    expect(status).toBe(2);
    const out = io.out();
    expect(out.split('\n')[0]).toBe('naija-sup doctor (the config did not load)');
    expect(out).toMatch(/^✖ config +.*\(E_CONFIG_INVALID\)$/m);
    expect(out).toContain('port');
    expect(out).toContain('health.timeout');
    expect(out).toMatch(/^– port +needs a valid config \(see the config check\)$/m);
  });

  it('an unknown --only id is a usage error (exit 2) naming the valid ids', async () => {
    const io = captureIO(tempDir());
    expect(await doctorCommand(io, { only: ['bcrypt'] })).toBe(2);
    expect(io.err()).toBe(`naija-sup: unknown doctor check: bcrypt (E_USAGE)\n  fix: Choose from: ${CHECK_IDS.join(', ')}.\n  docs: ${TROUBLESHOOTING_FILE}#e_usage\n`);
    expect(io.out()).toBe('');
  });

  it('-p checks that port instead of the configured one', async () => {
    const app = tempDir();
    writeJson(join(app, 'naija-sup.config.json'), { name: 'p', command: 'node x.js', port: 8000, host: '127.0.0.1' });
    const io = captureIO(app, { NAIJA_SUP_RUN_DIR: join(tempDir(), 'run') });
    await doctorCommand(io, { only: ['port'], port: 1, json: true });
    const [port] = JSON.parse(io.out()) as CheckResult[];
    expect(port?.summary).toMatch(/^127\.0\.0\.1:1 /);
  });
});
