import { describe, expect, it } from 'vitest';
import { isSecretName, REDACTED, redactEnv } from '../../src/config/redact.js';

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
