/**
 * bcrypt-python against Debian's real passlib 1.7.4 and bcrypt 3.2.2 (python3-passlib,
 * python3-bcrypt), with stub `bcrypt` packages first on PYTHONPATH that behave like 4.1.2 (no
 * `__about__`: P1) and 5.0.0 (raises over 72 bytes: P2), one that cannot be imported, and a missing
 * `crypt` module (P3). Each runs the real probe with /usr/bin/python3.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAppPython } from '../../src/doctor/executables.js';
import { readRequirements } from '../../src/doctor/checks/bcrypt-python.js';
import { failureById } from '../../src/failures.js';
import { DEBIAN_PATH, DEBIAN_PYTHON, PYTHON_STUBS, doctorOne, makePythonApp, removeTemps, tempDir, writeScript } from './helpers.js';

const DIST_PACKAGES = '/usr/lib/python3/dist-packages';

beforeAll(() => {
  // The tests need Debian's packages (.ci/run installs them); say so instead of failing obscurely.
  for (const path of [DEBIAN_PYTHON, `${DIST_PACKAGES}/passlib`, `${DIST_PACKAGES}/bcrypt`]) {
    expect(existsSync(path), `${path} is missing: apt-get install -y python3 python3-passlib python3-bcrypt`).toBe(true);
  }
});

afterAll(() => {
  removeTemps();
});

/** requirements.txt of the seed project (its "fix" pinned 4.1.2). */
const SEED_REQUIREMENTS = 'fastapi==0.104.1\nuvicorn[standard]==0.24.0\nbcrypt==4.1.2\npasslib[bcrypt]==1.7.4\n';
const env = (pythonPath?: string): Record<string, string | undefined> => ({
  PATH: DEBIAN_PATH,
  ...(pythonPath === undefined ? {} : { PYTHONPATH: pythonPath }),
});
const stub = (...names: string[]): string => names.map((name) => join(PYTHON_STUBS, name)).join(':');
const pip = (requirement: string): string => `\`${DEBIAN_PYTHON} -m pip install '${requirement}'\``;

describe('bcrypt-python with Debian passlib 1.7.4', () => {
  it('bcrypt 3.2.2 (Debian, has __about__) is the healthy baseline', async () => {
    const app = makePythonApp('passlib[bcrypt]==1.7.4\n', { command: [DEBIAN_PYTHON, 'main.py'] });
    const result = await doctorOne(app, 'bcrypt-python', env());
    expect(result).toMatchObject({
      status: 'ok',
      summary: 'passlib 1.7.4 + bcrypt 3.2.2 (backend bcrypt): hash and verify work',
      fix: null,
      failureId: null,
    });
    expect(result.details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^python 3\.\d+\.\d+ \(\/usr\/bin\/python3, from the command\)$/),
        'bcrypt 3.2.2 from /usr/lib/python3/dist-packages/bcrypt/__init__.py',
        'passlib 1.7.4, backend bcrypt',
        'bcrypt cuts passwords to 72 bytes silently',
        'known-answer vector ("U*U", $2a$05$) ok',
        'requirements.txt: passlib==1.7.4',
      ]),
    );
  });

  it('P1: a bcrypt 4.1.2 without __about__ → warn, hashing works, 4.0.1 is the silent pin', async () => {
    const app = makePythonApp(SEED_REQUIREMENTS, { command: [DEBIAN_PYTHON, 'main.py'] });
    const result = await doctorOne(app, 'bcrypt-python', env(stub('bcrypt-4.1.2')));
    expect(result).toMatchObject({ status: 'warn', failureId: 'P1' });
    expect(result.summary).toBe('passlib 1.7.4 + bcrypt 4.1.2: hashing works, but passlib logs "(trapped) error reading bcrypt version" (P1, harmless)');
    expect(result.fix).toBe(
      `${failureById('P1')?.fix} Here: ${pip('bcrypt==4.0.1')} and change requirements.txt (bcrypt==4.1.2) to bcrypt==4.0.1 — 4.0.1 is the last silent release; 4.1–4.3 keep warning and 5.x breaks passlib 1.7.4.`,
    );
    expect(result.details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^bcrypt 4\.1\.2 \(no bcrypt\.__about__\) from .*bcrypt-4\.1\.2\/bcrypt\/__init__\.py$/),
        'passlib logged: "(trapped) error reading bcrypt version" (AttributeError: module \'bcrypt\' has no attribute \'__about__\')',
        'requirements.txt: bcrypt==4.1.2',
      ]),
    );
  });

  it('P2: a bcrypt 5.0.0 that raises over 72 bytes → fail: every hash raises', async () => {
    const app = makePythonApp('passlib[bcrypt]==1.7.4\nbcrypt>=5\n', { command: [DEBIAN_PYTHON, 'main.py'] });
    const result = await doctorOne(app, 'bcrypt-python', env(stub('bcrypt-5.0.0')));
    expect(result).toMatchObject({ status: 'fail', failureId: 'P2' });
    expect(result.summary).toBe(
      'passlib 1.7.4 cannot use bcrypt 5.0.0: every hash and verify raises "password cannot be longer than 72 bytes" (P2)',
    );
    expect(result.fix).toBe(
      `${failureById('P2')?.fix} Here: ${pip('bcrypt==4.0.1')} and change requirements.txt (bcrypt>=5) to bcrypt==4.0.1 (or ${pip('bcrypt<5')}, which still logs P1, or ${pip('libpass>=1.9.2')}).`,
    );
    expect(result.details).toContain('bcrypt raises on passwords over 72 bytes (bcrypt ≥ 5): reject them at the API edge (P4)');
    expect(result.details).toContain(
      'traceback: ValueError: password cannot be longer than 72 bytes, truncate manually if necessary (e.g. my_password[:72])',
    );
  });

  it('P3: bcrypt not importable and no crypt module → fail: MissingBackendError', async () => {
    const app = makePythonApp('passlib[bcrypt]==1.7.4\n');
    const result = await doctorOne(app, 'bcrypt-python', env(stub('bcrypt-unimportable', 'no-crypt')));
    expect(result).toMatchObject({
      status: 'fail',
      failureId: 'P3',
      summary: 'passlib finds no bcrypt backend: the first hash raises MissingBackendError (P3)',
      fix: `${failureById('P3')?.fix} Here: ${pip('bcrypt<5')}.`,
    });
    expect(result.details[0]).toMatch(/\(\/usr\/bin\/python3, from python3 on PATH\)$/);
    expect(result.details).toContain(
      "traceback: passlib.exc.MissingBackendError: bcrypt: no backends available -- recommend you install one (e.g. 'pip install bcrypt')",
    );
  });

  it('bcrypt not importable but crypt present → warn: passlib silently uses os_crypt', async () => {
    const app = makePythonApp('passlib==1.7.4\n');
    const result = await doctorOne(app, 'bcrypt-python', env(stub('bcrypt-unimportable')));
    expect(result).toMatchObject({ status: 'warn', failureId: 'P3', fix: `Install bcrypt into the app's environment: ${pip('bcrypt==4.0.1')}.` });
    expect(result.summary).toMatch(/^bcrypt is not importable, so passlib falls back to its os_crypt backend/);
  });
});

describe('bcrypt-python without passlib', () => {
  it('P4: bcrypt 5 used directly (no passlib) → warn about passwords over 72 bytes', async () => {
    // An interpreter without site-packages (-S) that sees only the 5.0.0 stub and Debian's real
    // bcrypt (which the stub wraps), not passlib.
    const bin = tempDir();
    writeScript(join(bin, 'python3'), `#!/bin/sh\nexec ${DEBIAN_PYTHON} -S "$@"\n`);
    const onlyBcrypt = tempDir();
    // Debian's bcrypt 3.2.2 needs cffi's backend module beside it.
    for (const name of readdirSync(DIST_PACKAGES).filter((entry) => entry === 'bcrypt' || entry.startsWith('_cffi_backend'))) {
      symlinkSync(join(DIST_PACKAGES, name), join(onlyBcrypt, name));
    }
    const app = makePythonApp('bcrypt==5.0.0\n');
    const result = await doctorOne(app, 'bcrypt-python', { PATH: `${bin}:${DEBIAN_PATH}`, PYTHONPATH: `${stub('bcrypt-5.0.0')}:${onlyBcrypt}` });
    expect(result).toMatchObject({ status: 'warn', failureId: 'P4', fix: failureById('P4')?.fix });
    expect(result.summary).toBe(
      'bcrypt 5.0.0 works, but raises ValueError for passwords over 72 bytes: a long password becomes a 500 unless the app checks its length (P4)',
    );
    expect(result.details).toContain('passlib: not installed');
  });

  it('skips an app that neither runs Python nor names passlib/bcrypt', async () => {
    const app = tempDir();
    const result = await doctorOne(app, 'bcrypt-python', env());
    expect(result).toMatchObject({ status: 'skip', summary: 'the app does not run Python, and no requirements file names passlib or bcrypt' });
  });

  it('passlib named in requirements.txt but not importable → fail with pip install -r', async () => {
    const app = makePythonApp('passlib[bcrypt]==1.7.4\n');
    const bin = tempDir();
    // -S: no site-packages, so passlib is not importable.
    writeScript(join(bin, 'python3'), `#!/bin/sh\nexec ${DEBIAN_PYTHON} -S "$@"\n`);
    const result = await doctorOne(app, 'bcrypt-python', { PATH: `${bin}:${DEBIAN_PATH}` });
    expect(result).toMatchObject({
      status: 'fail',
      failureId: 'module-not-found-python',
      summary: `requirements.txt names passlib, but ${join(bin, 'python3')} cannot import it`,
      fix: `Install the app's requirements into this interpreter: \`${join(bin, 'python3')} -m pip install -r requirements.txt\` (or activate the app's venv).`,
    });
  });
});

describe('the app\'s interpreter', () => {
  it('order: $VIRTUAL_ENV, .venv, venv, the command, python3 on PATH', () => {
    const app = tempDir();
    const venv = (dir: string): string => {
      mkdirSync(join(dir, 'bin'), { recursive: true });
      symlinkSync(DEBIAN_PYTHON, join(dir, 'bin', 'python'));
      return join(dir, 'bin', 'python');
    };
    const command = [DEBIAN_PYTHON, 'main.py'];
    expect(findAppPython([], app, { PATH: DEBIAN_PATH })).toEqual({ path: DEBIAN_PYTHON, source: 'python3 on PATH' });
    expect(findAppPython(command, app, { PATH: '' })).toEqual({ path: DEBIAN_PYTHON, source: 'the command' });
    const plainVenv = venv(join(app, 'venv'));
    expect(findAppPython(command, app, { PATH: DEBIAN_PATH })).toEqual({ path: plainVenv, source: 'venv' });
    const dotVenv = venv(join(app, '.venv'));
    expect(findAppPython(command, app, { PATH: DEBIAN_PATH })).toEqual({ path: dotVenv, source: '.venv' });
    const active = venv(join(tempDir(), 'active'));
    expect(findAppPython(command, app, { PATH: DEBIAN_PATH, VIRTUAL_ENV: join(active, '..', '..') })).toEqual({
      path: join(active, '..', '..', 'bin', 'python'),
      source: '$VIRTUAL_ENV',
    });
  });

  it('a launcher or script is followed to the python in its shebang', () => {
    const bin = tempDir();
    writeScript(join(bin, 'uvicorn'), `#!${DEBIAN_PYTHON}\nimport uvicorn\n`);
    writeScript(join(bin, 'serve'), '#!/usr/bin/env python3\nprint(1)\n');
    const app = tempDir();
    expect(findAppPython(['uvicorn', 'main:app'], app, { PATH: bin })).toEqual({ path: DEBIAN_PYTHON, source: "the uvicorn launcher's shebang" });
    expect(findAppPython([join(bin, 'serve')], app, { PATH: DEBIAN_PATH })).toEqual({ path: DEBIAN_PYTHON, source: "the command's shebang" });
    expect(findAppPython(['node', 'server.js'], app, { PATH: '' })).toBeNull();
  });

  it('reads bcrypt/passlib/libpass requirements from requirements.txt and pyproject.toml', () => {
    const app = makePythonApp('# pins\nfastapi==0.104.1\nbcrypt==4.1.2  # the seed\npasslib[bcrypt]==1.7.4\n');
    writeFileSync(
      join(app, 'pyproject.toml'),
      '[project]\ndependencies = ["libpass>=1.9.2", "fastapi"]\n[tool.poetry.dependencies]\nbcrypt = "^4.0"\n',
    );
    expect(readRequirements(app)).toEqual([
      { name: 'bcrypt', spec: '==4.1.2', file: 'requirements.txt' },
      { name: 'passlib', spec: '==1.7.4', file: 'requirements.txt' },
      { name: 'libpass', spec: '>=1.9.2', file: 'pyproject.toml' },
      { name: 'bcrypt', spec: '^4.0', file: 'pyproject.toml' },
    ]);
  });
});
