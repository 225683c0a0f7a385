/**
 * Every key's valid and invalid forms in a file, through the resolver (the same path a real file
 * takes): the resolved value, its source, and the exact problem line.
 */
import { describe, expect, it } from 'vitest';
import { configLeaves, envTwinName, sanitizeName, compileMatchPattern, normalizeSignal, splitHostPort } from '../../src/config/schema.js';
import { at, errorOf, FILE, nested, resolveWith } from './helpers.js';

/** health.readiness with every field at its default, with health.* at theirs. */
const READINESS_DEFAULTS = { type: 'auto', path: '/', log: null, interval: 5000, timeout: 2000, failureThreshold: 3, successThreshold: 1 };

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
  redact: {
    valid: [['MY_VAR', ['MY_VAR']], [['a.b', 'X-Y', 'Z_9'], ['a.b', 'X-Y', 'Z_9']], [[], []]],
    invalid: [
      [3, 'redact: expected a variable name like "MY_VAR", or an array of them, got 3'],
      [['ok', 'no=pe'], 'redact[1]: expected a variable name (letters, digits, "_", "." or "-") like "MY_VAR", got "no=pe"'],
      ['', 'redact: expected a variable name (letters, digits, "_", "." or "-") like "MY_VAR", got ""'],
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
    invalid: [['udp', 'health.type: expected one of "auto", "http", "tcp", "log", got "udp"'], ['HTTP', 'health.type: expected one of "auto", "http", "tcp", "log", got "HTTP"']],
  },
  'health.path': {
    valid: [['/healthz', '/healthz'], ['/', '/'], ['/status%20page?full=1', '/status%20page?full=1'], ["/a:b@c/!$&'()*+,;=-._~", "/a:b@c/!$&'()*+,;=-._~"]],
    invalid: [
      ['health', `health.path: expected a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1", got "health"`],
      ['/a b', `health.path: expected a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1", got "/a b"`],
      ['/x\r\nX-Evil: 1', `health.path: expected a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1", got "/x\\r\\nX-Evil: 1"`],
      ['//evil.example/health', `health.path: expected a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1", got "//evil.example/health"`],
      ['/100%', `health.path: expected a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1", got "/100%"`],
      ['/caf\u00e9', `health.path: expected a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1", got "/café"`],
      ['/health#top', `health.path: expected a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1", got "/health#top"`],
    ],
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
      [{}, { type: 'auto', path: '/', interval: 5000, timeout: 2000, failureThreshold: 3 }],
      [{ type: 'tcp', interval: '10s', timeout: 500, failureThreshold: 1, path: '/live' }, { type: 'tcp', path: '/live', interval: 10_000, timeout: 500, failureThreshold: 1 }],
    ],
    invalid: [
      [{ timeout: 'fast' }, 'health.liveness.timeout: expected a duration like "5s", got "fast"'],
      [{ failureThreshold: 0 }, 'health.liveness.failureThreshold: expected an integer ≥ 1, got 0'],
      [{ type: 'log' }, 'health.liveness.type: expected one of "auto", "http", "tcp", got "log"'],
      [{ path: 'live' }, `health.liveness.path: expected a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1", got "live"`],
      [{ timout: '1s' }, 'health.liveness.timout: unknown key; did you mean "health.liveness.timeout"?'],
      ['on', 'health.liveness: expected null or an object like {"type": "http", "interval": "5s"}, got "on"'],
    ],
  },
  'health.readiness': {
    valid: [
      [null, null],
      [false, null],
      [true, READINESS_DEFAULTS],
      [{}, READINESS_DEFAULTS],
      [
        { type: 'tcp', path: '/ready', interval: '10s', timeout: 500, failureThreshold: 2, successThreshold: 3 },
        { type: 'tcp', path: '/ready', log: null, interval: 10_000, timeout: 500, failureThreshold: 2, successThreshold: 3 },
      ],
      [{ type: 'log', log: 'accepting connections' }, { ...READINESS_DEFAULTS, type: 'log', log: 'accepting connections' }],
    ],
    invalid: [
      [{ successThreshold: 0 }, 'health.readiness.successThreshold: expected an integer ≥ 1, got 0'],
      [{ failureThreshold: 1.5 }, 'health.readiness.failureThreshold: expected an integer ≥ 1, got 1.5'],
      [{ type: 'udp' }, 'health.readiness.type: expected one of "auto", "http", "tcp", "log", got "udp"'],
      [{ interval: 'often' }, 'health.readiness.interval: expected a duration like "5s", got "often"'],
      [{ log: '(' }, 'health.readiness.log: expected a regular expression that compiles, got "(" (Invalid regular expression: /(/: Unterminated group)'],
      [{ path: 'ready' }, `health.readiness.path: expected a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1", got "ready"`],
      [{ sucessThreshold: 2 }, 'health.readiness.sucessThreshold: unknown key; did you mean "health.readiness.successThreshold"?'],
      [{ zzz: 1 }, 'health.readiness.zzz: unknown key (known keys in health.readiness: type, path, log, interval, timeout, failureThreshold, successThreshold)'],
      [{ type: 'log' }, 'health.readiness.log: required when health.readiness.type is "log" (a regular expression matching the line that shows the server is ready)'],
      ['on', 'health.readiness: expected null, true, false or an object like {"type": "http", "interval": "5s"}, got "on"'],
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
  'restart.startRetries': {
    valid: [[0, 0], [5, 5]],
    invalid: [[-1, 'restart.startRetries: expected an integer ≥ 0, got -1'], [null, 'restart.startRetries: expected an integer ≥ 0, got null']],
  },
  'restart.maxRestarts': {
    valid: [[0, 0], [10, 10], [null, null]],
    invalid: [[-1, 'restart.maxRestarts: expected an integer ≥ 0 or null, got -1'], [1.5, 'restart.maxRestarts: expected an integer ≥ 0 or null, got 1.5'], ['none', 'restart.maxRestarts: expected an integer ≥ 0 or null, got "none"']],
  },
  'restart.window': { valid: [['5m', 300_000]], invalid: [['an hour', 'restart.window: expected a duration like "5s", got "an hour"']] },
  'restart.minUptime': { valid: [['0s', 0]], invalid: [['10', 'restart.minUptime: expected a duration like "5s", got "10" (add a unit: "10ms" or "10s")']] },
  'restart.standby': { valid: [[true, true], [false, false]], invalid: [['yes', 'restart.standby: expected true or false, got "yes"']] },
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
  dependsOn: {
    valid: [
      [[], []],
      [[{ name: 'db', tcp: 'localhost:5432' }], [{ name: 'db', tcp: 'localhost:5432', http: null }]],
      [
        [{ name: 'v6', tcp: '[::1]:5432' }, { name: 'search', http: 'https://search.internal:9200/_cluster/health?local=true' }, { name: 'cache', tcp: '10.0.0.7:6379', http: null }],
        [
          { name: 'v6', tcp: '[::1]:5432', http: null },
          { name: 'search', tcp: null, http: 'https://search.internal:9200/_cluster/health?local=true' },
          { name: 'cache', tcp: '10.0.0.7:6379', http: null },
        ],
      ],
      [[{ name: 'edge', tcp: 'db.internal:1' }, { name: 'top', tcp: 'db:65535' }], [{ name: 'edge', tcp: 'db.internal:1', http: null }, { name: 'top', tcp: 'db:65535', http: null }]],
    ],
    invalid: [
      ['db', 'dependsOn: expected an array of dependencies like [{"name": "db", "tcp": "localhost:5432"}], got "db"'],
      [[5], 'dependsOn[0]: expected an object like {"name": "db", "tcp": "localhost:5432"}, got 5'],
      [[{ name: 'db', tcp: 'db:5432' }, { name: 'x' }], 'dependsOn[1]: expected exactly one of "tcp" ("host:port") or "http" (a URL), got neither'],
      [[{ name: 'db', tcp: 'db:5432', http: 'http://db/' }], 'dependsOn[0]: expected exactly one of "tcp" ("host:port") or "http" (a URL), got both'],
      [[{ tcp: 'db:5432' }], 'dependsOn[0].name: required (a name for messages and status, like "db")'],
      [[{ name: ' ', tcp: 'db:5432' }], 'dependsOn[0].name: expected a non-empty string, got " "'],
      [[{ name: 'db', tcp: 'localhost' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "localhost" (the port is missing)'],
      [[{ name: 'db', tcp: 'localhost:' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "localhost:" (the port is missing)'],
      [[{ name: 'db', tcp: 'localhost:70000' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "localhost:70000" (the port must be 1–65535)'],
      [[{ name: 'db', tcp: 'localhost:0' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "localhost:0" (the port must be 1–65535)'],
      [[{ name: 'db', tcp: 'localhost:pg' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "localhost:pg"'],
      [[{ name: 'db', tcp: '::1:5432' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "::1:5432" (write an IPv6 address in brackets: "[::1]:5432")'],
      [[{ name: 'db', tcp: '[db]:5432' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "[db]:5432" ("db" in brackets is not an IPv6 address)'],
      [[{ name: 'db', tcp: '[::1]' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "[::1]" (the port is missing)'],
      [[{ name: 'db', tcp: '[::1:5432' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "[::1:5432" (the "]" after the IPv6 address is missing)'],
      [[{ name: 'db', tcp: ':5432' }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got ":5432" (the host is missing)'],
      [[{ name: 'db', tcp: 5432 }], 'dependsOn[0].tcp: expected "host:port" like "localhost:5432", got 5432'],
      [[{ name: 'es', http: 'ftp://files/' }], 'dependsOn[0].http: expected an http:// or https:// URL like "http://localhost:9200/", got "ftp://files/" ("ftp:" is not http: or https:)'],
      [[{ name: 'es', http: 'localhost:9200' }], 'dependsOn[0].http: expected an http:// or https:// URL like "http://localhost:9200/", got "localhost:9200" (add the scheme: "http://localhost:9200")'],
      [[{ name: 'es', http: 'http://exa mple/' }], 'dependsOn[0].http: expected an http:// or https:// URL like "http://localhost:9200/", got "http://exa mple/"'],
      [[{ name: 'es', http: 'http://[oops/' }], 'dependsOn[0].http: expected an http:// or https:// URL like "http://localhost:9200/", got "http://[oops/"'],
      [
        [{ name: 'db', tcp: 'a:1' }, { name: 'cache', tcp: 'b:2' }, { name: 'db', http: 'http://c/' }],
        'dependsOn[2].name: expected a name no other dependency has, got "db" (dependsOn[0] has it too)',
      ],
    ],
  },
  'dependencies.timeout': {
    valid: [['30s', 30_000], [0, 0]],
    invalid: [['long', 'dependencies.timeout: expected a duration like "5s", got "long"']],
  },
  'dependencies.retries': {
    valid: [[0, 0], [10, 10]],
    invalid: [[-1, 'dependencies.retries: expected an integer ≥ 0, got -1'], ['3', 'dependencies.retries: expected an integer ≥ 0, got "3"']],
  },
  'status.port': {
    valid: [[9100, 9100], [1, 1], [65535, 65535], [null, null]],
    invalid: [
      [0, 'status.port: expected a port 1–65535 or null, got 0'],
      [65536, 'status.port: expected a port 1–65535 or null, got 65536'],
      ['9100', 'status.port: expected a port 1–65535 or null, got "9100"'],
      [false, 'status.port: expected a port 1–65535 or null, got false'],
    ],
  },
  'status.host': {
    valid: [['0.0.0.0', '0.0.0.0'], ['::1', '::1']],
    invalid: [['', 'status.host: expected a host name or IP address, got ""'], [null, 'status.host: expected a host name or IP address, got null']],
  },
  'status.maxConnections': {
    valid: [[1, 1], [64, 64], [1000, 1000]],
    invalid: [[0, 'status.maxConnections: expected an integer ≥ 1, got 0'], ['64', 'status.maxConnections: expected an integer ≥ 1, got "64"']],
  },
  'alerts.crashRate': {
    valid: [[5, 5], [0.5, 0.5], [null, null]],
    invalid: [
      [0, 'alerts.crashRate: expected a number above 0 (crashes per minute) or null, got 0'],
      [-2, 'alerts.crashRate: expected a number above 0 (crashes per minute) or null, got -2'],
      ['5', 'alerts.crashRate: expected a number above 0 (crashes per minute) or null, got "5"'],
    ],
  },
  'status.token': {
    valid: [['0123456789abcdef', '0123456789abcdef'], [null, null]],
    invalid: [['short', 'status.token: expected a token of at least 16 characters without spaces, or null, got "short" (generate one with: openssl rand -hex 24)']],
  },
  'alerts.webhook': {
    valid: [['https://hooks.example/x', ['https://hooks.example/x']], [['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b'], ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b']], [null, []]],
    invalid: [['ftp://x/y', 'alerts.webhook: expected http:// or https:// URLs, got "ftp://x/y"'], [5, 'alerts.webhook: expected a URL, a list of URLs or null, got 5']],
  },
  'alerts.notReadyFor': {
    valid: [['30s', 30_000], ['5m', 300_000]],
    invalid: [['soon', 'alerts.notReadyFor: expected a duration like "5s", got "soon"']],
  },
  logFormat: {
    valid: [['human', 'human'], ['json', 'json'], [null, null]],
    invalid: [['text', 'logFormat: expected one of "human", "json", null, got "text"'], ['JSON', 'logFormat: expected one of "human", "json", null, got "JSON"']],
  },
  'logs.maxSize': {
    valid: [['10MB', 10 * 1024 * 1024], ['512KB', 512 * 1024], ['1GB', 1024 ** 3], ['1.5MB', 1.5 * 1024 * 1024], ['10mb', 10 * 1024 * 1024], [1_000_000, 1_000_000], ['100B', 100]],
    invalid: [
      ['10', 'logs.maxSize: expected a size like "10MB", got "10" (add a unit: "10B", "10KB" or "10MB")'],
      [0, 'logs.maxSize: expected a size above 0 like "10MB", "512KB" or integer bytes, got 0'],
      ['0MB', 'logs.maxSize: expected a size above 0 like "10MB", "512KB" or integer bytes, got "0MB"'],
      ['10 megabytes', 'logs.maxSize: expected a size above 0 like "10MB", "512KB" or integer bytes, got "10 megabytes"'],
      [-5, 'logs.maxSize: expected a size above 0 like "10MB", "512KB" or integer bytes, got -5'],
      [1.5, 'logs.maxSize: expected a size above 0 like "10MB", "512KB" or integer bytes, got 1.5'],
    ],
  },
  'logs.maxFiles': {
    valid: [[1, 1], [10, 10]],
    invalid: [[0, 'logs.maxFiles: expected an integer ≥ 1, got 0']],
  },
  'proxy.protocol': {
    valid: [['http', 'http'], ['tcp', 'tcp']],
    invalid: [['udp', 'proxy.protocol: expected one of "http", "tcp", got "udp"']],
  },
  'proxy.queueTimeout': {
    valid: [['10s', 10_000], [500, 500]],
    invalid: [['soon', 'proxy.queueTimeout: expected a duration like "5s", got "soon"'], [0, 'proxy.queueTimeout: expected a duration above 0, got 0'], ['0ms', 'proxy.queueTimeout: expected a duration above 0, got "0ms"']],
  },
  'proxy.responseTimeout': {
    valid: [['1m', 60_000], ['90s', 90_000], [250, 250], [0, 0]],
    invalid: [['never', 'proxy.responseTimeout: expected a duration like "5s", got "never"']],
  },
  'proxy.forwardedHeaders': {
    valid: [[true, true], [false, false]],
    invalid: [['yes', 'proxy.forwardedHeaders: expected true or false, got "yes"']],
  },
  mode: {
    valid: [['direct', 'direct'], ['handoff', 'handoff'], ['proxy', 'proxy']],
    invalid: [['blue-green', 'mode: expected one of "direct", "handoff", "proxy", got "blue-green"'], [null, 'mode: expected one of "direct", "handoff", "proxy", got null']],
  },
  // The default mode is "direct": more than one instance there is the cross-key error (more in resolve.test.ts).
  instances: {
    valid: [[1, 1]],
    invalid: [
      [0, 'instances: expected an integer ≥ 1 or "max", got 0'],
      [1.5, 'instances: expected an integer ≥ 1 or "max", got 1.5'],
      ['3', 'instances: expected an integer ≥ 1 or "max", got "3"'],
      [3, 'instances: 3 instances need mode "handoff" or "proxy" (mode is "direct", where each instance would bind the port itself); set mode to "handoff" or "proxy", or instances to 1'],
      ['max', 'instances: "max" instances need mode "handoff" or "proxy" (mode is "direct", where each instance would bind the port itself); set mode to "handoff" or "proxy", or instances to 1'],
    ],
  },
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
      redact: [],
      port: 8000,
      host: '127.0.0.1',
      pidFile: null,
      portFallback: false,
      health: { type: 'auto', path: '/', timeout: 2000, interval: 250, startupTimeout: 30_000, log: null, liveness: null, readiness: null },
      restart: { policy: 'on-failure', initialDelay: 100, maxDelay: 300_000, factor: 2, startRetries: 2, maxRestarts: null, window: 60_000, minUptime: 10_000, standby: false },
      shutdown: { signal: 'SIGTERM', timeout: 30_000 },
      cleanup: { killExisting: false, match: [] },
      bcrypt: { fallback: false },
      dependsOn: [],
      dependencies: { timeout: 10_000, retries: 3 },
      status: { port: null, host: '127.0.0.1', maxConnections: 64, token: null },
      alerts: { crashRate: null, webhook: [], notReadyFor: 120_000 },
      logFormat: null,
      logs: { maxSize: 10 * 1024 * 1024, maxFiles: 5 },
      mode: 'direct',
      instances: 1,
      proxy: { protocol: 'http', queueTimeout: 10_000, responseTimeout: 60_000, forwardedHeaders: true },
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

  it('defaults the readiness probe to the startup probe\'s settings', () => {
    const health = { type: 'log', log: 'listening', path: '/ping', timeout: '3s' };
    expect(resolveWith({ health: { ...health, readiness: true } }).config.health.readiness).toEqual({
      type: 'log', path: '/ping', log: 'listening', interval: 5000, timeout: 3000, failureThreshold: 3, successThreshold: 1,
    });
    expect(resolveWith({ health: { ...health, readiness: { type: 'http', timeout: '1s' } } }).config.health.readiness).toMatchObject({ type: 'http', path: '/ping', timeout: 1000 });
  });

  it('requires health.readiness.log when the readiness probe is of type "log", whichever key set the type', () => {
    const line = 'health.readiness.log: required when health.readiness.type is "log" (a regular expression matching the line that shows the server is ready)';
    expect(errorOf(() => resolveWith({ health: { readiness: { type: 'log' } } })).details).toEqual([line]);
    expect(errorOf(() => resolveWith({ health: { readiness: { type: 'log', log: null } } })).details).toEqual([line]);
    // Off: nothing to check.
    expect(resolveWith({ health: { readiness: null } }).config.health.readiness).toBeNull();
  });

  it('requires status.port to differ from the server\'s port, whichever layer set either', () => {
    expect(errorOf(() => resolveWith({ port: 9000, status: { port: 9000 } })).details).toEqual([
      'status.port: expected a port other than the server\'s own (port 9000), got 9000',
    ]);
    expect(errorOf(() => resolveWith({ status: { port: 8000 } })).details).toHaveLength(1);
    expect(errorOf(() => resolveWith(undefined, { env: { PORT: '9100' }, flags: { statusPort: 9100 } })).details).toHaveLength(1);
    expect(resolveWith({ port: 9000, status: { port: 9001 } }).config.status.port).toBe(9001);
  });

  it('reports every problem of every dependency at once', () => {
    const error = errorOf(() =>
      resolveWith({ dependsOn: [{ name: 'db', tpc: 'db:5432' }, { name: 7, http: 'redis:6379' }, { name: 'ok', tcp: 'x:1' }, { name: 'ok', tcp: 'y:2', port: 1 }] }),
    );
    expect(error.details).toEqual([
      'dependsOn[0].tpc: unknown key; did you mean "dependsOn[0].tcp"?',
      'dependsOn[0]: expected exactly one of "tcp" ("host:port") or "http" (a URL), got neither',
      'dependsOn[1].name: expected a non-empty string, got 7',
      'dependsOn[1].http: expected an http:// or https:// URL like "http://localhost:9200/", got "redis:6379" (add the scheme: "http://redis:6379")',
      'dependsOn[3].port: unknown key (known keys of a dependency: name, tcp, http)',
    ]);
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
    expect(envTwinName('health.readiness')).toBe('NAIJA_SUP_HEALTH_READINESS');
    expect(envTwinName('dependsOn')).toBe('NAIJA_SUP_DEPENDS_ON');
    expect(envTwinName('status.port')).toBe('NAIJA_SUP_STATUS_PORT');
    expect(envTwinName('logFormat')).toBe('NAIJA_SUP_LOG_FORMAT');
    expect(envTwinName('mode')).toBe('NAIJA_SUP_MODE');
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

  it('splits "host:port", IPv6 in brackets, and nothing else', () => {
    expect(splitHostPort('localhost:5432')).toEqual({ host: 'localhost', port: 5432 });
    expect(splitHostPort('10.0.0.7:6379')).toEqual({ host: '10.0.0.7', port: 6379 });
    expect(splitHostPort('[::1]:5432')).toEqual({ host: '::1', port: 5432 });
    expect(splitHostPort('[fe80::1%eth0]:80')).toEqual({ host: 'fe80::1%eth0', port: 80 });
    expect(splitHostPort('db.internal:65535')).toEqual({ host: 'db.internal', port: 65535 });
    for (const bad of ['localhost', 'localhost:', ':80', '::1:5432', '[::1]', '[db]:80', 'db:0', 'db:65536', 'db:123456', 'a b:80', 'http://db:80', 'db:80 ']) {
      expect(splitHostPort(bad), bad).toBeUndefined();
    }
  });

  it('normalizes signal names', () => {
    expect(normalizeSignal('TERM')).toBe('SIGTERM');
    expect(normalizeSignal(' sigint ')).toBe('SIGINT');
    expect(normalizeSignal('SIGKILL')).toBeUndefined();
    expect(normalizeSignal(undefined)).toBeUndefined();
  });
});

describe('schema: health.startup, the Kubernetes spelling of the startup probe', () => {
  it('sets the top-level health keys, which keep their sources', () => {
    const loaded = resolveWith({ health: { startup: { type: 'tcp', startupTimeout: '1m', interval: '1s', timeout: 500, path: '/up' } } });
    expect(loaded.config.health).toMatchObject({ type: 'tcp', startupTimeout: 60_000, interval: 1000, timeout: 500, path: '/up' });
    for (const key of ['type', 'startupTimeout', 'interval', 'timeout', 'path']) expect(loaded.sources[`health.${key}`]).toEqual({ kind: 'file', file: FILE });
    expect(loaded.sources['health.log']).toEqual({ kind: 'default' });
    // It is a spelling, not a key of its own.
    expect(loaded.config.health).not.toHaveProperty('startup');
    expect(Object.keys(loaded.sources).some((key) => key.startsWith('health.startup.'))).toBe(false);
  });

  it('sets health.log, and the rule that type "log" needs it sees through it', () => {
    expect(resolveWith({ health: { startup: { type: 'log', log: 'ready' } } }).config.health).toMatchObject({ type: 'log', log: 'ready' });
    expect(errorOf(() => resolveWith({ health: { startup: { type: 'log' } } })).details).toEqual([
      'health.log: required when health.type is "log" (a regular expression matching the line the server prints when ready)',
    ]);
  });

  it('wins over the top-level key when a file gives both, in either order', () => {
    expect(resolveWith({ health: { startup: { type: 'tcp' }, type: 'http' } }).config.health.type).toBe('tcp');
    expect(resolveWith({ health: { type: 'http', startup: { type: 'tcp' } } }).config.health.type).toBe('tcp');
    // Fields it does not give stay with the top-level keys.
    expect(resolveWith({ health: { timeout: '9s', startup: { type: 'tcp' } } }).config.health.timeout).toBe(9000);
  });

  it('is a file layer: the environment and flags still win over it', () => {
    const loaded = resolveWith({ health: { startup: { type: 'tcp', startupTimeout: '1m' } } }, { env: { NAIJA_SUP_HEALTH_TYPE: 'http', HEALTH_CHECK_TIMEOUT: '90' } });
    expect(loaded.config.health.type).toBe('http');
    expect(loaded.sources['health.type']).toEqual({ kind: 'env', variable: 'NAIJA_SUP_HEALTH_TYPE' });
    expect(loaded.config.health.startupTimeout).toBe(90_000);
    expect(loaded.sources['health.startupTimeout']).toEqual({ kind: 'env', variable: 'HEALTH_CHECK_TIMEOUT' });
  });

  it('feeds the defaults of the readiness and liveness probes', () => {
    const loaded = resolveWith({ health: { startup: { type: 'tcp', path: '/up', timeout: '3s' }, readiness: true, liveness: {} } });
    expect(loaded.config.health.readiness).toMatchObject({ type: 'tcp', path: '/up', timeout: 3000 });
    expect(loaded.config.health.liveness).toMatchObject({ path: '/up' });
  });

  it('names the key as written in a problem, and validates the spelling that lost too', () => {
    expect(errorOf(() => resolveWith({ health: { startup: { timeout: 'fast' } } })).details).toEqual(['health.startup.timeout: expected a duration like "5s", got "fast"']);
    expect(errorOf(() => resolveWith({ health: { timeout: 'fast', startup: { timeout: '1s' } } })).details).toEqual(['health.timeout: expected a duration like "5s", got "fast"']);
    expect(errorOf(() => resolveWith({ health: { timeout: '1s', startup: { timeout: 'slow', type: 'udp' } } })).details).toEqual([
      'health.startup.type: expected one of "auto", "http", "tcp", "log", got "udp"',
      'health.startup.timeout: expected a duration like "5s", got "slow"',
    ]);
  });

  it.each([
    [{ startup: { timout: '1s' } }, 'health.startup.timout: unknown key; did you mean "health.startup.timeout"?'],
    [{ startup: { liveness: {} } }, 'health.startup.liveness: unknown key (known keys in health.startup: type, path, log, interval, timeout, startupTimeout)'],
    [{ startup: 'tcp' }, 'health.startup: expected an object with keys like "type", "path", "log", "interval", "timeout", "startupTimeout", got "tcp"'],
    [{ startup: null }, 'health.startup: expected an object with keys like "type", "path", "log", "interval", "timeout", "startupTimeout", got null'],
    [{ startp: {} }, 'health.startp: unknown key; did you mean "health.startup"?'],
  ])('rejects %j', (health, line) => {
    expect(errorOf(() => resolveWith({ health })).details).toEqual([line]);
  });

  it('ignores undefined fields, as JS config files may write them', () => {
    const loaded = resolveWith({ health: { type: 'tcp', startup: { type: undefined } } });
    expect(loaded.config.health.type).toBe('tcp');
  });
});
