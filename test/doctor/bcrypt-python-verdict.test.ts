/**
 * bcrypt-python's verdict over probe reports Debian's packages cannot stage here: libpass, a
 * bcrypt that imports but hashes wrong, passlib's P2/P3 seen through the backend load, a requirement
 * file that names passlib but not in requirements.txt form. The verdict is pure
 * (assessBcryptPython); bcrypt-python.test.ts runs the real probe against real interpreters.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assessBcryptPython, bcryptPythonCheck, readRequirements, type Requirement } from '../../src/doctor/checks/bcrypt-python.js';
import type { PythonProbeReport } from '../../src/doctor/probes/python-probe.js';
import type { DoctorContext } from '../../src/doctor/types.js';
import { removeTemps, tempDir, writeScript } from './helpers.js';

afterAll(() => {
  removeTemps();
});

const PY = { path: '/app/.venv/bin/python', source: '.venv' };

function report(over: {
  bcrypt?: Partial<PythonProbeReport['bcrypt']>;
  passlib?: Partial<PythonProbeReport['passlib']>;
  versions?: Partial<PythonProbeReport['versions']>;
} = {}): PythonProbeReport {
  return {
    python: '3.11.2',
    executable: PY.path,
    prefix: '/app/.venv',
    versions: { bcrypt: '4.0.1', passlib: '1.7.4', libpass: null, ...over.versions },
    bcrypt: { imported: true, file: '/app/.venv/lib/bcrypt/__init__.py', version: '4.0.1', hasAbout: true, roundTrip: true, knownAnswer: true, ...over.bcrypt },
    passlib: { imported: true, version: '1.7.4', backend: 'bcrypt', roundTrip: true, log: [], ...over.passlib },
  };
}

const assess = (r: PythonProbeReport, requirements: Requirement[] = []) => assessBcryptPython({ report: r, interpreter: PY, requirements });
const NO_PASSLIB = { imported: false, version: null, log: undefined, backend: undefined, roundTrip: undefined };

describe('bcrypt-python without passlib', () => {
  it('pyproject naming passlib or libpass that cannot be imported: pip install of that package', () => {
    const r = report({ passlib: NO_PASSLIB });
    const passlib = assess(r, [{ name: 'passlib', spec: '', file: 'pyproject.toml' }]);
    expect(passlib).toMatchObject({
      status: 'fail',
      summary: `pyproject.toml names passlib, but ${PY.path} cannot import it`,
      fix: `Install it into this interpreter: \`${PY.path} -m pip install 'passlib==1.7.4'\` (or activate the app's venv).`,
      failureId: 'module-not-found-python',
    });
    const libpass = assess(r, [{ name: 'libpass', spec: '>=1.9', file: 'Pipfile' }]);
    expect(libpass.fix).toBe(`Install it into this interpreter: \`${PY.path} -m pip install 'libpass'\` (or activate the app's venv).`);
  });

  it('bcrypt required but importable by neither: fail with bcrypt<5', () => {
    const out = assess(report({ passlib: NO_PASSLIB, bcrypt: { imported: false, error: { type: 'ModuleNotFoundError', message: "No module named 'bcrypt'" } }, versions: { bcrypt: '4.1.2' } }), [
      { name: 'bcrypt', spec: '', file: 'requirements.txt' },
    ]);
    expect(out).toMatchObject({
      status: 'fail',
      summary: `the app requires bcrypt, but ${PY.path} cannot import it`,
      fix: `Install it into the app's environment: \`${PY.path} -m pip install 'bcrypt<5'\`.`,
    });
    expect(out.details).toContain("bcrypt: not importable (ModuleNotFoundError: No module named 'bcrypt'); pip metadata says 4.1.2");
    expect(out.details).toContain('passlib: not installed');
  });

  it('bcrypt that imports but hashes wrong: fail, reinstall, with the error when there is one', () => {
    const withError = assess(report({ passlib: NO_PASSLIB, bcrypt: { roundTrip: undefined, roundTripError: { type: 'ValueError', message: 'Invalid salt' } } }));
    expect(withError).toMatchObject({
      status: 'fail',
      summary: 'bcrypt 4.0.1 imports but does not hash correctly: Invalid salt',
      fix: `Reinstall it: \`${PY.path} -m pip install 'bcrypt<5'\` --force-reinstall.`,
    });
    const wrongAnswer = assess(report({ passlib: NO_PASSLIB, bcrypt: { knownAnswer: false, version: null }, versions: { bcrypt: null } }));
    expect(wrongAnswer.summary).toBe('bcrypt imports but does not hash correctly');
  });

  it('a working bcrypt alone is ok, its version from pip metadata when the module has none', () => {
    const out = assess(report({ passlib: NO_PASSLIB, bcrypt: { version: null, hasAbout: false, file: null, over72: 'truncates', accepts2y: true }, versions: { bcrypt: '4.2.0' } }));
    expect(out).toMatchObject({ status: 'ok', summary: 'bcrypt 4.2.0 works (no passlib)' });
    expect(out.details).toEqual([
      `python 3.11.2 (${PY.path}, from .venv)`,
      'bcrypt 4.2.0 (no bcrypt.__about__) from ?',
      'passlib: not installed',
      'bcrypt cuts passwords to 72 bytes silently',
      '$2y$ (PHP) hashes verify (bcrypt normalises them to $2b$)',
      'known-answer vector ("U*U", $2a$05$) ok',
    ]);
    const unknown = assess(report({ passlib: NO_PASSLIB, bcrypt: { version: null }, versions: { bcrypt: null } }));
    expect(unknown.summary).toBe('bcrypt works (no passlib)');
    expect(unknown.details).toContain('bcrypt ? from /app/.venv/lib/bcrypt/__init__.py');
  });
});

describe('bcrypt-python with passlib', () => {
  it('P2 seen while loading the backend names the pin in the requirement file', () => {
    const out = assess(
      report({
        bcrypt: { version: '5.0.0' },
        versions: { bcrypt: '5.0.0' },
        passlib: { backend: undefined, backendError: { type: 'ValueError', message: 'password cannot be longer than 72 bytes, truncate manually' }, traceback: ['  File "x"', '  line 2', '  line 3', 'ValueError: password cannot be longer than 72 bytes'] },
      }),
      [{ name: 'bcrypt', spec: '>=4', file: 'requirements.txt' }],
    );
    expect(out).toMatchObject({ status: 'fail', failureId: 'P2' });
    expect(out.summary).toBe('passlib 1.7.4 cannot use bcrypt 5.0.0: every hash and verify raises "password cannot be longer than 72 bytes" (P2)');
    expect(out.fix).toContain(`\`${PY.path} -m pip install 'bcrypt==4.0.1'\` and change requirements.txt (bcrypt>=4) to bcrypt==4.0.1`);
    // Only the last three traceback lines, trimmed.
    expect(out.details?.filter((line) => line.startsWith('traceback: '))).toEqual(['traceback: line 2', 'traceback: line 3', 'traceback: ValueError: password cannot be longer than 72 bytes']);
  });

  it('P2 from the versions alone ("5.0" counts as 5.0.0), bcrypt not importable → "≥ 5"', () => {
    const out = assess(report({ bcrypt: { version: '5.0' } }));
    expect(out.failureId).toBe('P2');
    const notImportable = assess(report({ bcrypt: { imported: false }, passlib: { roundTripError: { type: 'ValueError', message: 'password cannot be longer than 72 bytes' } } }));
    expect(notImportable.summary).toBe('passlib 1.7.4 cannot use bcrypt ≥ 5: every hash and verify raises "password cannot be longer than 72 bytes" (P2)');
  });

  it('P3 seen while loading the backend', () => {
    const out = assess(report({ bcrypt: { imported: false }, passlib: { backend: undefined, backendError: { type: 'passlib.exc.MissingBackendError', message: 'bcrypt: no backends available' } } }));
    expect(out).toMatchObject({ status: 'fail', failureId: 'P3', summary: 'passlib finds no bcrypt backend: the first hash raises MissingBackendError (P3)' });
    expect(out.fix).toMatch(new RegExp(` Here: \`${PY.path} -m pip install 'bcrypt<5'\`\\.$`));
  });

  it('another round-trip failure is named by type and message; a wrong answer says so', () => {
    const error = assess(report({ passlib: { roundTripError: { type: 'TypeError', message: 'secret must be str' } } }));
    expect(error).toMatchObject({ status: 'fail', summary: "passlib's bcrypt hash/verify fails: TypeError: secret must be str" });
    expect(error.fix).toContain("'passlib==1.7.4'");
    expect(assess(report({ passlib: { roundTrip: false } })).summary).toBe("passlib's bcrypt hash/verify fails: verify gave the wrong answer");
  });

  it('P1 from the versions (passlib 1.7 + bcrypt 4.1) and from the logged AttributeError', () => {
    const byVersion = assess(report({ bcrypt: { version: '4.1.2' } }), [{ name: 'bcrypt', spec: '==4.1.2', file: 'requirements.txt' }]);
    expect(byVersion).toMatchObject({ status: 'warn', failureId: 'P1' });
    expect(byVersion.summary).toBe('passlib 1.7.4 + bcrypt 4.1.2: hashing works, but passlib logs "(trapped) error reading bcrypt version" (P1, harmless)');
    expect(byVersion.fix).toContain('and change requirements.txt (bcrypt==4.1.2) to bcrypt==4.0.1');
    const byLog = assess(
      report({ bcrypt: { version: 'unparsable' }, passlib: { log: [{ level: 'WARNING', logger: 'passlib', message: 'trapped', exception: { type: 'AttributeError', message: "module 'bcrypt' has no attribute '__about__'" } }] } }),
    );
    expect(byLog.failureId).toBe('P1');
    expect(byLog.details).toContain('passlib logged: "(trapped) error reading bcrypt version" (AttributeError: module \'bcrypt\' has no attribute \'__about__\')');
  });

  it('libpass with bcrypt 5 is fine; the backend is named, or "?"', () => {
    const out = assess(report({ versions: { libpass: '1.9.2', passlib: null }, bcrypt: { version: '5.0.0', over72: 'raises' }, passlib: { version: null } }));
    expect(out).toMatchObject({ status: 'ok', summary: 'libpass 1.9.2 + bcrypt 5.0.0 (backend bcrypt): hash and verify work' });
    expect(out.details).toContain('libpass 1.9.2, backend bcrypt');
    const noBackend = assess(report({ versions: { passlib: null }, passlib: { version: '1.8.0', backend: undefined } }));
    expect(noBackend.summary).toBe('passlib 1.8.0 + bcrypt 4.0.1 (backend ?): hash and verify work');
    expect(noBackend.details).toContain('passlib 1.8.0');
  });
});

describe('bcrypt-python requirement files', () => {
  it('Pipfile and setup.cfg entries, extras and comments', () => {
    const app = tempDir();
    writeFileSync(join(app, 'Pipfile'), '[packages]\nbcrypt = "==4.0.1"\n# passlib = "*"\n');
    writeFileSync(join(app, 'setup.cfg'), '[options]\ninstall_requires =\n    passlib[bcrypt] >= 1.7, < 2\n');
    expect(readRequirements(app)).toEqual([
      { name: 'bcrypt', spec: '==4.0.1', file: 'Pipfile' },
      { name: 'passlib', spec: '>=1.7,<2', file: 'setup.cfg' },
    ]);
  });
});

describe('bcrypt-python run', () => {
  const ctx = (cwd: string, env: Record<string, string>, command: string[] = []): DoctorContext =>
    ({ app: { name: 'x', cwd, command, env }, probeTimeoutMs: 10_000, signal: new AbortController().signal }) as unknown as DoctorContext;

  it('requirements name passlib but no interpreter exists: fail, create the venv', async () => {
    const app = tempDir();
    writeFileSync(join(app, 'requirements.txt'), 'passlib==1.7.4\n');
    const out = await bcryptPythonCheck.run(ctx(app, { PATH: join(app, 'nothing-here') }));
    expect(out).toMatchObject({
      status: 'fail',
      summary: 'the app uses Python, but no interpreter was found ($VIRTUAL_ENV, .venv, venv, the command, python3 on PATH)',
    });
    expect(out.fix).toContain('python3 -m venv .venv');
  });

  it('an interpreter that dies before answering is a probe failure naming where it came from', async () => {
    const app = tempDir();
    mkdirSync(join(app, '.venv', 'bin'), { recursive: true });
    writeScript(join(app, '.venv', 'bin', 'python'), '#!/bin/sh\necho "broken venv" >&2\nexit 3\n');
    const out = await bcryptPythonCheck.run(ctx(app, { PATH: '/usr/bin:/bin' }, ['python3', 'main.py']));
    expect(out.status).toBe('fail');
    expect(out.summary).toContain(`${join(app, '.venv', 'bin', 'python')} (from .venv)`);
    expect(out.details?.join('\n')).toContain('broken venv');
  });
});
