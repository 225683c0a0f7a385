/**
 * Issue 19's fast paths are still correct paths (no timing is asserted here: bench/vs-pm2.mjs
 * measures):
 * - the quick startup probe schedule reports a server ready exactly once, and never before its
 *   probe passed, whenever it becomes ready;
 * - a server that opens its port before it is ready (503 first) is not reported ready early;
 * - the event-driven `stop` (built binary) never returns while a process of the instance lives,
 *   and returns with the name released: a `start` right after never meets the old supervisor
 *   (which may still be closing its log and exiting).
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { assertAllGone, fixture, killAllTracked, survivors, track, trackedPids, waitFor } from '../helpers/processes.js';
import { freePort, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';

const BIN = fileURLToPath(new URL('../../bin/naija-sup.js', import.meta.url));
const dirs: string[] = [];
const running: InProcessSupervisor[] = [];

afterEach(async () => {
  // A test that failed midway leaves its supervisor running: stopped like a user would.
  for (const s of running) s.signal('SIGTERM');
  await Promise.race([Promise.all(running.map((s) => s.done)), new Promise((resolve) => { setTimeout(resolve, 15_000).unref(); })]);
  try {
    await assertAllGone([...trackedPids.keys()], 15_000);
  } finally {
    killAllTracked();
    for (const s of running.splice(0)) s.cleanup();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
});

interface LoggedEvent { event: string; ok?: boolean; detail?: string }

/** The JSON event lines printed so far. */
function events(sup: InProcessSupervisor): LoggedEvent[] {
  return sup.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LoggedEvent);
}

describe('the quick startup probe', () => {
  it('reports a server that becomes ready at a random moment ready exactly once, never before its probe passed', async () => {
    for (let round = 0; round < 3; round += 1) {
      const port = await freePort();
      const tmp = mkdtempSync(join(tmpdir(), 'naija-sup-fast-'));
      dirs.push(tmp);
      const gate = join(tmp, 'gate');
      const sup = superviseInProcess(
        ['--port', String(port), '--', process.execPath, fixture('healthy-server.mjs')],
        { NAIJA_SUP_LOG_FORMAT: 'json', NAIJA_SUP_HEALTH_PATH: '/health', NAIJA_SUP_HEALTH_INTERVAL: '30ms', HEALTH_GATE: gate },
      );
      running.push(sup);
      // A random moment: before the server listens, while the probe schedule is still quick,
      // or once it has slowed to health.interval.
      const moment = Math.floor(Math.random() * 400);
      await new Promise((resolve) => setTimeout(resolve, moment));
      // Synchronous from here to the gate's creation: no event can slip in between.
      const before = events(sup).filter((e) => e.event === 'ready').length;
      writeFileSync(gate, '');
      expect(before, `round ${round}: ready before the gate opened (${moment} ms)`).toBe(0);
      // The server answers 200 only from now on: `ready` (the startup probe's pass) follows.
      await sup.waitFor(/"event":"ready"/, 20_000);
      sup.signal('SIGTERM');
      expect(await sup.done).toBe(0);
      expect(events(sup).filter((e) => e.event === 'ready'), `round ${round}: ready reported more than once`).toHaveLength(1);
    }
  });

  it('does not report a server that answers 503 on an open port ready before it answers 200', async () => {
    const port = await freePort();
    const tmp = mkdtempSync(join(tmpdir(), 'naija-sup-fast-'));
    dirs.push(tmp);
    const gate = join(tmp, 'gate');
    const sup = superviseInProcess(
      ['--port', String(port), '--', process.execPath, fixture('healthy-server.mjs')],
      { NAIJA_SUP_LOG_FORMAT: 'json', NAIJA_SUP_HEALTH_PATH: '/health', NAIJA_SUP_HEALTH_INTERVAL: '30ms', HEALTH_GATE: gate },
    );
    running.push(sup);
    // The port is open and the probe has seen a 503 at least twice: it is being asked, not skipped.
    await waitFor(() => events(sup).filter((e) => e.event === 'probe' && e.ok === false && /HTTP 503/.test(e.detail ?? '')).length >= 2, { timeout: 20_000, message: () => sup.stdout() });
    expect(events(sup).some((e) => e.event === 'ready')).toBe(false);
    writeFileSync(gate, '');
    await sup.waitFor(/"event":"ready"/, 20_000);
    sup.signal('SIGTERM');
    expect(await sup.done).toBe(0);
  });
});

describe('the event-driven stop (built binary)', () => {
  it('never returns while a process of the instance lives (a worker outliving its parent by the grace period), and a start right after gets the name', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'naija-sup-fast-stop-'));
    dirs.push(cwd);
    const port = await freePort();
    writeFileSync(join(cwd, 'naija-sup.config.json'), JSON.stringify({
      name: 'fast-stop',
      command: [process.execPath, fixture('forks-worker.mjs')],
      port,
      health: { type: 'tcp' },
      // The parent exits on SIGTERM at once; its worker ignores SIGTERM and lives until the
      // supervisor's SIGKILL one grace period later.
      shutdown: { timeout: '1s' },
      env: { WORKER_IGNORE_SIGTERM: '1' },
    }));
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: join(cwd, 'run') };
    const cli = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    const supervisors: number[] = [];
    // Each round's `start -d` comes right after the previous round's stop returned.
    for (let round = 0; round < 3; round += 1) {
      const started = await cli(['start', '-d']);
      expect(started.status, `round ${round}: ${started.stderr}`).toBe(0);
      // Round 1 names the app: status and stop run from the CommonJS quick bundle; the others
      // read the config, from the ESM bundle.
      const named = round === 1 ? ['--name', 'fast-stop'] : [];
      const status = JSON.parse((await cli(['status', '--json', ...named])).stdout) as StatusSnapshot;
      const pids = (status.processes ?? []).map((p) => p.pid);
      for (const pid of [status.supervisorPid, ...pids]) track(pid);
      supervisors.push(status.supervisorPid);
      // Two processes of the instance: the parent and its worker.
      expect(pids.length).toBeGreaterThanOrEqual(2);
      const stopped = await cli(['stop', ...named]);
      expect(stopped.status, stopped.stderr).toBe(0);
      // At the moment stop returned, not one of them may be running.
      expect(survivors(pids)).toEqual([]);
    }
    // Each supervisor ends on its own once it has let go of the name.
    await assertAllGone(supervisors, 10_000);
  });
});

describe('the CommonJS quick bundle (built binary)', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));

  it('holds the quick commands and no config loader, commander or npm package', () => {
    const map = JSON.parse(readFileSync(join(root, 'dist', 'quick', 'run.cjs.map'), 'utf8')) as { sources: string[] };
    const sources = map.sources.map((s) => s.replace(/^(\.\.\/)+/, ''));
    expect(sources).toEqual(expect.arrayContaining(['src/cli/commands/status.ts', 'src/cli/commands/stop.ts', 'src/cli/commands/probe.ts']));
    expect(sources.filter((s) => s.startsWith('src/config/') && s !== 'src/config/app-name.ts' && !/\/(duration|redact)\.ts$/.test(s))).toEqual([]);
    expect(sources.filter((s) => s.includes('node_modules'))).toEqual([]);
    expect(readFileSync(join(root, 'dist', 'quick', 'run.cjs'), 'utf8')).not.toMatch(/require\("(commander|cosmiconfig|yaml|chalk|ora)"\)/);
  });

  it('is optional: without it and without the start bundle (a build from before them), every command runs from the ESM bundle', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'naija-sup-no-quick-'));
    dirs.push(copy);
    mkdirSync(join(copy, 'bin'));
    mkdirSync(join(copy, 'dist'));
    for (const file of ['bin/naija-sup.js', 'bin/package.json', 'package.json']) copyFileSync(join(root, file), join(copy, file));
    symlinkSync(join(root, 'dist', 'bundle'), join(copy, 'dist', 'bundle'));
    // A code cache left without its start bundle (a broken install) changes nothing.
    mkdirSync(join(copy, 'dist', 'start'));
    writeFileSync(join(copy, 'dist', 'start', 'main.cjs.cache'), 'a cache without its bundle');
    const run = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => new Promise((resolve) => {
      execFile(process.execPath, [join(copy, 'bin', 'naija-sup.js'), ...args], { cwd: copy, env: { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: join(copy, 'run') }, encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(await run(['--version'])).toMatchObject({ status: 0, stdout: `${version}\n` });
    expect(await run(['status', '--name', 'nothing-here'])).toMatchObject({ status: 3, stdout: expect.stringMatching(/nothing-here: not running/) as string });
    // A quick bundle without its run.cjs (a broken install): the quick form runs as any command does.
    mkdirSync(join(copy, 'dist', 'quick'));
    copyFileSync(join(root, 'dist', 'quick', 'forms.cjs'), join(copy, 'dist', 'quick', 'forms.cjs'));
    expect(await run(['status', '--name', 'nothing-here'])).toMatchObject({ status: 3, stdout: expect.stringMatching(/nothing-here: not running/) as string });
    // Not built at all: a message with a fix and E_INTERNAL's status, not a stack trace.
    rmSync(join(copy, 'dist', 'bundle'));
    const unbuilt = await run(['ls']);
    expect(unbuilt.status).toBe(70);
    expect(unbuilt.stderr).toBe('naija-sup: its CLI bundle (dist/bundle/main.js) is missing (E_INTERNAL)\n  fix: run "npm run build" in the package\'s folder, or reinstall naija-sup\n');
  });

  it('answers as the full path does: --version, and status of a running app, by name', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'naija-sup-quick-'));
    dirs.push(cwd);
    const port = await freePort();
    writeFileSync(join(cwd, 'naija-sup.config.json'), JSON.stringify({ name: 'quick', command: [process.execPath, fixture('healthy-server.mjs')], port, health: { type: 'tcp' } }));
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: join(cwd, 'run') };
    const cli = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect((await cli(['--version'])).stdout).toBe(`${version}\n`);
    // `-v --version` is not a quick form: commander prints the same.
    expect((await cli(['-v', '--version'])).stdout).toBe(`${version}\n`);

    expect((await cli(['start', '-d'])).status).toBe(0);
    // The quick form and commander's (`--name=`) of the same question, in turn.
    const quick = await cli(['status', '--name', 'quick', '--json']);
    const full = await cli(['status', '--name=quick', '--json']);
    expect(quick.status, quick.stderr).toBe(0);
    expect(full.status, full.stderr).toBe(0);
    const a = JSON.parse(quick.stdout) as StatusSnapshot;
    const b = JSON.parse(full.stdout) as StatusSnapshot;
    for (const pid of [a.supervisorPid, ...(a.processes ?? []).map((p) => p.pid)]) track(pid);
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    expect({ name: a.name, state: a.state, sup: a.supervisorPid, pid: a.instancePid }).toEqual({ name: b.name, state: b.state, sup: b.supervisorPid, pid: b.instancePid });
    // The human table too, figures aside (uptimes, ages and CPU move between the two runs), their
    // units too: an uptime of 980 ms reads "980 ms", one of 1.2 s "1.2 s" (formatDuration).
    const masked = (text: string): string => text.replace(/\d+(\.\d+)?( ?(ms|s|m|h|d)\b)?/g, '#');
    expect(masked((await cli(['status', '--name', 'quick'])).stdout)).toBe(masked((await cli(['status', '--name=quick'])).stdout));

    const stopped = await cli(['stop', '--name', 'quick']);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/^quick: stopped \(instance pid \d+ gracefully/);
    const after = await cli(['status', '--name', 'quick']);
    expect(after.status).toBe(3);
    expect(after.stdout).toMatch(/quick: not running/);
    await assertAllGone([a.supervisorPid], 10_000);
  });
});

describe('the start bundle (built binary)', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));

  /** Runs the CLI with a preload that writes, at exit, which CommonJS files of dist/ it loaded. */
  const loadedBy = (args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; loaded: string[] }> => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-start-bundle-'));
    dirs.push(dir);
    const preload = join(dir, 'preload.cjs');
    const list = join(dir, 'loaded.json');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(Object.keys(require.cache))));\n`);
    return new Promise((resolve) => {
      execFile(process.execPath, ['--require', preload, BIN, ...args], { cwd: dir, env: { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: join(dir, 'run'), ...env }, encoding: 'utf8' }, (error) => {
        const loaded = (JSON.parse(readFileSync(list, 'utf8')) as string[]).map((f) => f.slice(root.length)).filter((f) => f.startsWith('dist/'));
        resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, loaded });
      });
    });
  };

  it('runs every command that is not quick; the background supervisor of start -d runs from its own bundle', async () => {
    expect(await loadedBy(['ls'], {})).toEqual({ status: 0, loaded: ['dist/quick/forms.cjs', 'dist/start/main.cjs'] });
    // How bin/naija-sup.js tells the background supervisor (src/cli/detach.ts sets it); that one's
    // modules, as loaded, are checked by test/e2e/resident-modules.test.ts. Without the options
    // `start -d` hands over (here: run by hand, and not even a start) the resident bundle declines,
    // and the whole CLI (the ESM chunks) runs the command.
    expect(await loadedBy(['ls'], { NAIJA_SUP_DETACHED: '1' })).toEqual({ status: 0, loaded: ['dist/quick/forms.cjs', 'dist/resident/main.cjs'] });
  });

  it('compiles the bundle a command runs from its code cache, but under NODE_V8_COVERAGE, whose block counts V8 does not keep for cached code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-compiled-'));
    dirs.push(dir);
    const preload = join(dir, 'preload.cjs');
    const list = join(dir, 'compiled.json');
    // Every vm.Script the bin makes: its file, and whether V8 took its code from the cache.
    writeFileSync(preload, `const vm = require('node:vm');
const seen = [];
const Script = vm.Script;
vm.Script = class extends Script { constructor(source, options) { super(source, options); seen.push({ file: options.filename.slice(${JSON.stringify(root.length)}), cached: this.cachedDataRejected === false }); } };
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(seen)));
`);
    const compiled = (args: string[], coverage: string): Promise<{ status: number; seen: unknown }> => new Promise((resolve) => {
      execFile(process.execPath, ['--require', preload, BIN, ...args], { cwd: dir, env: { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: join(dir, 'run'), NODE_V8_COVERAGE: coverage } }, (error) => {
        resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, seen: JSON.parse(readFileSync(list, 'utf8')) });
      });
    });
    // An empty NODE_V8_COVERAGE is no coverage, for Node and for the bin (and test/helpers/coverage-env.ts adds none).
    expect(await compiled(['ls'], '')).toEqual({ status: 0, seen: [{ file: 'dist/start/main.cjs', cached: true }] });
    expect(await compiled(['status', '--name', 'nothing-here'], '')).toEqual({ status: 3, seen: [{ file: 'dist/quick/run.cjs', cached: true }] });
    expect(await compiled(['ls'], join(dir, 'coverage'))).toEqual({ status: 0, seen: [] });
  });

  it('the background supervisor compiles its bundle from the cache trained under its flags: proxy mode, whose flags differ, from its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-resident-cache-'));
    dirs.push(dir);
    const preload = join(dir, 'preload.cjs');
    const list = join(dir, 'compiled.json');
    // In the background supervisor only: every vm.Script the bin makes, and whether V8 took its code from the cache.
    writeFileSync(preload, `if (process.env.NAIJA_SUP_DETACHED === '1') {
const vm = require('node:vm');
const seen = [];
const Script = vm.Script;
vm.Script = class extends Script { constructor(source, options) { super(source, options); seen.push({ file: options.filename.slice(${JSON.stringify(root.length)}), cached: this.cachedDataRejected === false }); } };
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(seen)));
}
`);
    writeFileSync(join(dir, 'server.cjs'), "const s = require('node:http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');\nprocess.on('SIGTERM', () => s.close(() => process.exit(0)) && s.closeIdleConnections());\n");
    const env = { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: join(dir, 'run'), NODE_V8_COVERAGE: '', NODE_OPTIONS: `--require ${preload}` };
    const cli = (args: string[]): Promise<number> => new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { cwd: dir, env, encoding: 'utf8' }, (error) => resolve(error === null ? 0 : typeof error.code === 'number' ? error.code : -1));
    });
    const compiledIn = async (mode: string): Promise<unknown> => {
      rmSync(list, { force: true });
      writeFileSync(join(dir, 'naija-sup.config.json'), JSON.stringify({ name: 'resident-cache', command: [process.execPath, 'server.cjs'], port: await freePort(), health: { path: '/' }, mode }));
      expect(await cli(['start', '-d'])).toBe(0);
      const status = JSON.parse(execFileSync(process.execPath, [BIN, 'status', '--name', 'resident-cache', '--json'], { cwd: dir, env, encoding: 'utf8' })) as StatusSnapshot;
      for (const pid of [status.supervisorPid, ...(status.processes ?? []).map((p) => p.pid)]) track(pid);
      expect(await cli(['stop', '--name', 'resident-cache'])).toBe(0);
      return waitFor(() => JSON.parse(readFileSync(list, 'utf8')) as unknown, { timeout: 10_000, message: 'the background supervisor wrote no list at its exit' });
    };
    expect(await compiledIn('direct')).toEqual([{ file: 'dist/resident/main.cjs', cached: true }]);
    expect(await compiledIn('proxy')).toEqual([{ file: 'dist/resident/main.cjs', cached: true }]);
  }, 60_000);

  it('is one CommonJS file of the whole CLI; of npm packages it holds only chalk, an ES module it imports statically', () => {
    const map = JSON.parse(readFileSync(join(root, 'dist', 'start', 'main.cjs.map'), 'utf8')) as { sources: string[] };
    const sources = map.sources.map((s) => s.replace(/^(\.\.\/)+/, ''));
    expect(sources).toEqual(expect.arrayContaining(['src/cli/main.ts', 'src/app/supervise.ts', 'src/cli/commands/doctor.ts']));
    expect(new Set(sources.filter((s) => s.includes('node_modules')).map((s) => s.split('/')[1]))).toEqual(new Set(['chalk']));
  });

  it('compiles from a V8 code cache this Node accepts, with every function in it; a cache it rejects costs only the compile', async () => {
    const file = join(root, 'dist', 'start', 'main.cjs');
    const accepted = (cache: string, bundle = file): string => execFileSync(process.execPath, ['-e', `
      const { Script } = require('node:vm'); const { readFileSync } = require('node:fs');
      const script = new Script(require('node:module').wrap(readFileSync(${JSON.stringify(bundle)}, 'utf8')), { filename: ${JSON.stringify(bundle)}, cachedData: readFileSync(${JSON.stringify(cache)}) });
      process.stdout.write(script.cachedDataRejected ? 'rejected' : 'accepted');`], { encoding: 'utf8' });
    expect(accepted(`${file}.cache`)).toBe('accepted');
    const quick = join(root, 'dist', 'quick', 'run.cjs');
    expect(accepted(`${quick}.cache`, quick)).toBe('accepted');
    // Each holds compiled functions, not only the top level (scripts/bundle.mjs): the start
    // bundle's what its training run of `start` ran, the quick bundle's every function. Either is
    // well over twice the size of a cache made right after compiling, which holds the top level.
    const topLevelOnly = (bundle: string): number => Number(execFileSync(process.execPath, ['-e', `
      const script = new (require('node:vm').Script)(require('node:module').wrap(require('node:fs').readFileSync(${JSON.stringify(bundle)}, 'utf8')), { filename: ${JSON.stringify(bundle)} });
      process.stdout.write(String(script.createCachedData().length));`], { encoding: 'utf8' }));
    for (const bundle of [file, quick]) expect(statSync(`${bundle}.cache`).size).toBeGreaterThan(2 * topLevelOnly(bundle));

    // A copy of the package whose cache V8 rejects (as another Node version would): it still runs,
    // packages imported through the bin's door included (commander, for `config --help`).
    const copy = mkdtempSync(join(tmpdir(), 'naija-sup-stale-cache-'));
    dirs.push(copy);
    mkdirSync(join(copy, 'bin'));
    mkdirSync(join(copy, 'dist', 'start'), { recursive: true });
    for (const f of ['bin/naija-sup.js', 'bin/package.json', 'package.json', 'dist/start/main.cjs']) copyFileSync(join(root, f), join(copy, f));
    writeFileSync(join(copy, 'dist', 'start', 'main.cjs.cache'), 'not a code cache');
    expect(accepted(join(copy, 'dist', 'start', 'main.cjs.cache'))).toBe('rejected');
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    const help = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(copy, 'bin', 'naija-sup.js'), 'config', '--help'], { cwd: copy, env: { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: join(copy, 'run') }, encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    expect(help).toMatchObject({ status: 0, stderr: '', stdout: expect.stringMatching(/^Usage: naija-sup config/) as string });
  });

  it('is required as it is, without the cache, under --enable-source-maps: stack traces then name src/', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-source-maps-'));
    dirs.push(dir);
    const preload = join(dir, 'preload.cjs');
    // A stack trace made inside the bundle (run() given no argv), once the command is done.
    writeFileSync(preload, `let once = false;
process.on('beforeExit', () => {
  if (once) return;
  once = true;
  require.cache[${JSON.stringify(join(root, 'dist', 'start', 'main.cjs'))}].exports.run(null).catch((e) => require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'frame'))}, String(e.stack)));
});
`);
    const status = await new Promise<number>((resolve) => {
      execFile(process.execPath, ['--enable-source-maps', '--require', preload, BIN, 'ls'], { cwd: dir, env: { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: join(dir, 'run') } }, (error) => resolve(error === null ? 0 : 1));
    });
    expect(status).toBe(0);
    expect(readFileSync(join(dir, 'frame'), 'utf8')).toMatch(/src\/cli\/main\.ts:\d+/);
  });

  it('runs doctor on a Node without require() of ES modules (no ES-only package is required)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-no-require-esm-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'naija-sup.config.json'), JSON.stringify({ name: 'no-require-esm', command: ['node', 'server.js'], port: await freePort() }));
    const doctor = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--no-experimental-require-module', BIN, 'doctor', '--only', 'runtime', 'port'], { cwd: dir, env: { PATH: process.env['PATH'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: join(dir, 'run') }, encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    expect(doctor.stderr).toBe('');
    expect(doctor.stdout).toMatch(/✔ runtime .*\n✔ port .* is free\n/);
    expect(doctor.status).toBe(0);
  });
});

