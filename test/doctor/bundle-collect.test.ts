/**
 * collectBundle in-process for the cases the CLI bundle tests do not reach: a config that does not
 * load (the bundle still gets written, naming the error, with an unknown app), an explicit config
 * file and --port, and a run dir listing with a socket and a symlink in it.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectBundle } from '../../src/doctor/bundle.js';
import type { DoctorReport } from '../../src/doctor/index.js';

const root = mkdtempSync(join(tmpdir(), 'naija-sup-bundle-collect-'));
const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

const report = (name: string | null): DoctorReport => ({ results: [], name, configFile: null, configFailed: name === null });
const file = (bundle: Awaited<ReturnType<typeof collectBundle>>, name: string): string =>
  String(bundle.entries.find((entry) => entry.name === `${bundle.folder}/${name}`)?.content ?? '');

describe('collectBundle', () => {
  it('a config that does not load: the error in config.json, an unknown app in status and logs', async () => {
    const app = join(root, 'broken');
    mkdirSync(app);
    writeFileSync(join(app, 'naija-sup.config.json'), '{ "port": ');
    const runDir = join(root, 'run-broken');
    const bundle = await collectBundle({ cwd: app, env: { NAIJA_SUP_RUN_DIR: runDir }, report: report(null), now: new Date(Date.UTC(2026, 11, 3, 12, 0, 0)) });
    expect(bundle.folder).toBe('naija-sup-bundle-unknown-20261203T120000Z');
    expect(JSON.parse(file(bundle, 'config.json'))).toEqual({ error: expect.stringContaining('naija-sup.config.json') });
    expect(JSON.parse(file(bundle, 'status.json'))).toEqual({ name: null, state: 'unknown', reason: 'the config did not load, so the app is not known' });
    expect(file(bundle, 'logs.txt')).toBe('(no app name: the config did not load)\n');
    expect(file(bundle, 'run-dir.txt')).toMatch(new RegExp(`^${runDir}: ENOENT`));
  });

  it('-c FILE and --port are what the bundle records; the run dir listing shows sockets and symlinks', async () => {
    const app = join(root, 'ok');
    mkdirSync(app);
    const configFile = join(app, 'api.json');
    writeFileSync(configFile, JSON.stringify({ name: 'api', command: 'node server.js', port: 3000 }));
    const runDir = join(root, 'run-ok');
    mkdirSync(runDir, { mode: 0o700 });
    symlinkSync('/nonexistent', join(runDir, 'link'));
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(join(runDir, 'other.sock'), resolve));
    const bundle = await collectBundle({ cwd: root, env: { NAIJA_SUP_RUN_DIR: runDir }, configPath: configFile, port: 4123, report: report('api') });
    const config = JSON.parse(file(bundle, 'config.json')) as { config: { name: string; port: number }; file: string; sources: Record<string, { kind: string }> };
    expect(config).toMatchObject({ config: { name: 'api', port: 4123 }, file: configFile });
    expect(config.sources['port']?.kind).toBe('flag');
    const listing = file(bundle, 'run-dir.txt');
    expect(listing).toMatch(/^s0\d{3} +\d+ \S+ other\.sock$/m);
    expect(listing).toMatch(/^l0777 +\d+ \S+ link$/m);
  });
});
