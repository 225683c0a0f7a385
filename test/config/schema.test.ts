/**
 * Every key's valid and invalid forms in a file, through the resolver (the same path a real file
 * takes): the resolved value, its source, and the exact problem line.
 */
import { describe, expect, it } from 'vitest';
import { configLeaves, envTwinName, sanitizeName, compileMatchPattern, normalizeSignal } from '../../src/config/schema.js';
import { at, errorOf, FILE, nested, resolveWith } from './helpers.js';

interface KeyCases {
  valid: Array<[unknown, unknown]>;
  /** [value, the exact problem line] */
  invalid: Array<[unknown, string]>;
}

const CASES: Record<string, KeyCases> = {
  name: {
    valid: [['my-api', 'my-api'], ['@Acme/Shop API', 'acme-shop-api'], ['..hidden..', 'hidden'], ['x'.repeat(80), 'x'.repeat(64)]],
    invalid: [[5, 'name: expected a name with letters or digits, got 5'], ['!!!', 'name: expected a name with letters or digits, got "!!!"']],
  },
  command: {
    valid: [
      ['node server.js', ['node', 'server.js']],
      [['node', 'my server.js'], ['node', 'my server.js']],
      ["python -c 'print(1)'", ['python', '-c', 'print(1)']],
      [['sh', '-c', 'exec node a.js | tee log'], ['sh', '-c', 'exec node a.js | tee log']],
    ],
    invalid: [
      ['', 'command: expected a command: a string like "node server.js" or an array like ["node", "server.js"], got ""'],
      [[], 'command: expected a command: a string like "node server.js" or an array like ["node", "server.js"], got []'],
      [['node', 5], 'command[1]: expected a string, got 5'],
      [['', 'x'], 'command[0]: expected a program name, got ""'],
      ["node 'server.js", 'command: expected a command line, got "node \'server.js" (unterminated single quote (opened at character 6))'],
      [{ run: 'x' }, 'command: expected a command: a string like "node server.js" or an array like ["node", "server.js"], got {"run":"x"}'],
    ],
  },
  cwd: {
    valid: [['api', '/srv/app/api'], ['../other', '/srv/other'], ['/opt/app', '/opt/app']],
    invalid: [[3, 'cwd: expected a directory path, got 3'], ['  ', 'cwd: expected a directory path, got "  "']],
  },
  env: {
    valid: [[{ NODE_ENV: 'production', WORKERS: 2, DEBUG: false }, { NODE_ENV: 'production', WORKERS: '2', DEBUG: 'false' }], [{}, {}]],
    invalid: [
      [{ A: { b: 1 } }, 'env.A: expected a string, number or boolean, got {"b":1}'],
      [{ A: null }, 'env.A: expected a string, number or boolean, got null'],
      [{ 'A=B': 'x' }, 'env["A=B"]: expected a variable name without "=", got this name'],
      [['A=1'], 'env: expected an object of environment variables like {"NODE_ENV": "production"}, got ["A=1"]'],
    ],
  },
  port: {
    valid: [[1, 1], [3000, 3000], [65535, 65535]],
    invalid: [
      [0, 'port: expected a port 1–65535, got 0'],
      [65536, 'port: expected a port 1–65535, got 65536'],
      [80.5, 'port: expected a port 1–65535, got 80.5'],
      ['8000', 'port: expected a port 1–65535, got "8000"'],
    ],
  },
  host: {
    valid: [['0.0.0.0', '0.0.0.0'], ['::1', '::1'], ['localhost', 'localhost']],
    invalid: [['', 'host: expected a host name or IP address, got ""'], ['a b', 'host: expected a host name or IP address, got "a b"'], [5, 'host: expected a host name or IP address, got 5']],
  },
  pidFile: {
    valid: [['run/api.pid', '/srv/app/run/api.pid'], ['/var/run/api.pid', '/var/run/api.pid'], [null, null]],
    invalid: [['', 'pidFile: expected a file path or null, got ""'], [false, 'pidFile: expected a file path or null, got false']],
  },
  portFallback: {
    valid: [[true, true], [false, false]],
    invalid: [['yes', 'portFallback: expected true or false, got "yes"'], [1, 'portFallback: expected true or false, got 1']],
  },
  'health.type': {
    valid: [['http', 'http'], ['tcp', 'tcp']],
    invalid: [['udp', 'health.type: expected one of "http", "tcp", "log", got "udp"'], ['HTTP', 'health.type: expected one of "http", "tcp", "log", got "HTTP"']],
  },
  'health.path': {
    valid: [['/healthz', '/healthz'], ['/', '/']],
    invalid: [['health', 'health.path: expected a path starting with "/", got "health"'], ['/a b', 'health.path: expected a path starting with "/", got "/a b"']],
  },
  'health.timeout': {
    valid: [['5s', 5000], [1500, 1500], ['1.5s', 1500], ['2m', 120_000], ['0ms', 0]],
    invalid: [
      ['fast', 'health.timeout: expected a duration like "5s", got "fast"'],
      [-1, 'health.timeout: expected a duration like "5s", got -1'],
      [1.5, 'health.timeout: expected a duration like "5s", got 1.5'],
      ['500', 'health.timeout: expected a duration like "5s", got "500" (add a unit: "500ms" or "500s")'],
      [3_000_000_000, 'health.timeout: expected a duration of at most 2147483647ms, got 3000000000'],
    ],
  },
  'health.interval': { valid: [['100ms', 100]], invalid: [['often', 'health.interval: expected a duration like "5s", got "often"']] },
  'health.startupTimeout': { valid: [['1m', 60_000]], invalid: [[true, 'health.startupTimeout: expected a duration like "5s", got true']] },
  'health.log': {
    valid: [['listening on port \\d+', 'listening on port \\d+'], [null, null]],
    invalid: [
      ['(', 'health.log: expected a regular expression that compiles, got "(" (Invalid regular expression: /(/: Unterminated group)'],
      ['', 'health.log: expected a regular expression (a non-empty string) or null, got ""'],
      [5, 'health.log: expected a regular expression (a non-empty string) or null, got 5'],
    ],
  },
  'health.liveness': {
    valid: [
      [null, null],
      [{}, { type: 'http', path: '/health', interval: 5000, timeout: 2000, failureThreshold: 3 }],
      [{ type: 'tcp', interval: '10s', timeout: 500, failureThreshold: 1, path: '/live' }, { type: 'tcp', path: '/live', interval: 10_000, timeout: 500, failureThreshold: 1 }],
    ],
    invalid: [
      [{ timeout: 'fast' }, 'health.liveness.timeout: expected a duration like "5s", got "fast"'],
      [{ failureThreshold: 0 }, 'health.liveness.failureThreshold: expected an integer ≥ 1, got 0'],
      [{ type: 'log' }, 'health.liveness.type: expected one of "http", "tcp", got "log"'],
      [{ path: 'live' }, 'health.liveness.path: expected a path starting with "/", got "live"'],
      [{ timout: '1s' }, 'health.liveness.timout: unknown key; did you mean "health.liveness.timeout"?'],
      ['on', 'health.liveness: expected null or an object like {"type": "http", "interval": "5s"}, got "on"'],
    ],
  },
  'restart.policy': {
    valid: [['always', 'always'], ['never', 'never'], ['on-failure', 'on-failure']],
    invalid: [['sometimes', 'restart.policy: expected one of "on-failure", "always", "never", got "sometimes"']],
  },
  'restart.initialDelay': { valid: [['1s', 1000]], invalid: [['soon', 'restart.initialDelay: expected a duration like "5s", got "soon"']] },
  'restart.maxDelay': { valid: [['1m', 60_000]], invalid: [[null, 'restart.maxDelay: expected a duration like "5s", got null']] },
  'restart.factor': {
    valid: [[1, 1], [1.5, 1.5], [3, 3]],
    invalid: [[0.5, 'restart.factor: expected a number ≥ 1, got 0.5'], ['2', 'restart.factor: expected a number ≥ 1, got "2"']],
  },
  'restart.maxRestarts': {
    valid: [[0, 0], [10, 10]],
    invalid: [[-1, 'restart.maxRestarts: expected an integer ≥ 0, got -1'], [1.5, 'restart.maxRestarts: expected an integer ≥ 0, got 1.5']],
  },
  'restart.window': { valid: [['5m', 300_000]], invalid: [['an hour', 'restart.window: expected a duration like "5s", got "an hour"']] },
  'restart.minUptime': { valid: [['0s', 0]], invalid: [['10', 'restart.minUptime: expected a duration like "5s", got "10" (add a unit: "10ms" or "10s")']] },
  'shutdown.signal': {
    valid: [['SIGINT', 'SIGINT'], ['TERM', 'SIGTERM'], ['hup', 'SIGHUP'], ['SIGUSR2', 'SIGUSR2'], ['QUIT', 'SIGQUIT']],
    invalid: [
      ['SIGKILL', 'shutdown.signal: expected a signal name: SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, got "SIGKILL"'],
      [15, 'shutdown.signal: expected a signal name: SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, got 15'],
    ],
  },
  'shutdown.timeout': { valid: [['10s', 10_000], [0, 0]], invalid: [['10 seconds', 'shutdown.timeout: expected a duration like "5s", got "10 seconds"']] },
  'cleanup.killExisting': { valid: [[true, true]], invalid: [[1, 'cleanup.killExisting: expected true or false, got 1']] },
  'cleanup.match': {
    valid: [['start_server.py', ['start_server.py']], [['uvicorn main:app', '/gunicorn.*app/i'], ['uvicorn main:app', '/gunicorn.*app/i']], [[], []]],
    invalid: [
      ['/(/', 'cleanup.match: expected a regular expression that compiles, got "/(/" (Invalid regular expression: /(/: Unterminated group)'],
      [['ok', 3], 'cleanup.match[1]: expected a non-empty substring or "/regex/flags", got 3'],
      [[''], 'cleanup.match[0]: expected a non-empty substring or "/regex/flags", got ""'],
      [5, 'cleanup.match: expected a substring, "/regex/flags", or an array of them, got 5'],
    ],
  },
  'bcrypt.fallback': { valid: [[true, true], [false, false]], invalid: [['no', 'bcrypt.fallback: expected true or false, got "no"']] },
};

describe('schema: every key', () => {
  it('has cases here for every leaf of the schema', () => {
    expect(Object.keys(CASES).sort()).toEqual(configLeaves.map((l) => l.path).sort());
  });

  for (const [key, { valid, invalid }] of Object.entries(CASES)) {
    describe(key, () => {
      it.each(valid)('accepts %j', (input, expected) => {
        const loaded = resolveWith(nested(key, input));
        expect(at(loaded.config, key)).toEqual(expected);
        expect(loaded.sources[key]).toEqual({ kind: 'file', file: FILE });
      });

      it.each(invalid)('rejects %j', (input, line) => {
        const error = errorOf(() => resolveWith(nested(key, input)));
        expect(error.code).toBe('E_CONFIG_INVALID');
        expect(error.exitStatus).toBe(2);
        expect(error.details).toEqual([line]);
      });
    });
  }
});

describe('schema: defaults', () => {
  it('resolves every key to its default without a file', () => {
    const loaded = resolveWith(undefined, { packageNameOf: () => null });
    expect(loaded.filepath).toBeNull();
    expect(loaded.config).toEqual({
      name: 'app',
      command: [],
      cwd: '/srv/app',
      env: {},
      port: 8000,
      host: '127.0.0.1',
      pidFile: null,
      portFallback: false,
      health: { type: 'http', path: '/health', timeout: 2000, interval: 250, startupTimeout: 30_000, log: null, liveness: null },
      restart: { policy: 'on-failure', initialDelay: 100, maxDelay: 30_000, factor: 2, maxRestarts: 5, window: 60_000, minUptime: 10_000 },
      shutdown: { signal: 'SIGTERM', timeout: 30_000 },
      cleanup: { killExisting: false, match: [] },
      bcrypt: { fallback: false },
    });
    for (const { path } of configLeaves) expect(loaded.sources[path]).toEqual({ kind: 'default' });
    expect(Object.keys(loaded.sources)).toEqual(configLeaves.map((l) => l.path));
  });

  it('defaults the name to package.json\'s name in cwd (sanitized), else the folder name', () => {
    const seen: string[] = [];
    const fromPackage = resolveWith({ cwd: 'services/api' }, { packageNameOf: (dir) => (seen.push(dir), '@acme/Shop-API') });
    expect(fromPackage.config.name).toBe('acme-shop-api');
    expect(seen).toEqual(['/srv/app/services/api']);
    expect(resolveWith({ cwd: 'My Service' }, { packageNameOf: () => null }).config.name).toBe('my-service');
  });

  it('defaults liveness.path to health.path', () => {
    const loaded = resolveWith({ health: { path: '/ready', liveness: { type: 'http' } } });
    expect(loaded.config.health.liveness?.path).toBe('/ready');
  });

  it('defaults cwd to the config file\'s folder', () => {
    expect(resolveConfigAt('/etc/naija/app.json').config.cwd).toBe('/etc/naija');
  });
});

function resolveConfigAt(filepath: string) {
  return resolveWith({}, { filepath });
}

describe('schema: rules across keys', () => {
  it('requires health.log when health.type is "log"', () => {
    expect(errorOf(() => resolveWith({ health: { type: 'log' } })).details).toEqual([
      'health.log: required when health.type is "log" (a regular expression matching the line the server prints when ready)',
    ]);
    expect(resolveWith({ health: { type: 'log', log: 'ready on \\d+' } }).config.health).toMatchObject({ type: 'log', log: 'ready on \\d+' });
  });

  it('requires restart.maxDelay ≥ restart.initialDelay', () => {
    expect(errorOf(() => resolveWith({ restart: { initialDelay: '10s', maxDelay: '5s' } })).details).toEqual([
      'restart.maxDelay: expected at least restart.initialDelay (10s), got 5s',
    ]);
  });
});

describe('schema helpers', () => {
  it('names the NAIJA_SUP_ twin of a key', () => {
    expect(envTwinName('restart.maxRestarts')).toBe('NAIJA_SUP_RESTART_MAX_RESTARTS');
    expect(envTwinName('health.startupTimeout')).toBe('NAIJA_SUP_HEALTH_STARTUP_TIMEOUT');
    expect(envTwinName('pidFile')).toBe('NAIJA_SUP_PID_FILE');
    expect(envTwinName('command')).toBe('NAIJA_SUP_COMMAND');
    expect(envTwinName('cleanup.match')).toBe('NAIJA_SUP_CLEANUP_MATCH');
  });

  it('sanitizes names to [a-z0-9._-]', () => {
    expect(sanitizeName('@scope/My_App v2')).toBe('scope-my_app-v2');
    expect(sanitizeName('../../etc/passwd')).toBe('etc-passwd');
    expect(sanitizeName('---')).toBe('');
  });

  it('compiles cleanup.match patterns: substrings and /regex/flags', () => {
    expect(compileMatchPattern('start_server.py')('python start_server.py --port 8000')).toBe(true);
    expect(compileMatchPattern('start_server.py')('python other.py')).toBe(false);
    const regex = compileMatchPattern('/UVICORN\\s+main/ig');
    // Stateful flags (g, y) are dropped: the same test twice gives the same answer.
    expect(regex('uvicorn   main:app')).toBe(true);
    expect(regex('uvicorn   main:app')).toBe(true);
    expect(regex('gunicorn app')).toBe(false);
    expect(compileMatchPattern('/usr/bin/python app.py')('/usr/bin/python app.py')).toBe(true);
    expect(() => compileMatchPattern('/(/')).toThrow(SyntaxError);
  });

  it('normalizes signal names', () => {
    expect(normalizeSignal('TERM')).toBe('SIGTERM');
    expect(normalizeSignal(' sigint ')).toBe('SIGINT');
    expect(normalizeSignal('SIGKILL')).toBeUndefined();
    expect(normalizeSignal(undefined)).toBeUndefined();
  });
});
