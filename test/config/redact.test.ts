import { describe, expect, it } from 'vitest';
import { createRedactor, isSecretName, REDACTED, redactConfig, redactEnv, redactorFor, redactUrl, redactUrlsIn } from '../../src/config/redact.js';
import { resolveWith } from './helpers.js';

describe('redactEnv', () => {
  it('hides values whose names look secret, in any case, and URL userinfo in every other value', () => {
    const env = {
      DB_PASSWORD: 'hunter2',
      API_KEY: 'k-123',
      GITHUB_TOKEN: 'ghp_x',
      my_secret: 's',
      AWS_CREDENTIALS: 'c',
      MYSQL_PASSWD: 'p',
      privateKeyPath: '/k',
      PASSPHRASE: 'open sesame',
      STRIPE_SK: 'sk_live_1',
      AUTH_HEADER: 'Bearer x',
      DSN: 'user:pw@tcp(db)/app',
      SESSION_SALT: 'salt',
      COOKIE_SIGNING: 'c2',
      NODE_ENV: 'production',
      PORT: '8000',
      DATABASE_URL: 'postgres://app:pg-pass@localhost/db',
      CACHE_URL: 'redis://localhost:6379',
    };
    expect(redactEnv(env)).toEqual({
      DB_PASSWORD: REDACTED,
      API_KEY: REDACTED,
      GITHUB_TOKEN: REDACTED,
      my_secret: REDACTED,
      AWS_CREDENTIALS: REDACTED,
      MYSQL_PASSWD: REDACTED,
      privateKeyPath: REDACTED,
      PASSPHRASE: REDACTED,
      STRIPE_SK: REDACTED,
      AUTH_HEADER: REDACTED,
      DSN: REDACTED,
      SESSION_SALT: REDACTED,
      COOKIE_SIGNING: REDACTED,
      NODE_ENV: 'production',
      PORT: '8000',
      DATABASE_URL: 'postgres://[redacted]@localhost/db',
      CACHE_URL: 'redis://localhost:6379',
    });
    expect(REDACTED).toBe('[redacted]');
    // The input is not modified.
    expect(env.DB_PASSWORD).toBe('hunter2');
  });

  it('hides the names given as extra (the config\'s redact list)', () => {
    expect(redactEnv({ MY_VAR: 'v', OTHER: 'o' }, ['my_var'])).toEqual({ MY_VAR: REDACTED, OTHER: 'o' });
  });

  it('keeps a "__proto__" name as a plain key', () => {
    const env = JSON.parse('{"__proto__": "x", "A_TOKEN": "t"}') as Record<string, string>;
    const shown = redactEnv(env);
    expect(Object.keys(shown)).toEqual(['__proto__', 'A_TOKEN']);
    expect(Object.getPrototypeOf(shown)).toBe(Object.prototype);
  });

  it.each([
    ['SECRET', true], ['token', true], ['Password', true], ['PASSWD', true], ['KEY', true], ['CREDENTIAL', true],
    ['PASSPHRASE', true], ['STRIPE_SK', true], ['AUTH_HEADER', true], ['DSN', true], ['SENTRY_DSN', true],
    ['PRIVATE_PEM', true], ['COOKIE', true], ['SESSION_ID', true],
    ['NODE_ENV', false], ['HOST', false], ['LOG_LEVEL', false], ['DATABASE_URL', false],
  ])('isSecretName(%j) is %s', (name, secret) => {
    expect(isSecretName(name)).toBe(secret);
  });
});

describe('redactUrl', () => {
  it.each([
    ['http://admin:s3cret@search:9200/_health', 'http://[redacted]@search:9200/_health'],
    ['https://:token@api.example.com/', 'https://[redacted]@api.example.com/'],
    ['HTTP://u:p@h/', 'HTTP://[redacted]@h/'],
    ['https://ghp_abc@github.com/', 'https://[redacted]@github.com/'],
    ['http://localhost:9200/', 'http://localhost:9200/'],
    ['http://host/path?next=a:b@c', 'http://host/path?next=a:b@c'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('hides userinfo of every URL inside free text', () => {
    expect(redactUrlsIn('connect failed: postgres://app:pw@db:5432/x, retry redis://:r@cache')).toBe(
      'connect failed: postgres://[redacted]@db:5432/x, retry redis://[redacted]@cache',
    );
  });
});

describe('createRedactor', () => {
  it('hides known secret values wherever they appear, and URL userinfo always', () => {
    const r = createRedactor({
      envs: [{ STRIPE_SK: 'sk_live_planted', NODE_ENV: 'production', DATABASE_URL: 'postgres://app:pg%40pass@db/x' }],
      urls: ['http://elastic:changeme-please@es:9200/'],
    });
    expect(r.text('key is sk_live_planted; env production')).toBe(`key is ${REDACTED}; env production`);
    expect(r.text('the es password changeme-please leaked')).toBe(`the es password ${REDACTED} leaked`);
    // Both the encoded and the decoded password.
    expect(r.text('pw=pg%40pass or pg@pass')).toBe(`pw=${REDACTED} or ${REDACTED}`);
    expect(r.text('see http://u:p@x/')).toBe(`see http://${REDACTED}@x/`);
  });

  it('does not hunt for trivial values (short, numbers, booleans) in free text', () => {
    const r = createRedactor({ envs: [{ SESSION_TTL: '3600000', AUTH_ENABLED: 'true', API_KEY: 'abc' }] });
    expect(r.text('ttl 3600000 enabled true key abc')).toBe('ttl 3600000 enabled true key abc');
  });

  it('deep() redacts every string of a value, keys included, without touching the input', () => {
    const r = createRedactor({ envs: [{ MY_TOKEN: 'tok-planted-1' }] });
    const event = { type: 'output', line: 'token=tok-planted-1', nested: [{ 'tok-planted-1': 1 }], n: 3, none: null };
    expect(r.deep(event)).toEqual({ type: 'output', line: `token=${REDACTED}`, nested: [{ [REDACTED]: 1 }], n: 3, none: null });
    expect(event.line).toBe('token=tok-planted-1');
  });

  it('redactorFor reads the config env, dependsOn URLs, the redact list and the inherited env', () => {
    const { config } = resolveWith({
      env: { PLAIN_NAME: 'value-one-planted' },
      dependsOn: [{ name: 'es', http: 'http://elastic:dep-pass-planted@es:9200/' }],
    });
    const r = redactorFor({ ...config, redact: ['PLAIN_NAME'] } as typeof config, { SHELL_SECRET: 'shell-planted' });
    expect(r.text('value-one-planted dep-pass-planted shell-planted')).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
  });
});

describe('redactConfig', () => {
  it('redacts env secrets and dependency URL userinfo, and leaves the input alone', () => {
    const { config } = resolveWith({
      env: { API_TOKEN: 'tok', NODE_ENV: 'production' },
      dependsOn: [{ name: 'db', tcp: 'db:5432' }, { name: 'es', http: 'http://elastic:changeme@es:9200/' }],
    });
    const shown = redactConfig(config);
    expect(shown.env).toEqual({ API_TOKEN: REDACTED, NODE_ENV: 'production' });
    expect(shown.dependsOn).toEqual([
      { name: 'db', tcp: 'db:5432', http: null },
      { name: 'es', tcp: null, http: 'http://[redacted]@es:9200/' },
    ]);
    expect(shown.port).toBe(config.port);
    expect(config.env['API_TOKEN']).toBe('tok');
    expect(config.dependsOn[1]?.http).toBe('http://elastic:changeme@es:9200/');
  });
});
