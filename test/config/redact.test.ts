import { describe, expect, it } from 'vitest';
import { isSecretName, REDACTED, redactConfig, redactEnv, redactUrl } from '../../src/config/redact.js';
import { resolveWith } from './helpers.js';

describe('redactEnv', () => {
  it('hides values whose names look secret, in any case', () => {
    const env = {
      DB_PASSWORD: 'hunter2',
      API_KEY: 'k-123',
      GITHUB_TOKEN: 'ghp_x',
      my_secret: 's',
      AWS_CREDENTIALS: 'c',
      MYSQL_PASSWD: 'p',
      privateKeyPath: '/k',
      NODE_ENV: 'production',
      PORT: '8000',
      DATABASE_URL: 'postgres://localhost/db',
    };
    expect(redactEnv(env)).toEqual({
      DB_PASSWORD: REDACTED,
      API_KEY: REDACTED,
      GITHUB_TOKEN: REDACTED,
      my_secret: REDACTED,
      AWS_CREDENTIALS: REDACTED,
      MYSQL_PASSWD: REDACTED,
      privateKeyPath: REDACTED,
      NODE_ENV: 'production',
      PORT: '8000',
      DATABASE_URL: 'postgres://localhost/db',
    });
    expect(REDACTED).toBe('[redacted]');
    // The input is not modified.
    expect(env.DB_PASSWORD).toBe('hunter2');
  });

  it.each([
    ['SECRET', true], ['token', true], ['Password', true], ['PASSWD', true], ['KEY', true], ['CREDENTIAL', true],
    ['NODE_ENV', false], ['HOST', false], ['LOG_LEVEL', false],
  ])('isSecretName(%j) is %s', (name, secret) => {
    expect(isSecretName(name)).toBe(secret);
  });
});

describe('redactUrl', () => {
  it.each([
    ['http://admin:s3cret@search:9200/_health', 'http://admin:[redacted]@search:9200/_health'],
    ['https://:token@api.example.com/', 'https://:[redacted]@api.example.com/'],
    ['HTTP://u:p@h/', 'HTTP://u:[redacted]@h/'],
    ['http://user@host/', 'http://user@host/'],
    ['http://localhost:9200/', 'http://localhost:9200/'],
    ['http://host/path?next=a:b@c', 'http://host/path?next=a:b@c'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe('redactConfig', () => {
  it('redacts env secrets and dependency URL passwords, and leaves the input alone', () => {
    const { config } = resolveWith({
      env: { API_TOKEN: 'tok', NODE_ENV: 'production' },
      dependsOn: [{ name: 'db', tcp: 'db:5432' }, { name: 'es', http: 'http://elastic:changeme@es:9200/' }],
    });
    const shown = redactConfig(config);
    expect(shown.env).toEqual({ API_TOKEN: REDACTED, NODE_ENV: 'production' });
    expect(shown.dependsOn).toEqual([
      { name: 'db', tcp: 'db:5432', http: null },
      { name: 'es', tcp: null, http: 'http://elastic:[redacted]@es:9200/' },
    ]);
    expect(shown.port).toBe(config.port);
    expect(config.env['API_TOKEN']).toBe('tok');
    expect(config.dependsOn[1]?.http).toBe('http://elastic:changeme@es:9200/');
  });
});
