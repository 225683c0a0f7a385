/**
 * `naija-sup doctor --bundle FILE` (issue 18): the archive holds doctor's JSON, the status, the
 * redacted config, the log tail, versions and the run dir listing, and none of the secrets planted
 * in the config, the app's environment, naija-sup's own environment or the server's log. The
 * archive is read back with the system's `tar`, an independent reader of what src/doctor/tar.ts
 * writes. Drives the built binary (`npm run build` first).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { scrub } from '../../src/doctor/bundle.js';
import { tar, tarGz } from '../../src/doctor/tar.js';
import { cliApp, endCliApps } from '../helpers/cli-app.js';
import { fixture } from '../helpers/processes.js';

afterEach(endCliApps);

const FILES = ['config.json', 'doctor.json', 'logs.txt', 'run-dir.txt', 'status.json', 'versions.json'];

/** Extracts `archive` with the system tar into a fresh folder; returns the bundle's folder. */
function extract(archive: string, into: string): string {
  mkdirSync(into);
  execFileSync('tar', ['-xzf', archive, '-C', into]);
  const [folder, ...more] = readdirSync(into);
  expect(more).toEqual([]);
  return join(into, folder as string);
}

describe('tar writer', () => {
  it('writes an archive the system tar lists and extracts byte for byte', () => {
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    const binary = Buffer.from([0, 1, 2, 255, 254, 10]);
    const big = 'x'.repeat(1500);
    writeFileSync(join(dir, 't.tar.gz'), tarGz([
      { name: 'b/empty.txt', content: '', mtime: 1_700_000_000 },
      { name: 'b/exact.txt', content: 'y'.repeat(512), mtime: 1_700_000_000 },
      { name: 'b/big.txt', content: big, mtime: 1_700_000_000 },
      { name: 'b/bin.dat', content: binary, mtime: 1_700_000_000, mode: 0o644 },
      { name: 'b/ünï.txt', content: 'ünïcode', mtime: 1_700_000_000 },
    ]));
    const listed = execFileSync('tar', ['-tvzf', join(dir, 't.tar.gz')], { encoding: 'utf8' });
    expect(listed).toMatch(/^-rw------- .* b\/empty\.txt$/m);
    expect(listed).toMatch(/^-rw-r--r-- .* b\/bin\.dat$/m);
    const out = extract(join(dir, 't.tar.gz'), join(dir, 'x'));
    expect(readFileSync(join(out, 'empty.txt'), 'utf8')).toBe('');
    expect(readFileSync(join(out, 'exact.txt'), 'utf8')).toBe('y'.repeat(512));
    expect(readFileSync(join(out, 'big.txt'), 'utf8')).toBe(big);
    expect(readFileSync(join(out, 'bin.dat')).equals(binary)).toBe(true);
    expect(readFileSync(join(out, 'ünï.txt'), 'utf8')).toBe('ünïcode');
    expect(statSync(join(out, 'big.txt')).mtimeMs).toBe(1_700_000_000_000);
    execFileSync('rm', ['-rf', dir]);
  });

  it('pads to 512-byte blocks and ends with two zero blocks', () => {
    const raw = tar([{ name: 'a', content: 'hi', mtime: 0 }]);
    expect(raw.length).toBe(512 * 4);
    expect(raw.subarray(1024).every((byte) => byte === 0)).toBe(true);
  });

  it('refuses a name ustar cannot hold without a prefix', () => {
    expect(() => tar([{ name: 'n'.repeat(101), content: '', mtime: 0 }])).toThrow(/over 100 bytes/);
  });
});

describe('scrub', () => {
  it('replaces each secret, also in its JSON-escaped form, longest first', () => {
    expect(scrub('a=pa"ss1234 b={"x":"pa\\"ss1234"} c=pa"ss12345', ['pa"ss12345', 'pa"ss1234'])).toBe(
      'a=[redacted] b={"x":"[redacted]"} c=[redacted]',
    );
  });
});

describe('naija-sup doctor --bundle', () => {
  const PLANTED = {
    DATABASE_PASSWORD: 'planted-db-password-7731',
    API_TOKEN: 'planted-api-token-0420',
    URL_PASSWORD: 'planted-url-pass-5150',
    SHELL_SECRET_KEY: 'planted-shell-key-9001',
  };

  it('on a running app: every part is there and no planted secret is, even one the server logged', async () => {
    const app = await cliApp({
      // The server prints its password to stderr, as a careless app might: the bundle must not carry it.
      command: ['sh', '-c', `echo "connecting with db password $DATABASE_PASSWORD and $API_TOKEN" >&2; exec "${process.execPath}" "${fixture('healthy-server.mjs')}"`],
      env: { DATABASE_PASSWORD: PLANTED.DATABASE_PASSWORD, API_TOKEN: PLANTED.API_TOKEN, PUBLIC_SETTING: 'visible-value' },
    });
    app.env['SHELL_SECRET_KEY'] = PLANTED.SHELL_SECRET_KEY; // naija-sup's own environment
    expect((await app.cli(['start', '-d'])).status).toBe(0);
    try {
      const run = await app.cli(['doctor', '--bundle', 'incident.tar.gz']);
      expect(run.stderr).toMatch(/^bundle written: incident\.tar\.gz \(.* KiB; doctor\.json, status\.json, config\.json, logs\.txt, versions\.json, run-dir\.txt\); 3 secret value\(s\) redacted/m);
      expect(statSync(join(app.cwd, 'incident.tar.gz')).mode & 0o777).toBe(0o600);

      const raw = gunzipSync(readFileSync(join(app.cwd, 'incident.tar.gz'))).toString('latin1');
      for (const secret of Object.values(PLANTED)) expect(raw).not.toContain(secret);

      const folder = extract(join(app.cwd, 'incident.tar.gz'), join(app.cwd, 'x'));
      expect(readdirSync(folder).sort()).toEqual(FILES);
      const read = (file: string): string => readFileSync(join(folder, file), 'utf8');
      // The log tail is there, with the secret the server printed replaced.
      expect(read('logs.txt')).toContain('connecting with db password [redacted] and [redacted]');
      const config = JSON.parse(read('config.json')) as { config: { env: Record<string, string>; name: string } };
      expect(config.config.env).toEqual({ DATABASE_PASSWORD: '[redacted]', API_TOKEN: '[redacted]', PUBLIC_SETTING: 'visible-value' });
      const status = JSON.parse(read('status.json')) as { name: string; state: string; instancePid: number };
      expect(status).toMatchObject({ name: 'cli-app', state: 'ready' });
      expect(status.instancePid).toBeGreaterThan(0);
      const doctor = JSON.parse(read('doctor.json')) as Array<{ id: string }>;
      expect(doctor.map((check) => check.id)).toContain('port');
      expect(JSON.parse(read('versions.json'))).toMatchObject({ node: process.version, platform: 'linux' });
      expect(read('run-dir.txt')).toMatch(/ cli-app\.log$/m);
    } finally {
      expect((await app.cli(['stop'])).status).toBe(0);
    }
  });

  it('with the app stopped: a URL password in dependsOn is redacted, the bundle still written', async () => {
    const app = await cliApp({
      dependsOn: [{ name: 'search', http: `http://admin:${PLANTED.URL_PASSWORD}@127.0.0.1:9/` }],
    });
    const run = await app.cli(['doctor', '--only', 'config', '--bundle', 'b.tar.gz']);
    expect(run.status).toBe(0);
    const raw = gunzipSync(readFileSync(join(app.cwd, 'b.tar.gz'))).toString('latin1');
    expect(raw).not.toContain(PLANTED.URL_PASSWORD);
    const folder = extract(join(app.cwd, 'b.tar.gz'), join(app.cwd, 'x'));
    expect(readFileSync(join(folder, 'config.json'), 'utf8')).toContain('http://[redacted]@127.0.0.1:9/');
    expect(JSON.parse(readFileSync(join(folder, 'status.json'), 'utf8'))).toMatchObject({ name: 'cli-app', state: 'not-running' });
  });

  it('never overwrites a file: exit 2, the file untouched', async () => {
    const app = await cliApp();
    writeFileSync(join(app.cwd, 'precious.txt'), 'keep me');
    const run = await app.cli(['doctor', '--only', 'config', '--bundle', 'precious.txt']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('naija-sup: --bundle: cannot write precious.txt: the file exists (E_USAGE)');
    expect(readFileSync(join(app.cwd, 'precious.txt'), 'utf8')).toBe('keep me');
  });
});
