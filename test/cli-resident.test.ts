/**
 * The resident supervisor of `start -d` runs with its memory bounded (issues 14, 19;
 * src/cli/resident.ts): V8 flags on its command line and glibc malloc settings in its environment,
 * while the server it supervises gets the environment the user gave, without either; and it starts
 * without NODE_EXTRA_CA_CERTS, which it hands to the server and reads itself for a webhook. Built binary
 * (`npm run build` first); ends with nothing running in the app's folder.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../src/control/protocol.js';
import { assertStoppedIn, cliApp, endCliApps, type CliApp } from './helpers/cli-app.js';
import { httpsReceiver } from './helpers/https-receiver.js';
import { fixture, waitFor } from './helpers/processes.js';

afterEach(endCliApps);

/** /proc/PID/environ as an object. */
function environOf(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

async function started(a: CliApp): Promise<StatusSnapshot> {
  const r = await a.cli(['start', '-d']);
  expect(r.status, r.stderr).toBe(0);
  const s = await a.cli(['status', '--json']);
  expect(s.status, s.stderr).toBe(0);
  return JSON.parse(s.stdout) as StatusSnapshot;
}

async function stopped(a: CliApp): Promise<void> {
  const r = await a.cli(['stop']);
  expect(r.status, r.stderr).toBe(0);
  await assertStoppedIn(a.cwd);
}

describe('the resident supervisor of start -d', () => {
  it('runs with the memory flags and glibc malloc settings; its server sees neither that nor the hand-over variables', async () => {
    const a = await cliApp();
    const status = await started(a);
    const cmdline = readFileSync(`/proc/${status.supervisorPid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toEqual(expect.arrayContaining(['--max-semi-space-size=1', '--max-old-space-size=256', '--v8-pool-size=1', '--no-opt', '--no-sparkplug']));
    expect(environOf(status.supervisorPid)).toMatchObject({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '131072' });
    expect(status.instancePid).not.toBeNull();
    const serverEnv = environOf(status.instancePid as number);
    expect(serverEnv['PATH']).toBe(a.env['PATH']);
    const handOver = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'NAIJA_SUP_ADDED_ENV', 'NAIJA_SUP_DETACHED', 'NAIJA_SUP_START_OPTIONS'];
    expect(Object.keys(serverEnv).filter((k) => handOver.includes(k))).toEqual([]);
    // status reports the supervisor's own memory, V8's heap within its RSS.
    const memory = status.supervisorMemory;
    expect(memory?.heapUsed).toBeGreaterThan(0);
    expect(memory?.rss).toBeGreaterThan(memory?.heapTotal ?? Infinity);
    await stopped(a);
  }, 60_000);

  it('keeps the user\'s own MALLOC_ARENA_MAX, for itself and for the server; in proxy mode it keeps the optimizing compiler', async () => {
    const a = await cliApp({ mode: 'proxy' });
    a.env['MALLOC_ARENA_MAX'] = '4';
    const status = await started(a);
    expect(status.mode).toBe('proxy');
    const cmdline = readFileSync(`/proc/${status.supervisorPid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain('--v8-pool-size=1');
    expect(cmdline).not.toContain('--no-opt');
    expect(cmdline).not.toContain('--no-sparkplug');
    expect(environOf(status.supervisorPid)['MALLOC_ARENA_MAX']).toBe('4');
    expect(environOf(status.instancePid as number)['MALLOC_ARENA_MAX']).toBe('4');
    expect(environOf(status.instancePid as number)['MALLOC_MMAP_THRESHOLD_']).toBeUndefined();
    await stopped(a);
  }, 60_000);

  it('starts without NODE_EXTRA_CA_CERTS, gives it to its server, and trusts it for an https webhook', async () => {
    // An https receiver that only the fixture's certificate makes trusted; a crash-loop alert at
    // the first crash (alerts.crashRate) is the webhook.
    const receiver = await httpsReceiver();
    try {
      const a = await cliApp({ alerts: { webhook: receiver.url, crashRate: 0.001 }, restart: { initialDelay: '0ms' } });
      a.env['NODE_EXTRA_CA_CERTS'] = fixture('tls/cert.pem');
      const status = await started(a);
      const supervisor = environOf(status.supervisorPid);
      expect(supervisor['NODE_EXTRA_CA_CERTS']).toBeUndefined();
      expect(supervisor['NAIJA_SUP_EXTRA_CA_CERTS']).toBe(fixture('tls/cert.pem'));
      const server = environOf(status.instancePid as number);
      expect(server['NODE_EXTRA_CA_CERTS']).toBe(fixture('tls/cert.pem'));
      expect(server['NAIJA_SUP_EXTRA_CA_CERTS']).toBeUndefined();
      process.kill(status.instancePid as number, 'SIGKILL');
      await waitFor(() => receiver.bodies.some((b) => b.includes('"crash-loop"')), { timeout: 15_000, message: 'no alert reached the https receiver (see the webhook\'s lastError in "status --json")' });
      await stopped(a);
    } finally {
      await receiver.close();
    }
  }, 60_000);

  it('holds NODE_EXTRA_CA_CERTS with a config file that is code too: the code reads it, and its https requests trust it', async () => {
    const receiver = await httpsReceiver();
    try {
      const a = await cliApp();
      a.env['NODE_EXTRA_CA_CERTS'] = fixture('tls/cert.pem');
      const json = JSON.parse(readFileSync(join(a.cwd, '.naija-suprc.json'), 'utf8')) as Record<string, unknown>;
      // fetch at load, from the supervisor's loader thread: only the fixture's certificate makes the receiver trusted.
      writeFileSync(join(a.cwd, 'naija-sup.config.mjs'), `let fetched;
try { fetched = String((await fetch(${JSON.stringify(receiver.url)})).status); } catch (e) { fetched = e.cause?.code ?? e.message; }
export default { ...${JSON.stringify(json)}, env: { SEEN_CA: process.env.NODE_EXTRA_CA_CERTS ?? 'unset', FETCHED: fetched } };
`);
      const r = await a.cli(['start', '-d', '-c', 'naija-sup.config.mjs']);
      expect(r.status, r.stderr).toBe(0);
      const status = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
      expect(environOf(status.supervisorPid)['NODE_EXTRA_CA_CERTS']).toBeUndefined();
      expect(environOf(status.supervisorPid)['NAIJA_SUP_EXTRA_CA_CERTS']).toBe(fixture('tls/cert.pem'));
      const server = environOf(status.instancePid as number);
      expect(server['SEEN_CA']).toBe(fixture('tls/cert.pem'));
      expect(server['FETCHED']).toBe('200');
      expect(server['NODE_EXTRA_CA_CERTS']).toBe(fixture('tls/cert.pem'));
      // The supervisor loaded it too (start -d loads it once more in the background): two GETs at least.
      expect(receiver.bodies.length).toBeGreaterThanOrEqual(2);
      await stopped(a);
    } finally {
      await receiver.close();
    }
  }, 60_000);
});
