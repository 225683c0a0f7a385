import { describe, expect, it } from 'vitest';
import { backgroundArgs, configArg, supervisorError } from '../../src/cli/detach.js';
import { instanceEnv, supervisorEnv, supervisorNodeFlags } from '../../src/cli/resident.js';
import { withHeldCa } from '../../src/process/resident-flags.js';

describe('the arguments of a detached start', () => {
  it('are those of start minus -d/--detach, and never touch the server command after --', () => {
    expect(backgroundArgs(['start', '-d', '--port', '3000'])).toEqual(['start', '--port', '3000']);
    expect(backgroundArgs(['--detach', '-c', 'x.json'])).toEqual(['start', '-c', 'x.json']);
    expect(backgroundArgs(['start', '-d', '--', 'node', 'server.js', '-d', '--detach'])).toEqual(['start', '--', 'node', 'server.js', '-d', '--detach']);
  });

  it('name the config file however it was given', () => {
    expect(configArg(['start', '-c', 'a.json'])).toBe('a.json');
    expect(configArg(['start', '--config', 'b.json', '-d'])).toBe('b.json');
    expect(configArg(['start', '--config=c.json'])).toBe('c.json');
    expect(configArg(['start', '-cd.json'])).toBe('d.json');
    expect(configArg(['start', '--', 'node', '-c', 'nope.json'])).toBeUndefined();
    expect(configArg(['start', '-d'])).toBeUndefined();
  });

  it('give the resident supervisor small semi-spaces, a bounded old space, one V8 worker and neither the optimizing nor the baseline compiler, unless NODE_OPTIONS chose its own', () => {
    const all = ['--max-semi-space-size=1', '--max-old-space-size=256', '--v8-pool-size=1', '--no-opt', '--no-sparkplug'];
    expect(supervisorNodeFlags({}, 'direct')).toEqual(all);
    expect(supervisorNodeFlags({ NODE_OPTIONS: '--enable-source-maps' }, 'handoff')).toEqual(all);
    expect(supervisorNodeFlags({ NODE_OPTIONS: '--max-semi-space-size=8' }, 'direct')).toEqual(['--max-old-space-size=256', '--v8-pool-size=1', '--no-opt', '--no-sparkplug']);
    expect(supervisorNodeFlags({ NODE_OPTIONS: '--v8-pool-size=4' }, 'direct')).toEqual(['--max-semi-space-size=1', '--max-old-space-size=256', '--no-opt', '--no-sparkplug']);
    expect(supervisorNodeFlags({ NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=64 --v8-pool-size=2' }, 'direct')).toEqual(['--no-opt', '--no-sparkplug']);
  });

  it('keep the optimizing compiler and give a larger young generation in proxy mode, where every request runs through the supervisor', () => {
    expect(supervisorNodeFlags({}, 'proxy')).toEqual(['--max-semi-space-size=4', '--max-old-space-size=256', '--v8-pool-size=1']);
    expect(supervisorNodeFlags({ NODE_OPTIONS: '--max-semi-space-size=2' }, 'proxy')).toEqual(['--max-old-space-size=256', '--v8-pool-size=1']);
  });
});

describe('the resident supervisor\'s environment', () => {
  it('gets glibc malloc settings (2 arenas, 64 KiB mmap threshold), noted as added, which the server\'s environment does not inherit', () => {
    const env = supervisorEnv({ PATH: '/bin', API_KEY: 'k' });
    expect(env).toEqual({
      PATH: '/bin', API_KEY: 'k',
      MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '131072',
      NAIJA_SUP_ADDED_ENV: 'MALLOC_ARENA_MAX,MALLOC_MMAP_THRESHOLD_,MALLOC_TRIM_THRESHOLD_',
    });
    expect(instanceEnv({ ...env, NAIJA_SUP_DETACHED: '1', NAIJA_SUP_START_OPTIONS: '{}' })).toEqual({ PATH: '/bin', API_KEY: 'k' });
  });

  it('keeps a malloc setting the user made, for both, and adds only the others', () => {
    const env = supervisorEnv({ PATH: '/bin', MALLOC_ARENA_MAX: '8' });
    expect(env).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '8', MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '131072', NAIJA_SUP_ADDED_ENV: 'MALLOC_MMAP_THRESHOLD_,MALLOC_TRIM_THRESHOLD_' });
    expect(instanceEnv(env)).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '8' });
    const all = { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '1', MALLOC_TRIM_THRESHOLD_: '1' };
    expect(supervisorEnv(all)).toEqual(all);
  });

  it('an exported unit\'s fixed environment overridden by the platform (EnvironmentFile=, docker run -e) keeps the user\'s value for the server', () => {
    const exported = { ...supervisorEnv({}), PATH: '/bin', MALLOC_ARENA_MAX: '4' };
    expect(instanceEnv(exported)).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '4' });
    // A name we do not set ourselves is always taken out.
    expect(instanceEnv({ PATH: '/bin', OTHER: 'x', NAIJA_SUP_ADDED_ENV: 'OTHER' })).toEqual({ PATH: '/bin' });
  });

  it('starts without NODE_EXTRA_CA_CERTS (node parses that file at every start-up) and hands it back to the server', () => {
    const env = supervisorEnv({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/ca.pem', MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '1', MALLOC_TRIM_THRESHOLD_: '1' });
    expect(env['NODE_EXTRA_CA_CERTS']).toBeUndefined();
    expect(env['NAIJA_SUP_EXTRA_CA_CERTS']).toBe('/etc/ca.pem');
    expect(instanceEnv(env)).toEqual({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/ca.pem', MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '1', MALLOC_TRIM_THRESHOLD_: '1' });
    // An empty value is a value: handed back as it was.
    expect(instanceEnv(supervisorEnv({ NODE_EXTRA_CA_CERTS: '' }))['NODE_EXTRA_CA_CERTS']).toBe('');
    expect(withHeldCa({ PATH: '/bin' })).toEqual({ PATH: '/bin' });
    expect(withHeldCa({ NAIJA_SUP_EXTRA_CA_CERTS: '/etc/ca.pem' })).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/ca.pem' });
    // A value set again later (an exported unit's platform) is the server's.
    expect(instanceEnv({ NAIJA_SUP_EXTRA_CA_CERTS: '/etc/ca.pem', NODE_EXTRA_CA_CERTS: '/other.pem' })).toEqual({ NODE_EXTRA_CA_CERTS: '/other.pem' });
  });

  it('keeps NODE_EXTRA_CA_CERTS when another CA store is asked for (a webhook could not rebuild it)', () => {
    for (const asked of [{ NODE_OPTIONS: '--use-openssl-ca' }, { NODE_OPTIONS: '--max-old-space-size=100 --use-system-ca' }, { NODE_USE_SYSTEM_CA: '1' }]) {
      const env = supervisorEnv({ ...asked, NODE_EXTRA_CA_CERTS: '/etc/ca.pem' });
      expect(env['NODE_EXTRA_CA_CERTS']).toBe('/etc/ca.pem');
      expect(env['NAIJA_SUP_EXTRA_CA_CERTS']).toBeUndefined();
    }
    // Held already (by the launcher, for `start -d`): it stays held.
    expect(supervisorEnv({ NAIJA_SUP_EXTRA_CA_CERTS: '/etc/ca.pem' })).toMatchObject({ NAIJA_SUP_EXTRA_CA_CERTS: '/etc/ca.pem' });
    expect(supervisorEnv({ NAIJA_SUP_EXTRA_CA_CERTS: '/etc/ca.pem' })['NODE_EXTRA_CA_CERTS']).toBeUndefined();
    expect(supervisorEnv({ NODE_USE_SYSTEM_CA: '0', NODE_EXTRA_CA_CERTS: '/etc/ca.pem' })['NAIJA_SUP_EXTRA_CA_CERTS']).toBe('/etc/ca.pem');
    expect(supervisorEnv({})['NAIJA_SUP_EXTRA_CA_CERTS']).toBeUndefined();
  });

  it('does not change the environment it is given', () => {
    const given = { PATH: '/bin', NAIJA_SUP_DETACHED: '1', NODE_EXTRA_CA_CERTS: '/etc/ca.pem' };
    supervisorEnv(given);
    instanceEnv(given);
    expect(given).toEqual({ PATH: '/bin', NAIJA_SUP_DETACHED: '1', NODE_EXTRA_CA_CERTS: '/etc/ca.pem' });
    const held = { NAIJA_SUP_EXTRA_CA_CERTS: '/etc/ca.pem' };
    instanceEnv(held);
    expect(held).toEqual({ NAIJA_SUP_EXTRA_CA_CERTS: '/etc/ca.pem' });
  });
});

describe("the background supervisor's error line, as start -d reads it back", () => {
  const line = (error: Record<string, unknown>): string => JSON.stringify({ time: '2026-12-05T09:00:00.000Z', event: 'error', error });
  it('is the last error line of the output, with its fix and exit status', () => {
    const lines = ['naija-sup: port 8000 is in use (E_PORT_IN_USE)', line({ code: 'E_CONFIG_INVALID', message: 'old', details: [], exitStatus: 2 }), line({ code: 'E_PORT_IN_USE', message: 'port 8000 is in use', details: ['pid 7', 3], fix: 'use --port', exitStatus: 1 })];
    expect(supervisorError(lines)).toEqual({ code: 'E_PORT_IN_USE', message: 'port 8000 is in use', details: ['pid 7'], fix: 'use --port', exitStatus: 1 });
  });

  it('is nothing for a line it cannot trust, and an exit status a failure cannot have becomes 1', () => {
    expect(supervisorError(['a crash', '  at x (y.js:1:1)'])).toBeNull();
    expect(supervisorError([line({ code: 'toString', message: 'x' })])).toBeNull();
    expect(supervisorError([line({ code: 'E_NOPE', message: 'x' })])).toBeNull();
    expect(supervisorError([line({ code: 'E_PORT_IN_USE' })])).toBeNull();
    expect(supervisorError(['{"time":"x","event":"error",']) ).toBeNull();
    for (const exitStatus of [1.5, 256, 0, -1, '2', null]) {
      expect(supervisorError([line({ code: 'E_PORT_IN_USE', message: 'x', exitStatus })])?.exitStatus, String(exitStatus)).toBe(1);
    }
  });
});
