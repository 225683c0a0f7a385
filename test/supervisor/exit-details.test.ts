/**
 * The exact words and edges of exit classification (classify.ts, wrapper-exit.ts, failures.ts),
 * bind checks (bind-check.ts) and startup answers (startup-answers.ts): the scenario tests in
 * classify.test.ts and its neighbours check the cause of real error texts; these pin each
 * summary and fix a user reads, and each boundary of the parsers.
 */
import { describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/types.js';
import { failureById, KNOWN_FAILURES, matchFailure, renderFix } from '../../src/failures.js';
import { explainPortInUse, judgeListening, portInBindError } from '../../src/supervisor/bind-check.js';
import { classifyExit, exitStatusOf, RECENT_LINES } from '../../src/supervisor/classify.js';
import { readyDescription, StartupAnswers } from '../../src/supervisor/startup-answers.js';
import { signalNamed, signalReportedBy, wrapperName } from '../../src/supervisor/wrapper-exit.js';

const EADDRINUSE = 'Error: listen EADDRINUSE: address already in use :::8000';

describe('classifyExit: every summary and fix, word for word', () => {
  it('startup timeout and liveness failure', () => {
    expect(classifyExit({ code: null, signal: 'SIGTERM', stderrTail: [], startupTimedOut: true, port: 8000 })).toEqual({
      cause: 'startup-timeout',
      summary: 'did not become ready before the startup timeout',
      fix: 'Check that the server listens on port 8000 (it should read PORT and HOST) and that the health check answers 200–399; raise health.startupTimeout if it is only slow.',
      exitStatus: 143,
    });
    expect(classifyExit({ code: null, signal: 'SIGKILL', stderrTail: [], livenessFailed: true })).toEqual({
      cause: 'liveness-failed',
      summary: 'stopped answering its liveness probe',
      fix: 'Look for a hang in its log (a blocked event loop, a deadlock, an exhausted pool), or raise health.liveness.timeout or failureThreshold.',
      exitStatus: 137,
    });
  });

  it('a clean exit', () => {
    expect(classifyExit({ code: 0, signal: null, stderrTail: [] })).toEqual({
      cause: 'clean-exit',
      summary: 'exited with code 0',
      fix: 'A server should keep running: check that the command starts the server and does not exit after setup (e.g. a missing listen() or a backgrounding script).',
      exitStatus: 0,
    });
  });

  const crashFix = 'The runtime or a native module crashed: check native dependencies with `naija-sup doctor` and keep the stderr tail for a bug report.';
  const outsideFix = 'Something else stopped it (a `kill`, a deploy script, the system shutting down); stop it with `naija-sup stop` instead.';
  it.each([
    ['SIGKILL', 137, 'killed by SIGKILL (possibly the out-of-memory killer)', 'If nobody killed it on purpose, look for "Out of memory: Killed process" in `dmesg` or `journalctl -k`, then give it more memory or find the leak.'],
    ['SIGSEGV', 139, 'crashed with SIGSEGV (segmentation fault)', crashFix],
    ['SIGBUS', 135, 'crashed with SIGBUS (bus error)', crashFix],
    ['SIGILL', 132, 'crashed with SIGILL (illegal instruction)', crashFix],
    ['SIGFPE', 136, 'crashed with SIGFPE (arithmetic error)', crashFix],
    ['SIGABRT', 134, 'aborted with SIGABRT', 'Node aborts like this when its heap is full ("JavaScript heap out of memory"): raise --max-old-space-size or find the leak; otherwise check native modules.'],
    ['SIGTERM', 143, 'terminated by SIGTERM from outside naija-sup', outsideFix],
    ['SIGINT', 130, 'terminated by SIGINT from outside naija-sup', outsideFix],
    ['SIGHUP', 129, 'terminated by SIGHUP from outside naija-sup', outsideFix],
    ['SIGQUIT', 131, 'terminated by SIGQUIT from outside naija-sup', outsideFix],
    ['SIGUSR2', 140, 'killed by SIGUSR2', 'Find what sent SIGUSR2; a server that should handle it needs a handler.'],
  ] as const)('%s', (signal, exitStatus, summary, fix) => {
    expect(classifyExit({ code: null, signal, stderrTail: [] })).toEqual({ cause: 'killed', summary, fix, exitStatus, signal });
  });

  const readFix = 'Read the stderr tail above for the error; run the command by hand in the app directory to reproduce it.';
  it.each([
    [127, 'exited with code 127 (command not found)', 'A shell or script could not find a command: check the spelling and PATH in the stderr tail.'],
    [126, 'exited with code 126 (command not executable)', 'A shell or script found a command but could not run it: check its permissions (`chmod +x`).'],
    [137, 'exited with code 137 (128 + 9: what a shell reports for a child killed by SIGKILL)', readFix],
    [1, 'exited with code 1', readFix],
  ])('code %i', (code, summary, fix) => {
    expect(classifyExit({ code, signal: null, stderrTail: [] })).toEqual({ cause: 'exit-code', summary, fix, exitStatus: code });
  });

  it('no code and no signal: an unknown code, status 1, and no stderr report can make it a kill', () => {
    expect(classifyExit({ code: null, signal: null, stderrTail: ['npm ERR! signal SIGKILL'], command: ['npm', 'start'] })).toEqual({
      cause: 'exit-code', summary: 'exited with an unknown code', fix: readFix, exitStatus: 1,
    });
  });

  it('a wrapper that names the signal but exits with another code says so', () => {
    expect(classifyExit({ code: 1, signal: null, stderrTail: ['npm ERR! signal SIGKILL'], command: ['npm', 'start'] })).toMatchObject({
      cause: 'killed', signal: 'SIGKILL', exitStatus: 1, summary: 'killed by SIGKILL (possibly the out-of-memory killer; reported by npm, which exited 1)',
    });
  });

  it('known failures: the summary names the port (or "the port") and the module', () => {
    expect(classifyExit({ code: 1, signal: null, stderrTail: ['Error: listen EACCES: permission denied 0.0.0.0:80'], port: 80 })).toMatchObject({
      cause: 'permission-denied', summary: 'not allowed to bind port 80 (permission denied)',
    });
    expect(classifyExit({ code: 1, signal: null, stderrTail: ['Error: listen EACCES: permission denied 0.0.0.0:80'] }).summary).toBe('not allowed to bind the port (permission denied)');
    expect(classifyExit({ code: 1, signal: null, stderrTail: [EADDRINUSE], port: 8000 })).toMatchObject({
      cause: 'port-in-use', summary: 'port 8000 is already in use', failureId: 'port-in-use-node', line: EADDRINUSE, exitStatus: 1,
    });
    expect(classifyExit({ code: 1, signal: null, stderrTail: ["Error: Cannot find module 'express'"] }).summary).toBe('a Node module is missing: express');
    // A failure that names no module says only what it is.
    expect(classifyExit({ code: 1, signal: null, stderrTail: ['NODE_MODULE_VERSION 115. This version of Node.js requires'] }).summary).toBe(
      'a native module was built for another Node.js version',
    );
  });

  it(`after a first ready, reads exactly the last ${RECENT_LINES} lines`, () => {
    const filler = (n: number) => Array.from({ length: n }, (_, i) => `log line ${i}`);
    const inside = [EADDRINUSE, ...filler(RECENT_LINES - 1)];
    const outside = [EADDRINUSE, ...filler(RECENT_LINES)];
    expect(classifyExit({ code: 1, signal: null, stderrTail: [], stderr: inside, wasReady: true }).cause).toBe('port-in-use');
    expect(classifyExit({ code: 1, signal: null, stderrTail: [], stderr: outside, wasReady: true }).cause).toBe('exit-code');
    expect(classifyExit({ code: 1, signal: null, stderrTail: [], stderr: outside, wasReady: false }).cause).toBe('port-in-use');
  });
});

describe('exitStatusOf', () => {
  it('is the code, 128 + the signal, or 1 (also for a signal it does not know)', () => {
    expect(exitStatusOf({ code: 2, signal: 'SIGTERM' })).toBe(2);
    expect(exitStatusOf({ code: null, signal: 'SIGTERM' })).toBe(143);
    expect(exitStatusOf({ code: null, signal: 'SIGNOPE' as NodeJS.Signals })).toBe(1);
    expect(exitStatusOf({ code: null, signal: null })).toBe(1);
  });
});

describe('signalNamed', () => {
  it('names 1 to 31, the first of an alias pair, and nothing outside', () => {
    expect([0, 1, 6, 29, 31, 32, -9, 9.5].map(signalNamed)).toEqual([undefined, 'SIGHUP', 'SIGABRT', 'SIGIO', 'SIGSYS', undefined, undefined, undefined]);
  });
});

describe('wrapperName', () => {
  it.each([
    [['npm', 'start'], 'npm'],
    [['/usr/bin/npx.cmd', 'tsx', 'a.ts'], 'npx'],
    [['env', 'NODE_ENV=production', '-i', 'yarn', 'start'], 'yarn'],
    [['env', 'A=1'], null],
    [['env', '-i', 'pnpm', 'start'], 'pnpm'],
    ...['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh'].map((shell) => [[shell, '-c', 'node s.js'], shell] as [string[], string]),
    [['bash', '-lc', 'node s.js'], 'bash'],
    [['sh', '-ce', 'node s.js'], 'sh'],
    [['sh', 'start.sh'], null],
    [['sh', 'x-c', 'node s.js'], null],
    [['sh', '-c1'], null],
    [['node_modules/.bin/nest', 'start'], 'nest'],
    [['/app/node_modules/.bin/nest', 'start'], 'nest'],
    [['/app/node_modules/.bin/nest/extra'], null],
    [['node', '/usr/lib/node_modules/npm/bin/npm-cli.js', 'start'], 'npm'],
    [['node', 'np-cli.jsm'], null],
    [['node', 'node_modules/.bin/nest', 'start'], 'nest'],
    [['node', 'server.js'], null],
    [['node'], null],
    [['python3', '/x/npm-cli.js'], null],
    [['python3', 'node_modules/.bin/nest'], null],
    [['np.cmdm', 'start'], null],
    [['NPM.CMD', 'start'], null],
    [['yarn.CMD', 'start'], 'yarn'],
    [[], null],
  ] as const)('%j → %s', (command, name) => {
    expect(wrapperName(command)).toBe(name);
  });
});

describe('signalReportedBy', () => {
  it('never for exit 0, whatever stderr says', () => {
    expect(signalReportedBy(0, ['npm', 'start'], ['npm ERR! signal SIGKILL'])).toBeNull();
  });

  it('a shell\'s word is credited to the wrapper the user ran, else to the shell', () => {
    expect(signalReportedBy(137, ['npm', 'start'], ['Killed'])).toEqual({ signal: 'SIGKILL', by: 'npm' });
    expect(signalReportedBy(137, ['node', 'server.js'], ['  Killed  '])).toEqual({ signal: 'SIGKILL', by: 'the shell' });
    expect(signalReportedBy(1, ['sh', '-c', 'npm start'], ['npm error signal SIGTERM'])).toEqual({ signal: 'SIGTERM', by: 'npm' });
    expect(signalReportedBy(1, ['node', 'x.js'], ['error Command failed with signal "SIGTERM".'])).toEqual({ signal: 'SIGTERM', by: 'yarn' });
  });

  it.each([
    ['Aborted', 134, 'SIGABRT'],
    ['Segmentation fault (core dumped)', 139, 'SIGSEGV'],
    ['Bus error', 135, 'SIGBUS'],
    ['Illegal instruction', 132, 'SIGILL'],
    ['Floating point exception', 136, 'SIGFPE'],
    ['Hangup', 129, 'SIGHUP'],
    ['Quit (core dumped)', 131, 'SIGQUIT'],
    ['Terminated', 143, 'SIGTERM'],
  ])('a shell\'s "%s" with exit %i is %s', (word, code, signal) => {
    expect(signalReportedBy(code, ['node', 's.js'], [word])).toEqual({ signal, by: 'the shell' });
    // The word must fit the code exactly.
    expect(signalReportedBy(code + 1, ['node', 's.js'], [word])).toBeNull();
  });

  it('npm\'s report only as a whole line, with a whole signal name', () => {
    expect(signalReportedBy(1, ['node', 's.js'], ['> npm ERR! signal SIGKILL'])).toBeNull();
    expect(signalReportedBy(1, ['node', 's.js'], ['npm ERR! signal SIGKILL now'])).toBeNull();
    expect(signalReportedBy(1, ['node', 's.js'], ['npm ERR! signal SIGKILLx'])).toBeNull();
    expect(signalReportedBy(1, ['node', 's.js'], ['npm ERR! signal SIGNOPE'])).toBeNull();
  });
});

describe('the failure table', () => {
  it('gives every entry a title and a one-line fix', () => {
    for (const failure of KNOWN_FAILURES) {
      expect(failure.title.length, failure.id).toBeGreaterThan(15);
      expect(failure.fix.length, failure.id).toBeGreaterThan(30);
      expect(failure.fix, failure.id).not.toContain('\n');
      expect(failure.patterns.length, failure.id).toBeGreaterThan(0);
    }
    expect(new Set(KNOWN_FAILURES.map((f) => f.id)).size).toBe(KNOWN_FAILURES.length);
  });

  it('P4 is the warning that shares P2\'s text: found only when warnings count, after P2', () => {
    expect(failureById('P4')).toMatchObject({ cause: 'native-module', severity: 'warning', title: 'bcrypt ≥ 5 rejects passwords over 72 bytes' });
    expect(failureById('P1')).toMatchObject({ cause: 'native-module', severity: 'warning' });
    const line = 'ValueError: password cannot be longer than 72 bytes, truncate manually if necessary (e.g. my_password[:72])';
    expect(matchFailure([line])?.failure.id).toBe('P2');
    expect(matchFailure([line], { table: KNOWN_FAILURES.filter((f) => f.id !== 'P2') })?.failure.id).toBe('P4');
    expect(matchFailure([line], { table: KNOWN_FAILURES.filter((f) => f.id !== 'P2'), fatalOnly: true })).toBeNull();
  });

  it('NODE_MODULE_VERSION and the version mismatch need whole numbers', () => {
    const v = failureById('N1');
    expect(v?.patterns.some((p) => p.test('NODE_MODULE_VERSION 115'))).toBe(true);
    expect(matchFailure('was compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 108.')?.failure.id).toBe(v?.id);
  });

  it('reads a string as lines, split on \\n or \\r\\n', () => {
    const found = matchFailure(`booting\r\n${EADDRINUSE}\r\nbye`);
    expect(found).toStrictEqual({ failure: failureById('port-in-use-node'), line: EADDRINUSE });
    expect(matchFailure(`booting\n${EADDRINUSE}\nbye`)?.line).toBe(EADDRINUSE);
  });

  it('names no module when none is captured nor near, and the nearest node_modules package within three lines', () => {
    // No module key at all, not one set to undefined.
    expect(matchFailure([EADDRINUSE])).toStrictEqual({ failure: failureById('port-in-use-node'), line: EADDRINUSE });
    const version = 'NODE_MODULE_VERSION 115. This version of Node.js requires';
    const near = (gap: number) => ["Error: The module '/app/node_modules/@scope/pkg/build/x.node'", ...Array.from({ length: gap - 1 }, () => 'x'), version];
    expect(matchFailure(near(3))?.module).toBe('@scope/pkg');
    expect(matchFailure(near(4))?.module).toBeUndefined();
    expect(matchFailure(["Error: The module '/app/node_modules/bcrypt/lib/binding/napi-v3/bcrypt_lib.node'", version])?.module).toBe('bcrypt');
    expect(matchFailure(["at Object.<anonymous> (/app/node_modules/@a b/c.js)", version])?.module).toBe('@a');
  });

  it('a captured .node file outside node_modules is no module name; a captured name is', () => {
    expect(matchFailure(["Error: Cannot find module '/opt/build/addon.node'"])?.module).toBeUndefined();
    expect(matchFailure(["Error: Cannot find module 'left-pad.node.js'"])?.module).toBe('left-pad.node.js');
  });

  it('renderFix fills both placeholders, with defaults', () => {
    expect(renderFix('{port} and {module}; {port}')).toBe('the port and the module; the port');
    expect(renderFix('{port} and {module}', { port: 80, module: 'bcrypt' })).toBe('port 80 and bcrypt');
  });
});

describe('judgeListening: the other-host finding in full', () => {
  const at = (address: string, port: number) => ({ address, port, endpoint: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}` });
  const expected = { port: 8000, host: '127.0.0.1', privatePort: false };

  it('names each endpoint once, says whether it is reachable from outside, and offers the address it chose', () => {
    expect(judgeListening([at('10.0.0.5', 8000), at('10.0.0.5', 8000), at('10.0.0.6', 8000)], expected)).toEqual({
      kind: 'other-host',
      message: 'the server listens on 10.0.0.5:8000, 10.0.0.6:8000, not on 127.0.0.1 as configured (host)',
      fix: 'pass the host to the server (gunicorn -b 127.0.0.1:$PORT, uvicorn --host 127.0.0.1, app.listen(PORT, process.env.HOST)), or set host to 10.0.0.5 if that is what you want',
    });
    // One of them on the host is enough; one wildcard among them is reachable from outside.
    expect(judgeListening([at('10.0.0.5', 8000), at('127.0.0.1', 8000)], expected)).toBeNull();
    expect(judgeListening([at('10.0.0.5', 8000), at('0.0.0.0', 8000)], expected)?.message).toBe(
      'the server listens on 10.0.0.5:8000, 0.0.0.0:8000, not on 127.0.0.1 as configured (host): it is reachable from other machines too',
    );
  });

  it('the other-port fix in full', () => {
    expect(judgeListening([at('127.0.0.1', 3000)], expected)?.fix).toBe(
      'make the server listen on the port in the PORT environment variable (app.listen(process.env.PORT), uvicorn --port $PORT, gunicorn -b 127.0.0.1:$PORT), or set port to 3000',
    );
  });
});

describe('portInBindError at the port range\'s ends', () => {
  it.each([
    ['address already in use :::1', 1],
    ['address already in use :::65535', 65535],
    ['address already in use :::65536', null],
    ['address already in use :::0', null],
    ["bind on address ('::', 443)", 443],
    ["bind on address ('::',443)", 443],
    ['listen 127.0.0.1:8080 then :9090', 9090],
  ])('%s → %s', (line, port) => {
    expect(portInBindError(line)).toBe(port);
  });

  it('explainPortInUse leaves a classification without a line alone', () => {
    const c = { cause: 'port-in-use', summary: 's', fix: 'f' };
    expect(explainPortInUse(c, 8000, undefined)).toBe(c);
  });
});

describe('StartupAnswers and readyDescription: the rest', () => {
  const config = { port: 8000, host: '127.0.0.1', health: { type: 'tcp', path: '/', startupTimeout: 30_000 } } as ResolvedConfig;

  it('counts every probe in attempts, and tells answers apart by status, or by detail without timings', () => {
    const answers = new StartupAnswers();
    expect(answers.count({ ok: false, status: 500, detail: 'a' })).toBe(true);
    expect(answers.count({ ok: false, status: 500, detail: 'b' })).toBe(false);
    expect(answers.count({ ok: false, status: 503, detail: 'b' })).toBe(true);
    expect(answers.count({ ok: false, detail: 'HTTP 503' })).toBe(false);
    expect(answers.count({ ok: false, detail: 'timed out after 12.5 ms' })).toBe(true);
    expect(answers.count({ ok: false, detail: 'timed out after 7 ms' })).toBe(false);
    expect(answers.count({ ok: false, detail: 'timed out after 7 s' })).toBe(true);
    expect(answers.count({ ok: false, detail: 'timed out after 1.x ms' })).toBe(true);
    expect(answers.attempts).toBe(8);
    // Timings with any number of decimals are removed, not replaced.
    const timings = new StartupAnswers();
    expect(timings.count({ ok: false, detail: 'no answer after 12.55 ms' })).toBe(true);
    expect(timings.count({ ok: false, detail: 'no answer after 3 ms' })).toBe(false);
    expect(timings.count({ ok: false, detail: 'no answer after ' })).toBe(false);
    expect(answers.times).toBe(1);
  });

  it('a tcp check is ready when it accepts connections', () => {
    expect(readyDescription(config, { ok: true, detail: 'connected' })).toEqual({ url: 'http://127.0.0.1:8000', how: 'accepts TCP connections' });
  });
});
