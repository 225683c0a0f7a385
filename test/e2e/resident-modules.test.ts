/**
 * Issue 19: the resident supervisor holds no module it does not use after start-up. A real
 * `start -d` (the built CLI bundle) runs with a preload (test/fixtures/loaded-modules.mjs) that
 * lists every script its background supervisor parsed and every builtin it loaded; its bundle
 * (dist/resident/main.cjs, src/cli/resident-main.ts) is mapped back to its src/ modules through
 * the bundle's source map. After a stop, the list is checked for what only other commands or the
 * foreground use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { cliApp, endCliApps } from '../helpers/cli-app.js';
import { fixture, track, waitFor } from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

afterEach(endCliApps);

/** The src/ modules (relative to the repository) that a bundle chunk holds, from its source map. */
function sourcesOf(chunkPath: string): string[] {
  const map = JSON.parse(readFileSync(`${chunkPath}.map`, 'utf8')) as { sources: string[] };
  return map.sources.map((s) => relative(ROOT, resolve(dirname(chunkPath), s)));
}

describe('the background supervisor of start -d', () => {
  it('runs from its own bundle: no CLI framework, config format, doctor, export or start -d code, no node:v8 or node:http', async () => {
    const { cwd, env, cli } = await cliApp({ name: 'resident-modules' });
    const listFile = join(cwd, 'loaded.json');
    env['NODE_OPTIONS'] = `--import ${fixture('loaded-modules.mjs')}`;
    env['LOADED_MODULES_FILE'] = listFile;
    // As users run it: under coverage the bin require()s the bundle instead of compiling it from its
    // code cache (bin/naija-sup.js), and the cached path must not load more than that one does.
    env['NODE_V8_COVERAGE'] = '';
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
    const bundle = join(ROOT, 'dist', 'resident', 'main.cjs');
    // It ran from its own bundle, and nothing from the CLI's ESM chunks, tsc's dist/ or
    // node_modules (commander, cosmiconfig, yaml, execa, chalk, ora, prom-client, find-process, get-port).
    expect(files).toContain(bundle);
    expect(files.filter((f) => f.includes('/node_modules/'))).toEqual([]);
    // The one exception: bin/naija-sup.js's argv check (dist/quick/forms.cjs, 2 KiB), which every
    // run loads to choose a bundle. The quick commands themselves (run.cjs) are not loaded.
    const forms = join(ROOT, 'dist', 'quick', 'forms.cjs');
    expect(files).toContain(forms);
    expect(files.filter((f) => f.startsWith(join(ROOT, 'dist') + '/') && f !== bundle && f !== forms)).toEqual([]);

    const modules = sourcesOf(bundle);
    expect(modules).toContain('src/app/supervise.ts');
    // Not even as text. (The human renderer is in the bundle, unrun: a config's logFormat "human"
    // has the background supervisor write human lines to its log.)
    const unused = modules.filter((m) =>
      /^src\/(doctor|export|import)\//.test(m) ||
      ['src/cli/detach.ts', 'src/cli/main.ts', 'src/config/json-schema.ts', 'src/config/reference.ts', 'src/cli/commands/start.ts', 'src/cli/commands/status.ts', 'src/cli/commands/stop.ts'].includes(m));
    expect(unused).toEqual([]);
    // Builtins it has no use for once started: node:v8 (the foreground's young-generation bound),
    // node:dns (a host name to resolve), node:module (a TypeScript config), node:crypto, node:http
    // (the health probe speaks HTTP on a node:net socket), node:fs/promises (src/fs-async.ts),
    // node:perf_hooks (src/clock.ts).
    expect(builtins.filter((b) => ['v8', 'dns/promises', 'module', 'crypto', 'http', 'fs/promises', 'perf_hooks'].includes(b))).toEqual([]);
  }, 90_000);
});
