/**
 * The redaction edges `config`, the status server and the log files rely on: webhook URLs whose
 * secret is their path, the status token, a user name that is itself a token, and values deep()
 * must leave alone.
 */
import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED, redactConfig, redactWebhook } from '../../src/config/redact.js';
import { resolveWith } from './helpers.js';

describe('redactWebhook', () => {
  it('keeps the scheme and host and hides the path, where incoming-webhook URLs keep their secret', () => {
    expect(redactWebhook('https://hooks.slack.com/services/T000/B000/XXXXsecret')).toBe(`https://hooks.slack.com/${REDACTED}`);
    expect(redactWebhook('https://hooks.example.com?key=abc')).toBe(`https://hooks.example.com/${REDACTED}`);
  });

  it('drops userinfo and leaves a URL with no path as it is', () => {
    expect(redactWebhook('https://user:pw@alerts.example.com/')).toBe('https://alerts.example.com/');
    expect(redactWebhook('http://alerts.example.com')).toBe('http://alerts.example.com');
  });

  it('hides the whole value when it is not a URL at all', () => {
    expect(redactWebhook('alerts.example.com/hook/secret')).toBe(REDACTED);
  });
});

describe('redactConfig: the status server and alerts', () => {
  it('hides the status token and the webhook paths, and keeps a null token null', () => {
    const { config } = resolveWith({
      status: { port: 9100, token: 'tok-0123456789abcdef' },
      alerts: { webhook: ['https://hooks.slack.com/services/T/B/secret'] },
    });
    const shown = redactConfig(config);
    expect(shown.status.token).toBe(REDACTED);
    expect(shown.alerts.webhook).toEqual([`https://hooks.slack.com/${REDACTED}`]);
    expect(config.status.token).toBe('tok-0123456789abcdef');
    expect(redactConfig(resolveWith({}).config).status.token).toBeNull();
  });

  it('works on a hand-built config without a redact list', () => {
    const { config } = resolveWith({ env: { DB_PASSWORD: 'pw', HOME_DIR: '/home/x' } });
    const { redact: _omitted, ...bare } = config;
    const shown = redactConfig(bare as typeof config);
    expect(shown.env).toEqual({ DB_PASSWORD: REDACTED, HOME_DIR: '/home/x' });
  });
});

describe('createRedactor: edges', () => {
  it('hides a user name that is itself a token wherever it appears later in free text', () => {
    const r = createRedactor({ urls: ['https://ghp_planted0123@github.com/org/repo.git'] });
    expect(r.text('cloning with ghp_planted0123 now')).toBe(`cloning with ${REDACTED} now`);
  });

  it('skips unset variables of an inherited environment, and hides nothing without sources but URL userinfo', () => {
    const r = createRedactor({ envs: [{ API_TOKEN: undefined, PATH: '/usr/bin' }] });
    expect(r.text('API_TOKEN is unset; PATH=/usr/bin')).toBe('API_TOKEN is unset; PATH=/usr/bin');
    expect(createRedactor({}).text('http://u:p@x/ and plain')).toBe(`http://${REDACTED}@x/ and plain`);
  });

  it('deep() leaves instances of classes as they are and walks objects without a prototype', () => {
    const r = createRedactor({ envs: [{ MY_SECRET: 'sec-planted-42' }] });
    const when = new Date(0);
    expect(r.deep({ when })).toEqual({ when });
    expect(r.deep({ when }).when).toBe(when);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { line: 'sec-planted-42' });
    expect(r.deep(bare)).toEqual({ line: REDACTED });
  });
});
