/**
 * Finding the app's runtime (executables.ts) on a temp PATH of scripts, and the `runtime` check with
 * an injected node probe: how a command's first word is resolved, which shebangs name an
 * interpreter, which node an app runs on, and what the check reports for an app's `engines` it
 * cannot evaluate or a probe that names another C library.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runtimeCheck } from '../../src/doctor/checks/runtime.js';
import { commandInterpreter, readShebang, resolveAppNode, resolveCommandFile, which } from '../../src/doctor/executables.js';
import type { NodeProbeReport } from '../../src/doctor/probes/node-probe.js';
import type { DoctorContext } from '../../src/doctor/types.js';

const root = mkdtempSync(join(tmpdir(), 'naija-sup-executables-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function file(path: string, text: string, mode = 0o755): string {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
  chmodSync(full, mode);
  return full;
}

describe('which and resolveCommandFile', () => {
  const bin = join(root, 'bin');
  const tool = file('bin/tool', '#!/bin/sh\n');
  file('bin/notes', 'not executable', 0o644);
  mkdirSync(join(bin, 'adir'), { recursive: true });
  const second = file('bin2/notes', '#!/bin/sh\n');

  it('a PATH lookup skips empty entries, directories and files without x; a path with a slash is taken as is', () => {
    expect(which('tool', `::${bin}`)).toBe(tool);
    expect(which('notes', `${bin}:${join(root, 'bin2')}`)).toBe(second);
    expect(which('adir', bin)).toBeNull();
    expect(which('tool', undefined)).toBeNull();
    expect(which(tool, undefined)).toBe(tool);
    expect(which(join(bin, 'notes'), undefined)).toBeNull();
  });

  it('absolute, relative-with-a-slash and bare first words', () => {
    expect(resolveCommandFile(join(bin, 'notes'), '/', '')).toBe(join(bin, 'notes')); // exists, not executable: still the file
    expect(resolveCommandFile(join(bin, 'missing'), '/', '')).toBeNull();
    expect(resolveCommandFile('./bin/tool', root, '')).toBe(tool);
    expect(resolveCommandFile('./bin/missing', root, '')).toBeNull();
    expect(resolveCommandFile('tool', '/', bin)).toBe(tool);
  });
});

describe('readShebang and commandInterpreter', () => {
  it('reads the interpreter of #!, #!/usr/bin/env (options skipped), and nothing else', () => {
    expect(readShebang(file('s/direct', '#!/usr/bin/python3 -u\nprint(1)\n'))).toBe('/usr/bin/python3');
    expect(readShebang(file('s/env', '#!/usr/bin/env -S python3 -u\n'))).toBe('python3');
    expect(readShebang(file('s/env-only', '#!/usr/bin/env -i\n'))).toBeNull();
    expect(readShebang(file('s/bare', '#!\n'))).toBeNull();
    expect(readShebang(file('s/none', 'print(1)\n'))).toBeNull();
    expect(readShebang(join(root, 's', 'missing'))).toBeNull();
  });

  it('a command that runs python, directly or through a script; none otherwise', () => {
    const py = file('py/python3', '#!/bin/sh\n');
    const script = file('py/serve', `#!${py}\n`);
    const envScript = file('py/serve-env', '#!/usr/bin/env python3\n');
    const shell = file('py/run.sh', '#!/bin/sh\n');
    const pathOnly = join(root, 'py');
    expect(commandInterpreter([], root, {})).toBeNull();
    expect(commandInterpreter(['python3', 'app.py'], root, { PATH: pathOnly })).toEqual({ path: py, source: 'the command' });
    expect(commandInterpreter(['python3', 'app.py'], root, { PATH: join(root, 'nowhere') })).toBeNull();
    expect(commandInterpreter([script], root, {})).toEqual({ path: py, source: "the command's shebang" });
    expect(commandInterpreter([envScript], root, { PATH: pathOnly })).toEqual({ path: py, source: "the command's shebang" });
    expect(commandInterpreter([envScript], root, { PATH: join(root, 'nowhere') })).toBeNull();
    expect(commandInterpreter([shell], root, {})).toBeNull();
    expect(commandInterpreter(['missing-tool'], root, { PATH: pathOnly })).toBeNull();
  });

  it("the app's node: the command's node (even one that does not exist), else node on PATH, else naija-sup's own", () => {
    const node = file('n/node', '#!/bin/sh\n');
    expect(resolveAppNode(['node', 'server.js'], root, { PATH: join(root, 'n') })).toEqual({ path: node, source: 'command' });
    expect(resolveAppNode(['node20', 'server.js'], root, { PATH: join(root, 'nowhere') })).toEqual({ path: 'node20', source: 'command' });
    expect(resolveAppNode(['npm', 'start'], root, { PATH: join(root, 'n') })).toEqual({ path: node, source: 'path' });
    expect(resolveAppNode([], root, { PATH: join(root, 'nowhere') })).toEqual({ path: process.execPath, source: 'self' });
  });
});

describe('runtime check with an injected probe', () => {
  const report = (over: Partial<NodeProbeReport>): NodeProbeReport =>
    ({ node: '20.19.0', modules: '115', napi: null, platform: 'linux', arch: 'x64', execPath: '/opt/node/bin/node', libc: null, glibc: null, ...over }) as NodeProbeReport;
  const ctx = (cwd: string, probe: NodeProbeReport | null): DoctorContext =>
    ({
      app: { name: 'api', cwd, command: ['node', 'server.js'], env: {} },
      nodeProbe: async () => (probe === null ? { kind: 'spawn-error', code: 'ENOENT', message: 'spawn node ENOENT', durationMs: 1 } : { kind: 'ok', report: probe, stderr: '', durationMs: 1 }),
    }) as unknown as DoctorContext;

  it("an app's engines it cannot read: ok, and says it cannot evaluate; no libc in the app's line off glibc/musl", async () => {
    const app = mkdtempSync(join(root, 'app-'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ engines: { node: 'lts/*' } }));
    const out = await runtimeCheck.run(ctx(app, report({})));
    expect(out.status).toBe('ok');
    expect(out.summary).toBe(`naija-sup's node ${process.versions.node}, the app's node 20.19.0 (linux x64)`);
    expect(out.details).toContain('the app runs on node 20.19.0 (/opt/node/bin/node), ABI 115, N-API none, linux x64');
    expect(out.details).toContain('the app needs node lts/*: cannot evaluate');
  });

  it("the same node binary as naija-sup's: its C library comes from the probe (musl here)", async () => {
    const app = mkdtempSync(join(root, 'app-'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ engines: { node: 7 } }));
    const out = await runtimeCheck.run(ctx(app, report({ execPath: process.execPath, libc: 'musl', napi: '9' })));
    expect(out.details?.[0]).toBe(`naija-sup runs on node ${process.versions.node} (${process.execPath}), ${process.platform} ${process.arch}, musl`);
    expect(out.details?.some((line) => line.startsWith('the app needs node'))).toBe(false);
  });

  it('a node that cannot be started: fail with the probe failure', async () => {
    const app = mkdtempSync(join(root, 'app-'));
    const out = await runtimeCheck.run(ctx(app, null));
    expect(out).toMatchObject({ status: 'fail', summary: "the app's node cannot be started: ENOENT" });
    expect(out.details).toContain('spawn node ENOENT');
  });
});
