/**
 * Precedence (flags > environment > file > defaults) with sources, environment variables (legacy
 * names and NAIJA_SUP_ twins), collecting every problem, unknown keys, and the command rules.
 */
import { describe, expect, it } from 'vitest';
import { formatSource, resolveConfig } from '../../src/config/resolve.js';
import { configLeaves, envTwinName } from '../../src/config/schema.js';
import { at, CWD, errorOf, FILE, nested, resolveWith } from './helpers.js';

describe('precedence', () => {
  const file = { port: 3000, host: '10.0.0.1', cleanup: { killExisting: false } };
  const env = { PORT: '4000', HOST: '10.0.0.2', KILL_EXISTING: 'yes' };
  const flags = { port: 5000, host: '10.0.0.3', killExisting: true };

  it('flags win over environment, file and defaults', () => {
    const loaded = resolveWith(file, { env, flags });
    expect(loaded.config.port).toBe(5000);
    expect(loaded.config.host).toBe('10.0.0.3');
    expect(loaded.config.cleanup.killExisting).toBe(true);
    expect(loaded.sources['port']).toEqual({ kind: 'flag', flag: '--port' });
    expect(loaded.sources['host']).toEqual({ kind: 'flag', flag: '--host' });
    expect(loaded.sources['cleanup.killExisting']).toEqual({ kind: 'flag', flag: '--kill-existing' });
  });

  it('environment wins over file and defaults', () => {
    const loaded = resolveWith(file, { env });
    expect(loaded.config.port).toBe(4000);
    expect(loaded.config.cleanup.killExisting).toBe(true);
    expect(loaded.sources['port']).toEqual({ kind: 'env', variable: 'PORT' });
    expect(loaded.sources['cleanup.killExisting']).toEqual({ kind: 'env', variable: 'KILL_EXISTING' });
  });

  it('file wins over defaults', () => {
    const loaded = resolveWith(file);
    expect(loaded.config.port).toBe(3000);
    expect(loaded.sources['port']).toEqual({ kind: 'file', file: FILE });
    expect(loaded.sources['restart.policy']).toEqual({ kind: 'default' });
  });

  it('defaults fill the rest', () => {
    const loaded = resolveWith(undefined);
    expect(loaded.config.port).toBe(8000);
    expect(loaded.sources['port']).toEqual({ kind: 'default' });
  });

  it('maps every flag to its key', () => {
    const loaded = resolveWith({}, { flags: { pidFile: 'x.pid', portFallback: true, command: ['node', 'a.js'] } });
    expect(loaded.config.pidFile).toBe('/srv/app/x.pid');
    expect(loaded.config.portFallback).toBe(true);
    expect(loaded.config.command).toEqual(['node', 'a.js']);
    expect(loaded.sources['pidFile']).toEqual({ kind: 'flag', flag: '--pid-file' });
    expect(loaded.sources['portFallback']).toEqual({ kind: 'flag', flag: '--port-fallback' });
    expect(loaded.sources['command']).toEqual({ kind: 'flag', flag: '--' });
  });

  it('maps --status-port, --log-format and --mode', () => {
    const loaded = resolveWith({ status: { port: 9100 }, logFormat: 'human', mode: 'proxy' }, { flags: { statusPort: 9200, logFormat: 'json', mode: 'handoff' } });
    expect(loaded.config.status.port).toBe(9200);
    expect(loaded.config.logFormat).toBe('json');
    expect(loaded.config.mode).toBe('handoff');
    expect(loaded.sources['status.port']).toEqual({ kind: 'flag', flag: '--status-port' });
    expect(loaded.sources['logFormat']).toEqual({ kind: 'flag', flag: '--log-format' });
    expect(loaded.sources['mode']).toEqual({ kind: 'flag', flag: '--mode' });
  });

  it('treats an empty command after -- as not given', () => {
    const loaded = resolveWith({ command: 'node server.js' }, { flags: { command: [] } });
    expect(loaded.config.command).toEqual(['node', 'server.js']);
    expect(loaded.sources['command']).toEqual({ kind: 'file', file: FILE });
  });

  it('still validates a value that a higher layer overrides', () => {
    expect(errorOf(() => resolveWith({ port: 'eighty' }, { flags: { port: 5000 } })).details).toEqual(['port: expected a port 1–65535, got "eighty"']);
  });

  it('names each source in words', () => {
    expect(formatSource({ kind: 'default' }, CWD)).toBe('default');
    expect(formatSource({ kind: 'file', file: FILE }, CWD)).toBe('file .naija-suprc.json');
    expect(formatSource({ kind: 'file', file: '/etc/naija.json' }, CWD)).toBe('file /etc/naija.json');
    expect(formatSource({ kind: 'env', variable: 'PORT' }, CWD)).toBe('env PORT');
    expect(formatSource({ kind: 'flag', flag: '--port' }, CWD)).toBe('flag --port');
    expect(formatSource({ kind: 'flag', flag: '--' }, CWD)).toBe('after --');
  });
});

describe('environment', () => {
  it.each([
    ['GRACEFUL_TIMEOUT', '30', 'shutdown.timeout', 30_000],
    ['GRACEFUL_TIMEOUT', '1.5', 'shutdown.timeout', 1500],
    ['GRACEFUL_TIMEOUT', '45s', 'shutdown.timeout', 45_000],
    ['HEALTH_CHECK_TIMEOUT', '60', 'health.startupTimeout', 60_000],
    ['PORT', '3001', 'port', 3001],
    ['HOST', '0.0.0.0', 'host', '0.0.0.0'],
    ['PID_FILE', 'run/api.pid', 'pidFile', '/srv/app/run/api.pid'],
    ['BCRYPT_FALLBACK', '1', 'bcrypt.fallback', true],
    ['KILL_EXISTING', 'true', 'cleanup.killExisting', true],
    ['KILL_EXISTING', 'YES', 'cleanup.killExisting', true],
    ['KILL_EXISTING', '0', 'cleanup.killExisting', false],
    ['KILL_EXISTING', 'no', 'cleanup.killExisting', false],
    ['KILL_EXISTING', 'False', 'cleanup.killExisting', false],
    ['DB_CONNECTION_TIMEOUT', '5', 'dependencies.timeout', 5000],
    ['DB_CONNECTION_TIMEOUT', '2.5', 'dependencies.timeout', 2500],
    ['DB_CONNECTION_TIMEOUT', '500ms', 'dependencies.timeout', 500],
    ['REDIS_RETRY_ATTEMPTS', '7', 'dependencies.retries', 7],
    ['REDIS_RETRY_ATTEMPTS', '0', 'dependencies.retries', 0],
  ])('legacy %s=%s sets %s', (variable, raw, key, expected) => {
    const loaded = resolveWith(undefined, { env: { [variable]: raw } });
    expect(at(loaded.config, key)).toEqual(expected);
    expect(loaded.sources[key]).toEqual({ kind: 'env', variable });
  });

  it.each([
    ['NAIJA_SUP_RESTART_MAX_RESTARTS', '7', 'restart.maxRestarts', 7],
    ['NAIJA_SUP_RESTART_MAX_RESTARTS', 'none', 'restart.maxRestarts', null],
    ['NAIJA_SUP_RESTART_MAX_RESTARTS', 'NULL', 'restart.maxRestarts', null],
    ['NAIJA_SUP_HEALTH_STARTUP_TIMEOUT', '5s', 'health.startupTimeout', 5000],
    ['NAIJA_SUP_HEALTH_STARTUP_TIMEOUT', '750', 'health.startupTimeout', 750],
    ['NAIJA_SUP_SHUTDOWN_TIMEOUT', '2m', 'shutdown.timeout', 120_000],
    ['NAIJA_SUP_COMMAND', "node 'my server.js' --inspect", 'command', ['node', 'my server.js', '--inspect']],
    ['NAIJA_SUP_CLEANUP_MATCH', 'start_server.py, /uvicorn\\s/i,,', 'cleanup.match', ['start_server.py', '/uvicorn\\s/i']],
    ['NAIJA_SUP_ENV', '{"NODE_ENV":"production","WORKERS":4}', 'env', { NODE_ENV: 'production', WORKERS: '4' }],
    ['NAIJA_SUP_REDACT', 'MY_VAR, OTHER', 'redact', ['MY_VAR', 'OTHER']],
    ['NAIJA_SUP_HEALTH_LIVENESS', '{"type":"tcp"}', 'health.liveness', { type: 'tcp', path: '/', interval: 5000, timeout: 2000, failureThreshold: 3 }],
    ['NAIJA_SUP_SHUTDOWN_SIGNAL', 'INT', 'shutdown.signal', 'SIGINT'],
    ['NAIJA_SUP_RESTART_FACTOR', '1.5', 'restart.factor', 1.5],
    ['NAIJA_SUP_CWD', 'sub', 'cwd', '/srv/app/sub'],
    ['NAIJA_SUP_HEALTH_READINESS', 'true', 'health.readiness', { type: 'auto', path: '/', log: null, interval: 5000, timeout: 2000, failureThreshold: 3, successThreshold: 1 }],
    ['NAIJA_SUP_HEALTH_READINESS', 'null', 'health.readiness', null],
    ['NAIJA_SUP_HEALTH_READINESS', 'yes', 'health.readiness', { type: 'auto', path: '/', log: null, interval: 5000, timeout: 2000, failureThreshold: 3, successThreshold: 1 }],
    ['NAIJA_SUP_HEALTH_READINESS', '0', 'health.readiness', null],
    ['NAIJA_SUP_HEALTH_READINESS', '{"successThreshold":2,"interval":"1s"}', 'health.readiness', { type: 'auto', path: '/', log: null, interval: 1000, timeout: 2000, failureThreshold: 3, successThreshold: 2 }],
    ['NAIJA_SUP_DEPENDS_ON', '[{"name":"db","tcp":"[::1]:5432"}]', 'dependsOn', [{ name: 'db', tcp: '[::1]:5432', http: null }]],
    ['NAIJA_SUP_DEPENDENCIES_TIMEOUT', '750', 'dependencies.timeout', 750],
    ['NAIJA_SUP_STATUS_PORT', '9100', 'status.port', 9100],
    ['NAIJA_SUP_LOG_FORMAT', 'json', 'logFormat', 'json'],
    ['NAIJA_SUP_MODE', 'handoff', 'mode', 'handoff'],
    ['NAIJA_SUP_INSTANCES', '1', 'instances', 1],
    ['NAIJA_SUP_LOGS_MAX_SIZE', '1048576', 'logs.maxSize', 1_048_576],
    ['NAIJA_SUP_LOGS_MAX_SIZE', '50MB', 'logs.maxSize', 50 * 1024 * 1024],
    ['NAIJA_SUP_ALERTS_CRASH_RATE', '0.5', 'alerts.crashRate', 0.5],
  ])('twin %s=%s sets %s', (variable, raw, key, expected) => {
    const loaded = resolveWith(undefined, { env: { [variable]: raw } });
    expect(at(loaded.config, key)).toEqual(expected);
    expect(loaded.sources[key]).toEqual({ kind: 'env', variable });
  });

  /** A valid environment string for every leaf: adding a key to the schema means adding it here. */
  const SAMPLE: Record<string, [string, unknown]> = {
    name: ['api', 'api'],
    command: ['node a.js', ['node', 'a.js']],
    cwd: ['/opt/x', '/opt/x'],
    env: ['{"A":"1"}', { A: '1' }],
    redact: ['MY_VAR,OTHER', ['MY_VAR', 'OTHER']],
    port: ['9000', 9000],
    host: ['::', '::'],
    pidFile: ['/tmp/x.pid', '/tmp/x.pid'],
    portFallback: ['yes', true],
    'health.type': ['tcp', 'tcp'],
    'health.path': ['/ping', '/ping'],
    'health.timeout': ['3s', 3000],
    'health.interval': ['100', 100],
    'health.startupTimeout': ['1m', 60_000],
    'health.log': ['ready', 'ready'],
    'health.liveness': ['{}', { type: 'auto', path: '/', interval: 5000, timeout: 2000, failureThreshold: 3 }],
    'restart.policy': ['never', 'never'],
    'restart.initialDelay': ['1s', 1000],
    'restart.maxDelay': ['1m', 60_000],
    'restart.factor': ['3', 3],
    'restart.startRetries': ['0', 0],
    'restart.maxRestarts': ['0', 0],
    'restart.window': ['10m', 600_000],
    'restart.minUptime': ['1s', 1000],
    'restart.standby': ['true', true],
    'shutdown.signal': ['SIGQUIT', 'SIGQUIT'],
    'shutdown.timeout': ['5s', 5000],
    'cleanup.killExisting': ['1', true],
    'cleanup.match': ['a,b', ['a', 'b']],
    'health.readiness': ['{"type":"tcp"}', { type: 'tcp', path: '/', log: null, interval: 5000, timeout: 2000, failureThreshold: 3, successThreshold: 1 }],
    'bcrypt.fallback': ['true', true],
    dependsOn: ['[{"name":"es","http":"http://localhost:9200/"}]', [{ name: 'es', tcp: null, http: 'http://localhost:9200/' }]],
    'dependencies.timeout': ['20s', 20_000],
    'dependencies.retries': ['5', 5],
    'status.port': ['9100', 9100],
    'status.host': ['0.0.0.0', '0.0.0.0'],
    'status.maxConnections': ['32', 32],
    'proxy.protocol': ['tcp', 'tcp'],
    'proxy.queueTimeout': ['2s', 2000],
    'proxy.responseTimeout': ['30s', 30_000],
    'proxy.forwardedHeaders': ['false', false],
    'status.token': ['0123456789abcdef0123', '0123456789abcdef0123'],
    'alerts.crashRate': ['10', 10],
    'alerts.webhook': ['http://127.0.0.1:9/a, https://hooks.example/b', ['http://127.0.0.1:9/a', 'https://hooks.example/b']],
    'alerts.notReadyFor': ['30s', 30_000],
    logFormat: ['human', 'human'],
    'logs.maxSize': ['512KB', 512 * 1024],
    'logs.maxFiles': ['3', 3],
    mode: ['proxy', 'proxy'],
    instances: ['1', 1],
  };

  it('has a NAIJA_SUP_ twin for every leaf key', () => {
    expect(Object.keys(SAMPLE).sort()).toEqual(configLeaves.map((l) => l.path).sort());
    for (const [key, [raw, expected]] of Object.entries(SAMPLE)) {
      const variable = envTwinName(key);
      const loaded = resolveWith(undefined, { env: { [variable]: raw } });
      expect(at(loaded.config, key), variable).toEqual(expected);
      expect(loaded.sources[key]).toEqual({ kind: 'env', variable });
    }
  });

  it('lets the NAIJA_SUP_ twin win over the legacy name, without validating the loser', () => {
    const loaded = resolveWith(undefined, { env: { NAIJA_SUP_PORT: '9000', PORT: 'abc', GRACEFUL_TIMEOUT: '5', NAIJA_SUP_SHUTDOWN_TIMEOUT: '7s' } });
    expect(loaded.config.port).toBe(9000);
    expect(loaded.sources['port']).toEqual({ kind: 'env', variable: 'NAIJA_SUP_PORT' });
    expect(loaded.config.shutdown.timeout).toBe(7000);
  });

  it('treats empty variables as unset', () => {
    const loaded = resolveWith({ port: 3000 }, { env: { PORT: '', NAIJA_SUP_PORT: '', HOST: '' } });
    expect(loaded.config.port).toBe(3000);
    expect(loaded.sources['port']).toEqual({ kind: 'file', file: FILE });
    expect(loaded.config.host).toBe('127.0.0.1');
  });

  it('resolves relative paths from the environment against the current directory, not the file\'s cwd', () => {
    const loaded = resolveWith({ cwd: 'api', pidFile: 'file.pid' }, { env: { NAIJA_SUP_PID_FILE: 'env.pid' } });
    expect(loaded.config.cwd).toBe('/srv/app/api');
    expect(loaded.config.pidFile).toBe('/srv/app/env.pid');
    expect(resolveWith({ cwd: 'api', pidFile: 'file.pid' }).config.pidFile).toBe('/srv/app/api/file.pid');
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT (environment): expected a port 1–65535, got "abc"'],
    [{ NAIJA_SUP_PORT: '70000' }, 'NAIJA_SUP_PORT (environment): expected a port 1–65535, got 70000'],
    [{ KILL_EXISTING: 'maybe' }, 'KILL_EXISTING (environment): expected true/false, 1/0 or yes/no, got "maybe"'],
    [{ GRACEFUL_TIMEOUT: 'soon' }, 'GRACEFUL_TIMEOUT (environment): expected seconds like "30" or a duration like "30s", got "soon"'],
    [{ NAIJA_SUP_HEALTH_TIMEOUT: 'fast' }, 'NAIJA_SUP_HEALTH_TIMEOUT (environment): expected a duration like "5s", got "fast"'],
    [{ NAIJA_SUP_ENV: '{oops' }, /^NAIJA_SUP_ENV \(environment\): expected JSON, got "\{oops" \(.+\)$/],
    [{ NAIJA_SUP_HEALTH_LIVENESS: '{"timeout":"fast"}' }, 'NAIJA_SUP_HEALTH_LIVENESS (environment): health.liveness.timeout: expected a duration like "5s", got "fast"'],
    [{ NAIJA_SUP_CLEANUP_MATCH: 'ok,/(/' }, 'NAIJA_SUP_CLEANUP_MATCH (environment): cleanup.match[1]: expected a regular expression that compiles, got "/(/" (Invalid regular expression: /(/: Unterminated group)'],
    [{ NAIJA_SUP_HEALTH_READINESS: 'on' }, /^NAIJA_SUP_HEALTH_READINESS \(environment\): expected JSON, got "on" \(.+\)$/],
    [{ NAIJA_SUP_HEALTH_READINESS: '5' }, 'NAIJA_SUP_HEALTH_READINESS (environment): expected null, true, false or an object like {"type": "http", "interval": "5s"}, got 5'],
    [{ NAIJA_SUP_DEPENDS_ON: '[{"name":"db","tcp":"db"}]' }, 'NAIJA_SUP_DEPENDS_ON (environment): dependsOn[0].tcp: expected "host:port" like "localhost:5432", got "db" (the port is missing)'],
    [{ DB_CONNECTION_TIMEOUT: 'forever' }, 'DB_CONNECTION_TIMEOUT (environment): expected seconds like "30" or a duration like "30s", got "forever"'],
    [{ REDIS_RETRY_ATTEMPTS: 'many' }, 'REDIS_RETRY_ATTEMPTS (environment): expected an integer ≥ 0, got "many"'],
    [{ NAIJA_SUP_STATUS_PORT: 'off' }, 'NAIJA_SUP_STATUS_PORT (environment): expected a port 1–65535 or null, got "off"'],
    [{ NAIJA_SUP_LOG_FORMAT: 'pretty' }, 'NAIJA_SUP_LOG_FORMAT (environment): expected one of "human", "json", null, got "pretty"'],
    [{ NAIJA_SUP_MODE: 'cluster' }, 'NAIJA_SUP_MODE (environment): expected one of "direct", "handoff", "proxy", got "cluster"'],
    [{ NAIJA_SUP_LOGS_MAX_SIZE: '10XB' }, 'NAIJA_SUP_LOGS_MAX_SIZE (environment): expected a size above 0 like "10MB", "512KB" or integer bytes, got "10XB"'],
    [{ NAIJA_SUP_COMMAND: 'node a.js | tee' }, /^NAIJA_SUP_COMMAND \(environment\): expected a command line, got "node a.js \| tee" \("\|" is shell syntax/],
  ])('names the variable of a bad value: %j', (env, line) => {
    const error = errorOf(() => resolveWith(undefined, { env }));
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.details).toHaveLength(1);
    if (typeof line === 'string') expect(error.details[0]).toBe(line);
    else expect(error.details[0]).toMatch(line);
  });

  it('takes several instances, or "max", in the modes that share one port (issue 20)', () => {
    expect(resolveWith({ mode: 'handoff', instances: 3 }).config.instances).toBe(3);
    expect(resolveWith({ mode: 'proxy', instances: 'max' }).config.instances).toBe('max');
    const fromEnv = resolveWith(undefined, { env: { NAIJA_SUP_MODE: 'proxy', NAIJA_SUP_INSTANCES: 'max' } });
    expect(fromEnv.config.instances).toBe('max');
    expect(fromEnv.sources['instances']).toEqual({ kind: 'env', variable: 'NAIJA_SUP_INSTANCES' });
    // The mode may come from a flag while the count comes from the file: the rule sees the winner.
    expect(errorOf(() => resolveWith({ mode: 'proxy', instances: 2 }, { flags: { mode: 'direct' } })).details).toEqual([
      'instances: 2 instances need mode "handoff" or "proxy" (mode is "direct", where each instance would bind the port itself); set mode to "handoff" or "proxy", or instances to 1',
    ]);
  });

  it('names the flag of a bad flag value', () => {
    expect(errorOf(() => resolveWith(undefined, { flags: { port: 0 } })).details).toEqual(['--port (flag): expected a port 1–65535, got 0']);
    expect(errorOf(() => resolveWith(undefined, { flags: { command: ['', 'a.js'] } })).details).toEqual(['the command after "--": command[0]: expected a program name, got ""']);
    expect(errorOf(() => resolveWith(undefined, { flags: { statusPort: 0 } })).details).toEqual(['--status-port (flag): expected a port 1–65535 or null, got 0']);
    // The CLI limits these to their choices; a library caller may not.
    expect(errorOf(() => resolveWith(undefined, { flags: { mode: 'cluster' as 'proxy' } })).details).toEqual(['--mode (flag): expected one of "direct", "handoff", "proxy", got "cluster"']);
    expect(errorOf(() => resolveWith(undefined, { flags: { logFormat: 'xml' as 'json' } })).details).toEqual(['--log-format (flag): expected one of "human", "json", null, got "xml"']);
  });
});

describe('problems', () => {
  it('reports every problem at once, each with its path, what was expected and what was found', () => {
    const error = errorOf(() =>
      resolveWith(
        {
          port: 'eighty',
          helth: {},
          health: { timeout: 'fast', timout: '1s', liveness: { timeout: 'slow' } },
          restart: { policy: 'sometimes', maxRestarts: -1 },
          shutdown: 5,
          cleanup: { match: ['/(/'] },
        },
        { env: { PORT: 'abc', KILL_EXISTING: 'maybe' } },
      ),
    );
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.message).toBe('invalid configuration (.naija-suprc.json): 11 problems');
    expect(error.fix).toMatch(/naija-sup config --json-schema/);
    expect([...error.details].sort()).toEqual([
      'KILL_EXISTING (environment): expected true/false, 1/0 or yes/no, got "maybe"',
      'PORT (environment): expected a port 1–65535, got "abc"',
      'cleanup.match[0]: expected a regular expression that compiles, got "/(/" (Invalid regular expression: /(/: Unterminated group)',
      'health.liveness.timeout: expected a duration like "5s", got "slow"',
      'health.timeout: expected a duration like "5s", got "fast"',
      'health.timout: unknown key; did you mean "health.timeout"?',
      'helth: unknown key; did you mean "health"?',
      'port: expected a port 1–65535, got "eighty"',
      'restart.maxRestarts: expected an integer ≥ 0 or null, got -1',
      'restart.policy: expected one of "on-failure", "always", "never", got "sometimes"',
      'shutdown: expected a section (an object with keys like "signal", "timeout"), got 5',
    ]);
  });

  it.each([
    [{ health: { timout: '1s' } }, 'health.timout: unknown key; did you mean "health.timeout"?'],
    [{ Port: 8000 }, 'Port: unknown key; did you mean "port"?'],
    [{ comand: 'node a.js' }, 'comand: unknown key; did you mean "command"?'],
    [{ restart: { maxrestarts: 3 } }, 'restart.maxrestarts: unknown key; did you mean "restart.maxRestarts"?'],
    [{ killExisting: true }, 'killExisting: unknown key; did you mean "cleanup.killExisting"?'],
    [{ health: { zzzzzz: 1 } }, 'health.zzzzzz: unknown key (known keys in health: type, path, timeout, interval, startupTimeout, log, liveness, readiness, startup)'],
    [{ health: { readyness: true } }, 'health.readyness: unknown key; did you mean "health.readiness"?'],
    [{ maxSize: '1MB' }, 'maxSize: unknown key; did you mean "logs.maxSize"?'],
    [{ depends_on: [] }, 'depends_on: unknown key; did you mean "dependsOn"?'],
    [{ status: { prot: 1 } }, 'status.prot: unknown key; did you mean "status.port"?'],
    [{ bcrypt: { fallbak: true } }, 'bcrypt.fallbak: unknown key; did you mean "bcrypt.fallback"?'],
  ])('an unknown key is an error with a suggestion when one is close: %j', (file, line) => {
    expect(errorOf(() => resolveWith(file)).details).toEqual([line]);
  });

  it('rejects a section of the wrong type, and a file that is not an object', () => {
    expect(errorOf(() => resolveWith({ health: 5 })).details).toEqual([
      'health: expected a section (an object with keys like "type", "path", "timeout", "interval", "startupTimeout", "log", "liveness", "readiness", "startup"), got 5',
    ]);
    expect(errorOf(() => resolveWith({ restart: ['always'] })).details[0]).toMatch(/^restart: expected a section .*, got \["always"\]$/);
    expect(errorOf(() => resolveWith(['node', 'a.js'])).details).toEqual([
      '(whole file): expected an object of settings like {"command": "node server.js"}, got ["node","a.js"]',
    ]);
  });

  it('allows "$schema" at the top level and ignores undefined values', () => {
    const loaded = resolveWith({ $schema: './naija-sup.schema.json', port: undefined, health: { path: undefined } });
    expect(loaded.config.port).toBe(8000);
    expect(loaded.sources['port']).toEqual({ kind: 'default' });
  });

  it('reads an empty file as no settings', () => {
    expect(resolveWith(null).config.port).toBe(8000);
  });
});

describe('command', () => {
  it('is E_NO_COMMAND without a file and without a command, with a fix that shows how', () => {
    const error = errorOf(() => resolveConfig({ cwd: CWD, env: {}, requireCommand: true }));
    expect(error.code).toBe('E_NO_COMMAND');
    expect(error.exitStatus).toBe(2);
    expect(error.message).toBe('no command to run: no config file in /srv/app and no command after "--"');
    expect(error.fix).toContain('naija-sup start -- node server.js');
    for (const name of ['package.json ("naija-sup" key)', '.naija-suprc', '.naija-suprc.json', '.naija-suprc.yaml', '.naija-suprc.yml', '.naija-suprc.js', '.naija-suprc.mjs', '.naija-suprc.cjs', 'naija-sup.config.js', 'naija-sup.config.mjs', 'naija-sup.config.cjs', 'naija-sup.config.ts', 'naija-sup.config.json', 'naija-sup.config.yaml']) {
      expect(error.fix).toContain(name);
    }
  });

  it('is E_NO_COMMAND when the file has none, naming the file', () => {
    const error = errorOf(() => resolveConfig({ file: { port: 3000 }, filepath: FILE, cwd: CWD, requireCommand: true }));
    expect(error.code).toBe('E_NO_COMMAND');
    expect(error.message).toBe('no command to run: .naija-suprc.json has no "command" and none was given after "--"');
    expect(error.fix).toContain('naija-sup start -- node server.js');
  });

  it('is enough on its own: a command after -- and no file', () => {
    const loaded = resolveConfig({ cwd: CWD, flags: { command: ['node', 'server.js'] }, requireCommand: true });
    expect(loaded.config.command).toEqual(['node', 'server.js']);
    expect(loaded.filepath).toBeNull();
  });

  it('resolves to [] when not required', () => {
    expect(resolveWith(undefined).config.command).toEqual([]);
  });

  it('is listed among the problems when other values are invalid too', () => {
    const error = errorOf(() => resolveConfig({ file: { port: 0 }, filepath: FILE, cwd: CWD, requireCommand: true }));
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.details).toEqual([
      'port: expected a port 1–65535, got 0',
      'command: required — give it in the config file or after "--" (naija-sup start -- node server.js)',
    ]);
  });

  it('takes a file command relative to nothing: argv as written', () => {
    expect(resolveWith(nested('command', ['./bin/server', '--port', '1'])).config.command).toEqual(['./bin/server', '--port', '1']);
  });
});
