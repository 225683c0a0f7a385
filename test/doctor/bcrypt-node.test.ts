/**
 * bcrypt-node against staged failures: a temp app with a real bcrypt 6 copy whose prebuilt binary
 * is replaced by a Mach-O, a PE, a 32-bit ELF, an arm64 ELF, a musl build or garbage, deleted
 * (N8), or with bcrypt missing (N9); each probed by the app's own node, for real.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { classifyNativeLoad } from '../../src/doctor/checks/bcrypt-node.js';
import { failureById, renderFix } from '../../src/failures.js';
import { readProcStat } from '../../src/process/proc-read.js';
import { assertAllGone } from '../helpers/processes.js';
import { doctor, doctorOne, makeNodeApp, prebuild, removeTemps, replaceBinding, tempDir, writeScript } from './helpers.js';

afterAll(() => {
  removeTemps();
});

const tableFix = (id: string): string => renderFix(failureById(id)?.fix ?? 'missing', { module: 'bcrypt' });

describe('bcrypt-node with a healthy bcrypt', () => {
  it('loads, round-trips at cost 4, passes the known answer, and reports 72 bytes and $2y$', async () => {
    const app = makeNodeApp({ bcryptjs: true });
    const result = await doctorOne(app, 'bcrypt-node');
    expect(result).toMatchObject({ status: 'ok', failureId: null, fix: null });
    expect(result.summary).toBe(`bcrypt 6.0.0 loads and hashes correctly in the app's node ${process.versions.node}`);
    expect(result.details).toEqual(
      expect.arrayContaining([
        'bcrypt 6.0.0 from node_modules/bcrypt',
        'binding: node_modules/bcrypt/prebuilds/linux-x64/bcrypt.glibc.node',
        'self-test: hash + verify at cost 4 ok ($2b$04$…), wrong password rejected',
        'known-answer vector ("U*U", $2a$05$) ok',
        '72-byte limit: longer passwords are cut to 72 bytes silently; reject > 72 UTF-8 bytes at the API edge',
        '$2y$ (PHP) hashes do not verify: rewrite the prefix to $2b$ before comparing',
        'bcryptjs 3.0.3 is installed as a fallback: works, not allowed (BCRYPT_FALLBACK is off)',
        "bcrypt and bcryptjs verify each other's hashes",
      ]),
    );
  });

  it('the runtime check shares the probe and checks the app\'s engines', async () => {
    const app = makeNodeApp({ engines: '>=99' });
    const [runtime, bcrypt] = await doctor(app, ['runtime', 'bcrypt-node']);
    expect(bcrypt?.status).toBe('ok');
    expect(runtime).toMatchObject({ status: 'warn', summary: `the app's package.json wants node >=99, but its node is ${process.versions.node}` });
    expect(runtime?.fix).toContain('satisfies >=99');
    expect(runtime?.details.join('\n')).toContain(`the app runs on node ${process.versions.node} (${process.execPath}), ABI ${process.versions.modules}`);
  });

  it('skips an app that uses neither bcrypt nor bcryptjs', async () => {
    const app = makeNodeApp({ bcrypt: false, dependencies: { express: '^5' } });
    expect(await doctorOne(app, 'bcrypt-node')).toMatchObject({ status: 'skip', summary: 'the app does not use bcrypt or bcryptjs' });
  });

  it('checks bcryptjs alone when the app uses only it', async () => {
    const app = makeNodeApp({ bcrypt: false, bcryptjs: true, dependencies: { bcryptjs: '^3.0.3' } });
    const result = await doctorOne(app, 'bcrypt-node');
    expect(result).toMatchObject({ status: 'ok', summary: 'bcryptjs 3.0.3 works (pure JavaScript; no native bcrypt)' });
    expect(result.details).toContain('$2y$ (PHP) hashes verify');
  });
});

describe('bcrypt-node classifies a binary that cannot load (ERR_DLOPEN_FAILED) by its header', () => {
  const cases = [
    {
      name: 'the darwin prebuild (Mach-O)',
      id: 'N2',
      content: () => readFileSync(prebuild('darwin-x64/bcrypt.node')),
      explains: 'is a macOS binary (Mach-O 64-bit x86_64): node_modules came from a Mac; this node is linux x64 (glibc)',
    },
    {
      name: 'the win32 prebuild (PE)',
      id: 'N2',
      content: () => readFileSync(prebuild('win32-x64/bcrypt.node')),
      explains: 'is a Windows DLL (PE x86-64): node_modules came from Windows',
    },
    {
      name: 'the linux-arm prebuild (32-bit ELF)',
      id: 'N3',
      content: () => readFileSync(prebuild('linux-arm/bcrypt.glibc.node')),
      explains: 'is a 32-bit Linux binary (ELF ARM, glibc), but this node is linux x64 (glibc) (64-bit)',
    },
    {
      name: 'the linux-arm64 prebuild (another CPU)',
      id: 'N4',
      content: () => readFileSync(prebuild('linux-arm64/bcrypt.glibc.node')),
      explains: 'built for arm64, but this node is linux x64 (glibc) (dlopen\'s "No such file or directory" is misleading: the file exists)',
    },
    {
      name: 'the linux-x64 musl prebuild',
      id: 'N5',
      content: () => readFileSync(prebuild('linux-x64/bcrypt.musl.node')),
      explains: 'built for musl (Alpine), but this node is linux x64 (glibc)',
    },
    {
      name: 'a garbage file',
      id: 'N2',
      content: () => Buffer.alloc(4096, 'not a shared object '),
      explains: 'is not a native binary at all (4096 bytes starting 6e6f742061207368: a corrupt or truncated file)',
    },
  ] as const;

  it.each(cases)('$name → $id', async ({ id, content, explains }) => {
    const app = makeNodeApp({ stage: (dir) => replaceBinding(dir, content()) });
    const result = await doctorOne(app, 'bcrypt-node');
    expect(result.status).toBe('fail');
    expect(result.failureId).toBe(id);
    expect(result.summary).toBe(`bcrypt cannot load: ${lowerFirst(failureById(id)?.title ?? '')} (${id})`);
    expect(result.fix).toBe(tableFix(id));
    const details = result.details.join('\n');
    expect(details).toContain('(ERR_DLOPEN_FAILED)');
    expect(details).toContain(explains);
    expect(details).toContain('no bcryptjs fallback installed');
  });
});

describe('bcrypt-node without a binary or without bcrypt', () => {
  it('N8: the prebuild deleted → "No native build was found"', async () => {
    const app = makeNodeApp({ stage: (dir) => rmSync(join(dir, 'prebuilds', 'linux-x64'), { recursive: true }) });
    const result = await doctorOne(app, 'bcrypt-node');
    expect(result).toMatchObject({ status: 'fail', failureId: 'N8', fix: tableFix('N8') });
    expect(result.summary).toBe('bcrypt cannot load: no prebuilt native binary for this platform (N8)');
    expect(result.details.join('\n')).toContain(`error: No native build was found for platform=linux arch=x64 runtime=node abi=${process.versions.modules}`);
    expect(result.fix).toContain('npm rebuild bcrypt');
  });

  it('N9: listed in package.json but not installed', async () => {
    const app = makeNodeApp({ bcrypt: false });
    const result = await doctorOne(app, 'bcrypt-node');
    expect(result).toMatchObject({
      status: 'fail',
      failureId: 'N9',
      summary: "bcrypt is listed in package.json but not installed (Cannot find module 'bcrypt')",
      fix: tableFix('N9'),
    });
  });
});

describe('bcrypt-node and the bcryptjs fallback', () => {
  const macho = (dir: string): void => replaceBinding(dir, readFileSync(prebuild('darwin-arm64/bcrypt.node')));

  it('bcryptjs present but BCRYPT_FALLBACK off: fail, and the fix says the fallback would work', async () => {
    const app = makeNodeApp({ bcryptjs: true, stage: macho });
    const result = await doctorOne(app, 'bcrypt-node');
    expect(result).toMatchObject({ status: 'fail', failureId: 'N2' });
    expect(result.fix).toBe(`${tableFix('N2')} Meanwhile BCRYPT_FALLBACK=true lets the app run on bcryptjs 3.0.3 (slower).`);
    expect(result.details).toContain('bcryptjs 3.0.3 is installed as a fallback: works, not allowed (BCRYPT_FALLBACK is off)');
  });

  it('BCRYPT_FALLBACK=true in the app env: warn, the app runs on bcryptjs', async () => {
    const app = makeNodeApp({ bcryptjs: true, stage: macho, env: { BCRYPT_FALLBACK: 'true' } });
    const result = await doctorOne(app, 'bcrypt-node');
    expect(result).toMatchObject({ status: 'warn', failureId: 'N2', fix: tableFix('N2') });
    expect(result.summary).toMatch(/; the app will run on bcryptjs \(BCRYPT_FALLBACK\), slower$/);
    expect(result.details).toContain('bcryptjs 3.0.3 is installed as a fallback: works, allowed by BCRYPT_FALLBACK');
  });
});

/** Ends a hung probe that a failing test left behind (its pid file names it; still `sleep`, so ours). */
function killHung(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (readProcStat(pid)?.comm === 'sleep') process.kill(pid, 'SIGKILL');
}

describe('bcrypt-node with a runtime that hangs', () => {
  it('is a fail naming the timeout, the hung node is killed, and doctor returns', async () => {
    const bin = tempDir();
    const pidFile = join(bin, 'hung.pid');
    // The "node" of the command: records its pid, then never answers nor exits by itself (an hour
    // is past the test's own timeout), so doctor returns only if its probe timeout ends the probe.
    writeScript(join(bin, 'node'), `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 3600\n`);
    onTestFinished(() => killHung(pidFile));
    const app = makeNodeApp({ command: [join(bin, 'node'), 'server.js'] });
    const [runtime, bcrypt] = await doctor(app, ['runtime', 'bcrypt-node'], {}, { probeTimeoutMs: 1500 });
    expect(bcrypt).toMatchObject({
      status: 'fail',
      summary: "the app's node did not answer within 1.5 s: the runtime hangs (killed)",
    });
    expect(bcrypt?.fix).toContain('Run it by hand in the app directory');
    expect(runtime?.status).toBe('fail');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    await assertAllGone([pid]);
  });

  it('a check that outlives its own deadline is a fail too, and doctor still returns', async () => {
    const bin = tempDir();
    const pidFile = join(bin, 'hung.pid');
    writeScript(join(bin, 'node'), `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 3600\n`);
    onTestFinished(() => killHung(pidFile));
    const app = makeNodeApp({ command: [join(bin, 'node'), 'server.js'] });
    const result = await doctorOne(app, 'bcrypt-node', {}, { probeTimeoutMs: 20_000, checkTimeoutMs: 1500 });
    expect(result).toMatchObject({ status: 'fail', summary: 'the check did not finish within 1.5 s' });
    expect(result.fix).toBe('Run the check alone to see where it stops: `naija-sup doctor --only bcrypt-node`.');
    // doctor killed the probe it abandoned when it finished.
    await assertAllGone([Number(readFileSync(pidFile, 'utf8').trim())]);
  });

  it('a command whose node does not exist: cannot be started', async () => {
    const app = makeNodeApp({ command: ['/nonexistent/bin/node', 'server.js'] });
    const result = await doctorOne(app, 'bcrypt-node');
    expect(result).toMatchObject({ status: 'fail', summary: "the app's node cannot be started: ENOENT" });
  });
});

describe('bcrypt-node finds the node of the command', () => {
  it('a node binary named in the command is the one probed', async () => {
    const bin = tempDir();
    const marker = join(bin, 'used');
    writeScript(join(bin, 'node'), `#!/bin/sh\ntouch '${marker}'\nexec '${process.execPath}' "$@"\n`);
    const app = makeNodeApp({ command: [join(bin, 'node'), 'server.js'] });
    const result = await doctorOne(app, 'bcrypt-node');
    expect(result.status).toBe('ok');
    // The wrapper ran (the probe finished before doctor returned, so the file exists now).
    expect(existsSync(marker)).toBe(true);
  });
});

describe('classifyNativeLoad from the message when the header says nothing wrong', () => {
  const linux = { platform: 'linux', arch: 'x64', libc: 'glibc' };
  it.each([
    ['N1', "The module '/app/node_modules/bcrypt/lib/binding/bcrypt_lib.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 64. This version of Node.js requires\nNODE_MODULE_VERSION 115."],
    ['N6', 'Error relocating /app/node_modules/bcrypt/lib/binding/bcrypt_lib.node: __snprintf_chk: symbol not found'],
    ['N7', "Cannot find module '/app/node_modules/bcrypt/lib/binding/napi-v3/bcrypt_lib.node'"],
    ['N8', 'No native build was found for platform=linux arch=x64 runtime=node abi=115 uv=1 libc=glibc node=20.20.2'],
  ])('%s', (id, message) => {
    expect(classifyNativeLoad({ code: null, message }, null, null, linux).failureId).toBe(id);
  });

  it('an unknown dlopen failure is native-dlopen; anything else is unclassified', () => {
    expect(classifyNativeLoad({ code: 'ERR_DLOPEN_FAILED', message: 'something new' }, null, null, linux).failureId).toBe('native-dlopen');
    expect(classifyNativeLoad({ code: null, message: 'something new' }, null, null, linux).failureId).toBeNull();
  });

  it('a glibc binary on musl is N6 from the header', () => {
    const binary = { format: 'elf' as const, size: 1, bits: 64 as const, arch: 'x64', machine: 'x86-64', libc: 'glibc' as const, magicHex: '' };
    expect(classifyNativeLoad({ code: 'ERR_DLOPEN_FAILED', message: 'x' }, binary, 'b.node', { ...linux, libc: 'musl' }).failureId).toBe('N6');
  });
});

function lowerFirst(text: string): string {
  return text.length === 0 ? text : (text[0] ?? '').toLowerCase() + text.slice(1);
}
