/**
 * Issue 19: the resident supervisor holds no module it does not use after start-up. A real
 * `start -d` (the built CLI bundle) runs with a preload (test/fixtures/loaded-modules.mjs) that
 * lists every script its background supervisor parsed and every builtin it loaded; each bundle
 * chunk is mapped back to its src/ modules through the chunk's source map. After a stop, the list
 * is checked for what only other commands or the foreground use.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { assertAllGone, fixture, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { freePort } from '../helpers/supervise.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'naija-sup.js');
const dirs: string[] = [];

afterEach(async () => {
  try {
    await assertAllGone([...trackedPids.keys()], 15_000);
  } finally {
    killAllTracked();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
});

/** The src/ modules (relative to the repository) that a bundle chunk holds, from its source map. */
function sourcesOf(chunkPath: string): string[] {
  const map = JSON.parse(readFileSync(`${chunkPath}.map`, 'utf8')) as { sources: string[] };
  return map.sources.map((s) => relative(ROOT, resolve(dirname(chunkPath), s)));
}

describe('the background supervisor of start -d', () => {
  it('loads no CLI framework, config format, doctor, export or human-renderer code, and no node:v8', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'naija-sup-resident-modules-'));
    dirs.push(cwd);
    const listFile = join(cwd, 'loaded.json');
    writeFileSync(join(cwd, 'naija-sup.config.json'), JSON.stringify({
      name: 'resident-modules', command: [process.execPath, fixture('healthy-server.mjs')], port: await freePort(), health: { path: '/health' },
    }));
    const env = {
      PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: join(cwd, 'run'),
      NODE_OPTIONS: `--import ${fixture('loaded-modules.mjs')}`, LOADED_MODULES_FILE: listFile,
    };
    const cli = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => new Promise((done) => {
      execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
        done({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    const started = await cli(['start', '-d']);
    expect(started.status, started.stderr).toBe(0);
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as StatusSnapshot;
    for (const pid of [status.supervisorPid, ...(status.processes ?? []).map((p) => p.pid)]) track(pid);
    // A reload too: what the resident loads to reload is what it uses.
    expect((await cli(['reload'])).status).toBe(0);
    expect((await cli(['stop'])).status).toBe(0);
    await waitFor(() => existsSync(listFile), { timeout: 10_000, message: 'the background supervisor wrote no module list at its exit' });

    const { scripts, builtins } = JSON.parse(readFileSync(listFile, 'utf8')) as { scripts: string[]; builtins: string[] };
    const files = scripts.map((url) => fileURLToPath(url));
    const chunks = files.filter((f) => f.startsWith(join(ROOT, 'dist', 'bundle') + '/'));
    // It ran from the bundle, and nothing from tsc's dist/ or from node_modules (commander,
    // cosmiconfig, yaml, execa, chalk, ora, prom-client, find-process, get-port).
    expect(chunks.length).toBeGreaterThan(0);
    expect(files.filter((f) => f.includes('/node_modules/'))).toEqual([]);
    expect(files.filter((f) => f.startsWith(join(ROOT, 'dist') + '/') && !chunks.includes(f))).toEqual([]);

    const modules = chunks.flatMap(sourcesOf);
    expect(modules).toContain('src/app/supervise.ts');
    const unused = modules.filter((m) =>
      /^src\/(doctor|export|import)\//.test(m) ||
      ['src/cli/event-renderer.ts', 'src/cli/detach.ts', 'src/config/json-schema.ts', 'src/config/reference.ts', 'src/cli/commands/status.ts', 'src/cli/commands/stop.ts'].includes(m));
    expect(unused).toEqual([]);
    // Builtins it has no use for once started: node:v8 (the foreground's young-generation bound),
    // node:dns (a host name to resolve), node:module (a TypeScript config), node:crypto.
    expect(builtins.filter((b) => ['v8', 'dns/promises', 'module', 'crypto'].includes(b))).toEqual([]);
  }, 90_000);
});
