import { constants } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { failureById, KNOWN_FAILURES, matchFailure, renderFix } from '../../src/failures.js';
import { spawnInstance } from '../../src/process/spawn.js';
import { classifyExit, exitStatusOf, RECENT_LINES } from '../../src/supervisor/classify.js';
import { signalNamed, wrapperName } from '../../src/supervisor/wrapper-exit.js';
import {
  assertAllGone,
  childEnv,
  fixtureCommand,
  FIXTURES_DIR,
  killAllTracked,
  startFixture,
  trackChild,
} from '../helpers/processes.js';

/** Real texts (research/failures-and-ports.md) → the table entry and cause they must classify as. */
const CASES: { text: string[]; id: string; cause: string; module?: string }[] = [
  {
    id: 'port-in-use-node',
    cause: 'port-in-use',
    text: [
      'node:events:502',
      "      throw er; // Unhandled 'error' event",
      'Error: listen EADDRINUSE: address already in use :::39500',
      '    at Server.setupListenHandle [as _listen2] (node:net:1908:16)',
      "  code: 'EADDRINUSE',",
    ],
  },
  {
    id: 'port-in-use-python',
    cause: 'port-in-use',
    text: ["ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 39500): address already in use"],
  },
  {
    id: 'port-in-use-python',
    cause: 'port-in-use',
    text: ["ERROR:    [Errno 48] error while attempting to bind on address ('0.0.0.0', 8000): address already in use"],
  },
  { id: 'port-in-use-python', cause: 'port-in-use', text: ['OSError: [Errno 98] Address already in use'] },
  {
    id: 'port-in-use-python',
    cause: 'port-in-use',
    text: ["ERROR:    [WinError 10048] error while attempting to bind on address ('127.0.0.1', 8000): only one usage of each socket address"],
  },
  { id: 'permission-denied-node', cause: 'permission-denied', text: ['Error: listen EACCES: permission denied 0.0.0.0:80'] },
  {
    id: 'permission-denied-python',
    cause: 'permission-denied',
    text: ["ERROR:    [Errno 13] error while attempting to bind on address ('0.0.0.0', 80): permission denied"],
  },
  {
    id: 'N1',
    cause: 'native-module',
    module: 'bcrypt',
    text: [
      "Error: The module '/app/node_modules/bcrypt/lib/binding/bcrypt_lib.node'",
      'was compiled against a different Node.js version using',
      'NODE_MODULE_VERSION 64. This version of Node.js requires',
      'NODE_MODULE_VERSION 72. Please try re-compiling or re-installing',
    ],
  },
  { id: 'N1', cause: 'native-module', text: ['Error: Module version mismatch. Expected 48, got 47.'] },
  {
    id: 'N2',
    cause: 'native-module',
    module: 'bcrypt',
    text: [
      'Error: /app/node_modules/bcrypt/lib/binding/napi-v3/bcrypt_lib.node: invalid ELF header',
      '    at Module._extensions..node (node:internal/modules/cjs/loader:1460:18)',
      "  code: 'ERR_DLOPEN_FAILED'",
    ],
  },
  {
    id: 'N3',
    cause: 'native-module',
    module: 'bcrypt',
    text: ['Error: /app/node_modules/bcrypt/prebuilds/linux-arm/bcrypt.glibc.node: wrong ELF class: ELFCLASS32', "  code: 'ERR_DLOPEN_FAILED'"],
  },
  {
    id: 'N4',
    cause: 'native-module',
    module: 'bcrypt',
    text: ['Error: /app/node_modules/bcrypt/prebuilds/linux-arm64/bcrypt.glibc.node: cannot open shared object file: No such file or directory'],
  },
  {
    id: 'N5',
    cause: 'native-module',
    text: ['Error: libc.musl-x86_64.so.1: cannot open shared object file: No such file or directory', "  code: 'ERR_DLOPEN_FAILED'"],
  },
  {
    id: 'N6',
    cause: 'native-module',
    module: 'bcrypt',
    text: ['Error: Error relocating /app/node_modules/bcrypt/lib/binding/bcrypt_lib.node: __snprintf_chk: symbol not found'],
  },
  {
    id: 'N7',
    cause: 'native-module',
    module: 'bcrypt',
    text: [
      "Error: Cannot find module '/app/node_modules/bcrypt/lib/binding/napi-v3/bcrypt_lib.node'",
      'Require stack:',
      '- /app/node_modules/bcrypt/bcrypt.js',
      "  code: 'MODULE_NOT_FOUND',",
    ],
  },
  {
    id: 'N8',
    cause: 'native-module',
    module: 'bcrypt',
    text: [
      'Error: No native build was found for platform=linux arch=x64 runtime=node abi=115 uv=1 libc=glibc node=20.20.2',
      '    loaded from: /app/node_modules/bcrypt',
    ],
  },
  {
    id: 'native-bindings',
    cause: 'native-module',
    module: 'better-sqlite3',
    text: [
      'Error: Could not locate the bindings file. Tried:',
      ' → /app/node_modules/better-sqlite3/build/better_sqlite3.node',
      ' → /app/node_modules/better-sqlite3/build/Debug/better_sqlite3.node',
    ],
  },
  { id: 'native-dlopen', cause: 'native-module', text: ["  code: 'ERR_DLOPEN_FAILED'"] },
  { id: 'N9', cause: 'module-not-found', module: 'bcrypt', text: ["Error: Cannot find module 'bcrypt'", 'Require stack:'] },
  {
    id: 'module-not-found-node',
    cause: 'module-not-found',
    module: 'express',
    text: ['node:internal/modules/cjs/loader:1210', '  throw err;', "Error: Cannot find module 'express'", "  code: 'MODULE_NOT_FOUND',"],
  },
  {
    id: 'module-not-found-node',
    cause: 'module-not-found',
    module: 'express',
    text: ["Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /tmp/x.mjs"],
  },
  {
    id: 'module-not-found-python',
    cause: 'module-not-found',
    module: 'fastapi',
    text: ['Traceback (most recent call last):', '  File "/app/main.py", line 1, in <module>', "ModuleNotFoundError: No module named 'fastapi'"],
  },
  {
    id: 'P2',
    cause: 'native-module',
    text: [
      '(trapped) error reading bcrypt version',
      "AttributeError: module 'bcrypt' has no attribute '__about__'",
      'ValueError: password cannot be longer than 72 bytes, truncate manually if necessary (e.g. my_password[:72])',
    ],
  },
  {
    id: 'P3',
    cause: 'module-not-found',
    text: ["passlib.exc.MissingBackendError: bcrypt: no backends available -- recommend you install one (e.g. 'pip install bcrypt')"],
  },
];

describe('classifyExit from the real error texts', () => {
  it.each(CASES.map((c) => [c.id, c.text[c.text.length - 1] ?? '', c] as const))('%s: %s', (_id, _last, c) => {
    const result = classifyExit({ code: 1, signal: null, stderrTail: c.text, port: 39500 });
    expect(result.failureId).toBe(c.id);
    expect(result.cause).toBe(c.cause);
    expect(result.exitStatus).toBe(1);
    expect(result.fix).not.toMatch(/\{(port|module)\}/);
    if (c.module !== undefined) expect(result.summary).toContain(c.module);
    if (c.cause === 'port-in-use') {
      expect(result.summary).toBe('port 39500 is already in use');
      expect(result.fix).toContain('port 39500');
    }
  });

  it('covers every fatal entry of the table', () => {
    const covered = new Set(CASES.map((c) => c.id));
    const fatal = KNOWN_FAILURES.filter((entry) => entry.severity === 'fatal').map((entry) => entry.id);
    expect(fatal.filter((id) => !covered.has(id))).toEqual([]);
  });

  it('does not call a missing native binding "module not found", nor a missing express a native failure', () => {
    expect(classifyExit({ code: 1, signal: null, stderrTail: ["Error: Cannot find module '/a/node_modules/bcrypt/build/Release/bcrypt_lib.node'"] }).cause).toBe(
      'native-module',
    );
    expect(classifyExit({ code: 1, signal: null, stderrTail: ["Error: Cannot find module 'express'"] }).cause).toBe('module-not-found');
  });

  it('ignores the harmless passlib warning (P1) and falls back to the exit code', () => {
    const tail = ['(trapped) error reading bcrypt version', "AttributeError: module 'bcrypt' has no attribute '__about__'"];
    expect(matchFailure(tail)?.failure.id).toBe('P1');
    expect(failureById('P1')?.severity).toBe('warning');
    const result = classifyExit({ code: 3, signal: null, stderrTail: tail });
    expect(result).toMatchObject({ cause: 'exit-code', summary: 'exited with code 3', exitStatus: 3 });
    expect(result.failureId).toBeUndefined();
  });

  it('lets a known stderr failure outrank a startup timeout and a signal', () => {
    const tail = ["ModuleNotFoundError: No module named 'fastapi'"];
    expect(classifyExit({ code: null, signal: 'SIGKILL', stderrTail: tail, startupTimedOut: true }).cause).toBe('module-not-found');
  });

  it('says "the port" when the port is unknown', () => {
    const result = classifyExit({ code: 1, signal: null, stderrTail: ['Error: listen EADDRINUSE: address already in use :::39500'] });
    expect(result.summary).toBe('the port is already in use');
    expect(result.fix).toContain('the port');
  });
});

describe('classifyExit without a known stderr text', () => {
  it('startup-timeout and liveness-failed come from the supervisor', () => {
    expect(classifyExit({ code: null, signal: 'SIGTERM', stderrTail: [], startupTimedOut: true, port: 8000 })).toMatchObject({
      cause: 'startup-timeout',
      exitStatus: 143,
    });
    expect(classifyExit({ code: null, signal: 'SIGKILL', stderrTail: ['some log'], livenessFailed: true })).toMatchObject({
      cause: 'liveness-failed',
      exitStatus: 137,
    });
  });

  it('names signal deaths, with the OOM killer for SIGKILL', () => {
    expect(classifyExit({ code: null, signal: 'SIGKILL', stderrTail: [] })).toMatchObject({
      cause: 'killed',
      summary: 'killed by SIGKILL (possibly the out-of-memory killer)',
      exitStatus: 137,
    });
    expect(classifyExit({ code: null, signal: 'SIGSEGV', stderrTail: [] })).toMatchObject({
      cause: 'killed',
      summary: 'crashed with SIGSEGV (segmentation fault)',
      exitStatus: 139,
    });
    expect(classifyExit({ code: null, signal: 'SIGABRT', stderrTail: [] }).fix).toMatch(/heap/);
    expect(classifyExit({ code: null, signal: 'SIGTERM', stderrTail: [] }).summary).toBe('terminated by SIGTERM from outside naija-sup');
    expect(classifyExit({ code: null, signal: 'SIGUSR2', stderrTail: [] }).summary).toBe('killed by SIGUSR2');
  });

  it('while naija-sup was stopping it, a death by a signal it sent is as asked, not from outside', () => {
    const term = { sent: ['SIGTERM'], escalation: null } as const;
    expect(classifyExit({ code: null, signal: 'SIGTERM', stderrTail: [], stopping: term })).toMatchObject({
      cause: 'killed',
      summary: 'ended by SIGTERM as asked',
      fix: 'Nothing to do: naija-sup stopped it.',
      exitStatus: 143,
    });
    // npm, which died of the SIGTERM it forwarded, reports it as 143 (the `npm start` wrapper).
    expect(classifyExit({ code: 143, signal: null, stderrTail: [], command: ['npm', 'start'], stopping: term }).summary).toBe('ended by SIGTERM as asked (reported by npm as exit 143)');
    expect(classifyExit({ code: null, signal: 'SIGKILL', stderrTail: [], stopping: { sent: ['SIGTERM', 'SIGKILL'], escalation: 'timeout' } })).toMatchObject({
      summary: 'killed with SIGKILL after the shutdown timeout',
      fix: expect.stringMatching(/raise shutdown\.timeout/),
    });
    expect(classifyExit({ code: null, signal: 'SIGKILL', stderrTail: [], stopping: { sent: ['SIGTERM', 'SIGKILL'], escalation: 'second-signal' } }).summary).toBe(
      'killed with SIGKILL: asked to stop at once (a second Ctrl+C or SIGTERM)',
    );
    // A signal naija-sup did not send is told as it would be otherwise: an abort in its own
    // shutdown, or the OOM killer's SIGKILL before any escalation.
    expect(classifyExit({ code: null, signal: 'SIGABRT', stderrTail: [], stopping: term }).summary).toBe('aborted with SIGABRT');
    expect(classifyExit({ code: null, signal: 'SIGKILL', stderrTail: [], stopping: term }).summary).toBe('killed by SIGKILL (possibly the out-of-memory killer)');
    // A known failure in its stderr still names itself.
    expect(classifyExit({ code: null, signal: 'SIGTERM', stderrTail: ["Error: Cannot find module 'express'"], stopping: term }).cause).toBe('module-not-found');
  });

  it('a script node was told to run that does not exist is the command to fix, not a module to install', () => {
    const entry = ['node:internal/modules/cjs/loader:1210', '  throw err;', '  ^', '', "Error: Cannot find module '/srv/app/servr.js'",
      '    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)', '    at Module._load (node:internal/modules/cjs/loader:1038:27)',
      '    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:164:12)', '    at node:internal/main/run_main_module:28:49 {',
      "  code: 'MODULE_NOT_FOUND',", '  requireStack: []', '}'];
    expect(classifyExit({ code: 1, signal: null, stderrTail: entry, command: ['node', 'servr.js'] })).toMatchObject({
      cause: 'module-not-found',
      summary: 'the script node was told to run does not exist: /srv/app/servr.js',
      fix: expect.stringMatching(/^Check the command/),
      failureId: 'entry-not-found-node',
    });
    // The same error from a require() in the app's code (a "Require stack:"), or an import: a module.
    const required = ["Error: Cannot find module '/srv/app/lib/db.js'", 'Require stack:', '- /srv/app/server.js', '    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)',
      "  code: 'MODULE_NOT_FOUND',", "  requireStack: [ '/srv/app/server.js' ]"];
    expect(classifyExit({ code: 1, signal: null, stderrTail: required }).failureId).toBe('module-not-found-node');
    // Under an ESM loader (node --import tsx servr.js) the entry is "imported from" the working directory.
    const loaderEntry = ["Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/srv/app/servr.js' imported from /srv/app/", '    at finalizeResolution (node:internal/modules/esm/resolve:283:11)'];
    expect(classifyExit({ code: 1, signal: null, stderrTail: loaderEntry }).failureId).toBe('entry-not-found-node');
    const imported = ["Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/srv/app/lib/db.mjs' imported from /srv/app/server.mjs", '    at finalizeResolution (node:internal/modules/esm/resolve:283:11)'];
    expect(classifyExit({ code: 1, signal: null, stderrTail: imported }).failureId).toBe('module-not-found-node');
    expect(classifyExit({ code: 1, signal: null, stderrTail: ["Error: Cannot find module 'express'", '  requireStack: []'] }).failureId).toBe('module-not-found-node');
  });

  it('says what 128 + n usually means, without calling a program that chose that code killed', () => {
    expect(classifyExit({ code: 137, signal: null, stderrTail: [], command: ['/usr/bin/java', '-jar', 'app.jar'] })).toMatchObject({
      cause: 'exit-code',
      summary: 'exited with code 137 (128 + 9: what a shell reports for a child killed by SIGKILL)',
      exitStatus: 137,
    });
    expect(classifyExit({ code: 200, signal: null, stderrTail: [] }).summary).toBe('exited with code 200');
    expect(classifyExit({ code: null, signal: null, stderrTail: [] }).summary).toBe('exited with an unknown code');
  });

  it('code 0 is a clean exit; other codes are exit-code (127/126 explained)', () => {
    expect(classifyExit({ code: 0, signal: null, stderrTail: [] })).toMatchObject({ cause: 'clean-exit', exitStatus: 0 });
    expect(classifyExit({ code: 2, signal: null, stderrTail: ['usage: …'] })).toMatchObject({ cause: 'exit-code', summary: 'exited with code 2' });
    expect(classifyExit({ code: 127, signal: null, stderrTail: ['sh: 1: nodee: not found'] }).summary).toMatch(/command not found/);
    expect(classifyExit({ code: 126, signal: null, stderrTail: [] }).summary).toMatch(/not executable/);
  });
});

describe('classifyExit over the whole kept stderr', () => {
  /** Node's real shape: the key line first, then the tried paths, the stack and the `tries` array. */
  const bindingsError = [
    '/app/node_modules/bindings/bindings.js:126',
    '  err = new Error(',
    '        ^',
    '',
    'Error: Could not locate the bindings file. Tried:',
    ...Array.from({ length: 13 }, (_, i) => ` → /app/node_modules/better-sqlite3/build/try-${i}/better_sqlite3.node`),
    ...Array.from({ length: 10 }, (_, i) => `    at frame${i} (/app/node_modules/better-sqlite3/lib/database.js:${i}:1)`),
    '  tries: [',
    ...Array.from({ length: 13 }, (_, i) => `    '/app/node_modules/better-sqlite3/build/try-${i}/better_sqlite3.node',`),
    '  ]',
    '}',
    '',
    'Node.js v20.20.2',
  ];

  it('finds a key line that is not among the last 20 lines', () => {
    const stderrTail = bindingsError.slice(-20);
    expect(classifyExit({ code: 1, signal: null, stderrTail }).cause).toBe('exit-code');
    const result = classifyExit({ code: 1, signal: null, stderrTail, stderr: bindingsError });
    expect(result).toMatchObject({ cause: 'native-module', failureId: 'native-bindings', line: 'Error: Could not locate the bindings file. Tried:' });
    expect(result.summary).toBe('a native module binary was never built: better-sqlite3');
    expect(result.fix).toContain('npm rebuild better-sqlite3');
  });

  it('after the instance was ready, reads only the recent lines: a warning it survived while starting does not explain a crash', () => {
    const startup = ["Error: Cannot find module 'optional-dep'", ...Array.from({ length: RECENT_LINES }, (_, i) => `GET /item/${i} 200`)];
    expect(classifyExit({ code: null, signal: 'SIGKILL', stderrTail: [], stderr: startup, wasReady: true })).toMatchObject({ cause: 'killed' });
    expect(classifyExit({ code: null, signal: 'SIGKILL', stderrTail: [], stderr: startup, wasReady: false }).cause).toBe('module-not-found');
    expect(classifyExit({ code: 1, signal: null, stderrTail: [], stderr: [...startup, ...bindingsError], wasReady: true }).cause).toBe('native-module');
  });
});

describe('classifyExit of a wrapper that reports a signal as 128 + n', () => {
  const oom = 'killed by SIGKILL (possibly the out-of-memory killer; reported by';

  it.each([
    [['npm', 'start'], 'npm'],
    [['/usr/bin/npx', 'tsx', 'server.ts'], 'npx'],
    [['yarn', 'start'], 'yarn'],
    [['pnpm', 'run', 'serve'], 'pnpm'],
    [['tsx', 'watch', 'src/index.ts'], 'tsx'],
    [['sh', '-c', 'node server.js'], 'sh'],
    [['/bin/bash', '-lc', 'exec node server.js'], 'bash'],
    [['./node_modules/.bin/ts-node', 'server.ts'], 'ts-node'],
    [['env', 'NODE_ENV=production', 'npm', 'start'], 'npm'],
    [['node', '/usr/lib/node_modules/npm/bin/npm-cli.js', 'start'], 'npm'],
  ])('%j exiting 137 was killed by SIGKILL (reported by %s)', (command, by) => {
    const result = classifyExit({ code: 137, signal: null, stderrTail: [], command });
    expect(result).toMatchObject({ cause: 'killed', signal: 'SIGKILL', exitStatus: 137 });
    expect(result.summary).toBe(`${oom} ${by} as exit 137)`);
    expect(result.fix).toContain('dmesg');
  });

  it('decodes any signal from 129 to 159, with its own wording', () => {
    expect(classifyExit({ code: 143, signal: null, stderrTail: [], command: ['npm', 'start'] })).toMatchObject({
      cause: 'killed',
      signal: 'SIGTERM',
      summary: 'terminated by SIGTERM from outside naija-sup (reported by npm as exit 143)',
    });
    expect(classifyExit({ code: 139, signal: null, stderrTail: [], command: ['sh', '-c', 'node s.js'] }).summary).toBe(
      'crashed with SIGSEGV (segmentation fault; reported by sh as exit 139)',
    );
    expect(classifyExit({ code: 1, signal: null, stderrTail: [], command: ['npm', 'start'] }).cause).toBe('exit-code');
    expect(classifyExit({ code: 0, signal: null, stderrTail: [], command: ['npm', 'start'] }).cause).toBe('clean-exit');
  });

  it('believes the stderr of an unknown command when it names the signal and fits the code', () => {
    const script = ['./start.sh'];
    expect(classifyExit({ code: 137, signal: null, stderrTail: ['booting', 'Killed'], command: script }).summary).toBe(`${oom} the shell as exit 137)`);
    expect(classifyExit({ code: 143, signal: null, stderrTail: ['./start.sh: line 3:  4242 Terminated              node server.js'], command: script }).signal).toBe('SIGTERM');
    // A "Killed" that does not fit the code is just a word.
    expect(classifyExit({ code: 1, signal: null, stderrTail: ['Killed'], command: script }).cause).toBe('exit-code');
    expect(classifyExit({ code: 143, signal: null, stderrTail: ['Killed'], command: script }).cause).toBe('exit-code');
  });

  it("trusts npm's and yarn's own \"signal\" line, whatever code they chose", () => {
    expect(classifyExit({ code: 1, signal: null, stderrTail: ['npm ERR! signal SIGKILL', 'npm ERR! command sh -c node server.js'] }).summary).toBe(
      `${oom} npm, which exited 1)`,
    );
    expect(classifyExit({ code: 137, signal: null, stderrTail: ['npm error signal SIGKILL'] }).summary).toBe(`${oom} npm as exit 137)`);
    expect(classifyExit({ code: 1, signal: null, stderrTail: ['error Command failed with signal "SIGTERM".'] }).signal).toBe('SIGTERM');
  });

  it('a known failure in stderr still outranks the decoded signal', () => {
    const result = classifyExit({ code: 137, signal: null, stderrTail: ["Error: Cannot find module 'express'"], command: ['npm', 'start'] });
    expect(result.cause).toBe('module-not-found');
  });
});

describe('wrapperName and signalNamed', () => {
  it('does not take a server or a shell without -c for a wrapper', () => {
    expect(wrapperName(['node', 'server.js'])).toBeNull();
    expect(wrapperName(['bash', 'start.sh'])).toBeNull();
    expect(wrapperName(['uvicorn', 'main:app'])).toBeNull();
    expect(wrapperName([])).toBeNull();
    expect(wrapperName(['npm.cmd', 'start'])).toBe('npm');
  });

  it('names signals 1–31 from os.constants, the first of an alias pair', () => {
    expect(signalNamed(9)).toBe('SIGKILL');
    expect(signalNamed(6)).toBe('SIGABRT');
    expect(signalNamed(0)).toBeUndefined();
    expect(signalNamed(34)).toBeUndefined();
  });
});

describe('exitStatusOf', () => {
  it('passes a code through and maps a signal to 128 + its number from os.constants', () => {
    expect(exitStatusOf({ code: 0, signal: null })).toBe(0);
    expect(exitStatusOf({ code: 255, signal: null })).toBe(255);
    expect(exitStatusOf({ code: null, signal: 'SIGTERM' })).toBe(128 + constants.signals.SIGTERM);
    expect(exitStatusOf({ code: null, signal: 'SIGINT' })).toBe(130);
    expect(exitStatusOf({ code: null, signal: 'SIGKILL' })).toBe(137);
    expect(exitStatusOf({ code: null, signal: null })).toBe(1);
  });
});

describe('renderFix', () => {
  it('fills {port} and {module}', () => {
    expect(renderFix('free {port} for {module}', { port: 8000, module: 'bcrypt' })).toBe('free port 8000 for bcrypt');
    expect(renderFix('free {port} for {module}')).toBe('free the port for the module');
  });
});

describe('classifying real processes', () => {
  afterEach(() => {
    killAllTracked();
  });

  /** Runs `command` to its end and classifies its real exit and stderr. */
  async function runAndClassify(command: string[], env: Record<string, string> = {}, port?: number) {
    const handle = spawnInstance({ command, cwd: FIXTURES_DIR, env: childEnv(env) });
    trackChild(handle);
    const exit = await handle.waitForExit();
    await assertAllGone([handle.pid as number]);
    return classifyExit({ ...exit, stderrTail: handle.stderrTail(), port });
  }

  it("eaddrinuse.mjs on a held port: Node's real EADDRINUSE crash is port-in-use", async () => {
    const holder = await startFixture('hold-port.mjs');
    const port = holder.port as number;
    const result = await runAndClassify(fixtureCommand('eaddrinuse.mjs'), { PORT: String(port) }, port);
    expect(result).toMatchObject({ cause: 'port-in-use', failureId: 'port-in-use-node', exitStatus: 1 });
    expect(result.line).toBe(`Error: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
    expect(result.summary).toBe(`port ${port} is already in use`);
    await holder.stop();
    await assertAllGone([holder.pid]);
  });

  it("python's real bind failure on a held port is port-in-use", async () => {
    const holder = await startFixture('hold-port.mjs');
    const port = holder.port as number;
    const result = await runAndClassify(fixtureCommand('python-server.py'), { PORT: String(port) }, port);
    expect(result).toMatchObject({ cause: 'port-in-use', failureId: 'port-in-use-python', exitStatus: 1 });
    expect(result.line).toBe('OSError: [Errno 98] Address already in use');
    await holder.stop();
    await assertAllGone([holder.pid]);
  });

  it("node's and python's real missing-module errors are module-not-found, naming the module", async () => {
    const node = await runAndClassify([process.execPath, '-e', "require('naija-sup-no-such-package')"]);
    expect(node).toMatchObject({ cause: 'module-not-found', failureId: 'module-not-found-node', exitStatus: 1 });
    expect(node.summary).toContain('naija-sup-no-such-package');
    const python = await runAndClassify(['/usr/bin/python3', '-c', 'import naija_sup_no_such_module']);
    expect(python).toMatchObject({ cause: 'module-not-found', failureId: 'module-not-found-python', exitStatus: 1 });
    expect(python.fix).toContain('naija_sup_no_such_module');
  });

  it('crash-after.mjs: a plain crash is exit-code with its code', async () => {
    const app = await startFixture('crash-after.mjs', { CRASH_CODE: '3', CRASH_AFTER_MS: '50' });
    const exit = await app.child.waitForExit();
    expect(app.child.stderrTail()).toEqual(['CRASH-AFTER: crashing on purpose with code 3']);
    expect(classifyExit({ ...exit, stderrTail: app.child.stderrTail() })).toMatchObject({ cause: 'exit-code', exitStatus: 3 });
    await assertAllGone([app.pid]);
  });

  it('exit-with.mjs killed by SIGKILL is "killed" with status 137', async () => {
    const result = await runAndClassify(fixtureCommand('exit-with.mjs'), { EXIT_SIGNAL: 'SIGKILL' });
    expect(result).toMatchObject({ cause: 'killed', exitStatus: 137 });
  });
});
