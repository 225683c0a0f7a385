/**
 * bcrypt-node's verdict over probe reports that a real app rarely produces on this machine: a
 * binding that loads but hashes wrong, bcryptjs alone and broken, a load error with no binary to
 * read, a failed cross-check. The verdict is pure (assessBcryptNode), so the reports are built here;
 * the staged real apps in bcrypt-node.test.ts cover what the probe itself sees.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assessBcryptNode,
  classifyNativeLoad,
  declaredBcrypt,
  failedBindingPath,
  fallbackAllowed,
  type BcryptNodeFacts,
} from '../../src/doctor/checks/bcrypt-node.js';
import type { NativeBinaryInfo } from '../../src/doctor/binary-header.js';
import type { NodeLibraryReport, NodeProbeReport } from '../../src/doctor/probes/node-probe.js';
import type { DoctorContext } from '../../src/doctor/types.js';

const APP = '/srv/app';

function lib(name: 'bcrypt' | 'bcryptjs', over: Partial<NodeLibraryReport> = {}): NodeLibraryReport {
  return {
    name,
    resolved: `${APP}/node_modules/${name}/index.js`,
    dir: `${APP}/node_modules/${name}`,
    version: name === 'bcrypt' ? '6.0.0' : '3.0.3',
    loaded: true,
    prefix: '$2b$04$',
    roundTrip: true,
    knownAnswer: true,
    over72: 'truncates',
    accepts2y: true,
    ...over,
  };
}

const MISSING: Partial<NodeLibraryReport> = { resolved: null, dir: null, version: null, loaded: false };

function facts(over: {
  bcrypt?: Partial<NodeLibraryReport>;
  bcryptjs?: Partial<NodeLibraryReport>;
  report?: Partial<NodeProbeReport>;
  fallbackAllowed?: boolean;
  binary?: NativeBinaryInfo | null;
  declared?: { bcrypt: boolean; bcryptjs: boolean };
} = {}): BcryptNodeFacts {
  return {
    report: {
      node: '20.19.0',
      modules: '115',
      napi: '9',
      platform: 'linux',
      arch: 'x64',
      execPath: '/usr/bin/node',
      libc: 'glibc',
      glibc: '2.36',
      bcrypt: lib('bcrypt', over.bcrypt),
      bcryptjs: lib('bcryptjs', { ...MISSING, ...over.bcryptjs }),
      ...over.report,
    },
    declared: over.declared ?? { bcrypt: true, bcryptjs: false },
    fallbackAllowed: over.fallbackAllowed ?? false,
    binary: over.binary ?? null,
    appCwd: APP,
  };
}

describe('bcrypt-node: a binding that loads but does not hash correctly', () => {
  it('a failed round trip is a fail naming the error and the rebuild', () => {
    const out = assessBcryptNode(facts({ bcrypt: { roundTrip: undefined, roundTripError: { code: null, message: 'Invalid salt\nat hash()' } } }));
    expect(out).toMatchObject({
      status: 'fail',
      summary: 'bcrypt loads but its hash/verify round trip fails: Invalid salt',
      fix: 'Reinstall it with the node that runs the server: `npm rebuild bcrypt` (or `npm ci`).',
    });
    expect(out.details).not.toContain('self-test: hash + verify at cost 4 ok ($2b$04$…), wrong password rejected');
  });

  it('verify answering wrong with no error says so', () => {
    const out = assessBcryptNode(facts({ bcrypt: { roundTrip: false } }));
    expect(out.summary).toBe('bcrypt loads but its hash/verify round trip fails: verify gave the wrong answer');
  });

  it('a wrong known answer is a broken build, with the error when there is one', () => {
    const withError = assessBcryptNode(facts({ bcrypt: { knownAnswer: false, knownAnswerError: { code: null, message: 'got $2a$05$xyz' } } }));
    expect(withError).toMatchObject({
      status: 'fail',
      summary: 'bcrypt computes a wrong hash for a known-answer vector: a broken build',
      fix: 'Reinstall it: `npm rebuild bcrypt` (or `npm ci`).',
    });
    // The verdict's details are the full check details (versions first), not the bare error.
    expect(withError.details?.[0]).toBe('bcrypt 6.0.0 from node_modules/bcrypt');
    const without = assessBcryptNode(facts({ bcrypt: { knownAnswer: false } }));
    expect(without.summary).toBe(withError.summary);
  });

  it('a failed round trip outranks a wrong known answer', () => {
    const out = assessBcryptNode(facts({ bcrypt: { roundTrip: false, knownAnswer: false } }));
    expect(out.summary).toMatch(/round trip fails/);
  });

  it('the 72-byte behaviour and $2y$ are reported as the probe found them', () => {
    const raises = assessBcryptNode(facts({ bcrypt: { over72: 'raises', over72Error: { code: null, message: 'data too long' }, accepts2y: false } }));
    expect(raises.status).toBe('ok');
    expect(raises.details).toContain('72-byte limit: passwords over 72 bytes throw (data too long); reject them at the API edge');
    expect(raises.details).toContain('$2y$ (PHP) hashes do not verify: rewrite the prefix to $2b$ before comparing');
    const raisesBare = assessBcryptNode(facts({ bcrypt: { over72: 'raises' } }));
    expect(raisesBare.details).toContain('72-byte limit: passwords over 72 bytes throw (error); reject them at the API edge');
    const distinct = assessBcryptNode(facts({ bcrypt: { over72: 'distinct', accepts2y: undefined } }));
    expect(distinct.details).toContain('72-byte limit: not applied (bytes after 72 count) — unusual for bcrypt');
    expect(distinct.details?.some((line) => line.includes('$2y$'))).toBe(false);
    const unknown = assessBcryptNode(facts({ bcrypt: { over72: undefined, prefix: undefined } }));
    expect(unknown.details?.some((line) => line.startsWith('72-byte limit'))).toBe(false);
    expect(unknown.details).toContain('self-test: hash + verify at cost 4 ok (?…), wrong password rejected');
  });

  it('an unknown version and binding path still give a summary without a double space', () => {
    const out = assessBcryptNode(facts({ bcrypt: { version: null, dir: null, binding: '/opt/elsewhere/bcrypt.node' }, report: { napi: null, libc: null } }));
    expect(out.summary).toBe("bcrypt loads and hashes correctly in the app's node 20.19.0");
    expect(out.details).toEqual(
      expect.arrayContaining([
        'bcrypt ? from node_modules/bcrypt/index.js',
        'node 20.19.0 (ABI 115, N-API none) on linux x64',
        'binding: /opt/elsewhere/bcrypt.node',
      ]),
    );
  });
});

describe('bcrypt-node: bcrypt and bcryptjs side by side', () => {
  it('hashes that do not verify across the two libraries are named', () => {
    const loadedJs = { ...lib('bcryptjs') };
    const crossFalse = assessBcryptNode(facts({ bcryptjs: loadedJs, report: { crossCheck: false } }));
    expect(crossFalse.details).toContain("bcrypt and bcryptjs do NOT verify each other's hashes");
    const crossError = assessBcryptNode(facts({ bcryptjs: loadedJs, report: { crossCheckError: { code: null, message: 'boom' } } }));
    expect(crossError.details).toContain("bcrypt and bcryptjs do NOT verify each other's hashes");
    const unknown = assessBcryptNode(facts({ bcryptjs: { ...loadedJs, roundTrip: false } }));
    expect(unknown.details?.some((line) => line.includes('verify each other'))).toBe(false);
    expect(unknown.details).toContain('bcryptjs 3.0.3 is installed as a fallback: BROKEN, not allowed (BCRYPT_FALLBACK is off)');
  });

  it('a native failure with a working fallback allowed is a warn, even unclassified', () => {
    const out = assessBcryptNode(
      facts({
        bcrypt: { loaded: false, loadError: { code: null, message: 'something odd' } },
        bcryptjs: { ...lib('bcryptjs'), version: null },
        report: { crossCheck: undefined },
        fallbackAllowed: true,
      }),
    );
    expect(out).toMatchObject({ status: 'warn', summary: 'bcrypt cannot load: the native bcrypt binding cannot be loaded; the app will run on bcryptjs (BCRYPT_FALLBACK), slower' });
    expect(out.failureId).toBeUndefined();
    expect(out.fix).toBe('Reinstall dependencies with the node that runs the server: `npm ci` (or `npm rebuild bcrypt`).');
    expect(out.details).toContain('bcryptjs is installed as a fallback: works, allowed by BCRYPT_FALLBACK');
  });

  it('a native failure with a working fallback not allowed names the switch, without a version when unknown', () => {
    const out = assessBcryptNode(
      facts({ bcrypt: { loaded: false, loadError: { code: null, message: 'something odd' } }, bcryptjs: { ...lib('bcryptjs'), version: null } }),
    );
    expect(out.status).toBe('fail');
    expect(out.fix).toMatch(/ Meanwhile BCRYPT_FALLBACK=true lets the app run on bcryptjs \(slower\)\.$/);
  });
});

describe('bcrypt-node: a load failure with little to go on', () => {
  it('no error from the probe is "unknown error", unclassified, with the generic fix', () => {
    const out = assessBcryptNode(facts({ bcrypt: { loaded: false } }));
    expect(out).toMatchObject({ status: 'fail', summary: 'bcrypt cannot load: the native bcrypt binding cannot be loaded' });
    expect(out.details).toContain('error: unknown error');
    expect(out.details).toContain('no bcryptjs fallback installed');
  });

  it('a binary whose header shows nothing wrong is still described', () => {
    const binary: NativeBinaryInfo = { format: 'elf', size: 1234, bits: 64, arch: 'x64', machine: 'x86-64', libc: 'glibc', magicHex: '7f454c46' };
    const out = assessBcryptNode(
      facts({
        bcrypt: { loaded: false, binding: `${APP}/node_modules/bcrypt/prebuilds/linux-x64/bcrypt.glibc.node`, loadError: { code: 'ERR_DLOPEN_FAILED', message: 'libfoo.so: cannot open shared object file' } },
        binary,
      }),
    );
    expect(out.failureId).toBe('native-dlopen');
    expect(out.details).toContain('error: libfoo.so: cannot open shared object file (ERR_DLOPEN_FAILED)');
    expect(out.details?.some((line) => line.startsWith('binary: node_modules/bcrypt/prebuilds/linux-x64/bcrypt.glibc.node, 1234 bytes, '))).toBe(true);
  });

  it('the binding path comes from node-gyp-build, else from a .node path in the message', () => {
    expect(failedBindingPath(lib('bcrypt', { binding: '/a/b.node' }))).toBe('/a/b.node');
    expect(failedBindingPath(lib('bcrypt', { loadError: { code: null, message: "Error: /app/x/bcrypt_lib.node: invalid ELF header" } }))).toBe('/app/x/bcrypt_lib.node');
    expect(failedBindingPath(lib('bcrypt', { loadError: { code: null, message: 'no path here' } }))).toBeNull();
    expect(failedBindingPath(lib('bcrypt'))).toBeNull();
  });

  it('classification reads "this node" without a libc off glibc/musl, and ignores ELF checks off Linux', () => {
    const macho: NativeBinaryInfo = { format: 'mach-o', size: 1, bits: 64, arch: 'arm64', machine: 'arm64', magicHex: '' };
    expect(classifyNativeLoad({ code: null, message: 'x' }, macho, null, { platform: 'darwin', arch: 'arm64', libc: null }).explanation).toBe(
      'the binding is a macOS binary (Mach-O 64-bit arm64): node_modules came from a Mac; this node is darwin arm64',
    );
    const elf: NativeBinaryInfo = { format: 'elf', size: 1, bits: 64, arch: 'x64', machine: 'x86-64', libc: 'glibc', magicHex: '' };
    expect(classifyNativeLoad({ code: null, message: 'x' }, elf, 'b.node', { platform: 'freebsd', arch: 'x64', libc: null }).failureId).toBeNull();
  });
});

describe('bcrypt-node: bcryptjs alone', () => {
  const only = { declared: { bcrypt: false, bcryptjs: true }, bcrypt: MISSING };

  it('not loadable: the load error, else the resolve error, else "not installed"', () => {
    const load = assessBcryptNode(facts({ ...only, bcryptjs: { ...MISSING, loadError: { code: null, message: 'SyntaxError\nat x' } } }));
    expect(load).toMatchObject({
      status: 'fail',
      summary: 'bcryptjs cannot be loaded: SyntaxError',
      fix: 'Install dependencies in the app directory: `npm install`.',
      failureId: 'module-not-found-node',
    });
    const resolve = assessBcryptNode(facts({ ...only, bcryptjs: { ...MISSING, resolveError: { code: 'MODULE_NOT_FOUND', message: "Cannot find module 'bcryptjs'" } } }));
    expect(resolve.summary).toBe("bcryptjs cannot be loaded: Cannot find module 'bcryptjs'");
    expect(assessBcryptNode(facts({ ...only })).summary).toBe('bcryptjs cannot be loaded: not installed');
  });

  it('a broken bcryptjs fails its self-test', () => {
    const out = assessBcryptNode(facts({ ...only, bcryptjs: { ...lib('bcryptjs'), knownAnswer: false } }));
    expect(out).toMatchObject({ status: 'fail', summary: 'bcryptjs computes a wrong hash for a known-answer vector: a broken build' });
    expect(out.details?.[0]).toBe('bcryptjs 3.0.3 from node_modules/bcryptjs (pure JavaScript, no native binding)');
  });

  it('unknown version and directory are shown as such', () => {
    const out = assessBcryptNode(facts({ ...only, bcryptjs: { ...lib('bcryptjs'), version: null, dir: null } }));
    expect(out).toMatchObject({ status: 'ok', summary: 'bcryptjs works (pure JavaScript; no native bcrypt)' });
    expect(out.details?.[0]).toBe('bcryptjs ? from ? (pure JavaScript, no native binding)');
  });
});

describe('bcrypt-node: inputs read from the app', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const appWith = (pkg: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-bcrypt-deps-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'package.json'), pkg);
    return dir;
  };

  it('declared dependencies come from every dependency kind; a broken package.json declares nothing', () => {
    expect(declaredBcrypt(appWith(JSON.stringify({ dependencies: null, peerDependencies: { bcryptjs: '*' }, optionalDependencies: { bcrypt: '*' } })))).toEqual({
      bcrypt: true,
      bcryptjs: true,
    });
    expect(declaredBcrypt(appWith('{ not json'))).toEqual({ bcrypt: false, bcryptjs: false });
  });

  it('BCRYPT_FALLBACK: config, the env (either name), and its spellings', () => {
    const ctx = (env: Record<string, string>, fallback = false): Pick<DoctorContext, 'app' | 'loaded'> =>
      ({ app: { env }, loaded: { config: { bcrypt: { fallback } } } }) as unknown as Pick<DoctorContext, 'app' | 'loaded'>;
    expect(fallbackAllowed(ctx({}, true))).toBe(true);
    expect(fallbackAllowed(ctx({ NAIJA_SUP_BCRYPT_FALLBACK: ' YES ' }))).toBe(true);
    expect(fallbackAllowed(ctx({ BCRYPT_FALLBACK: '1' }))).toBe(true);
    expect(fallbackAllowed(ctx({ BCRYPT_FALLBACK: 'no' }))).toBe(false);
    expect(fallbackAllowed({ app: { env: {} }, loaded: null } as unknown as Pick<DoctorContext, 'app' | 'loaded'>)).toBe(false);
  });
});
