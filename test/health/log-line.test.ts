import { describe, expect, it } from 'vitest';
import { isNaijaSupError } from '../../src/errors.js';
import { createLogMatcher, stripAnsi } from '../../src/health/index.js';

const ESC = '\u001B';

describe('stripAnsi', () => {
  it.each([
    // uvicorn's coloured startup line
    [`${ESC}[32mINFO${ESC}[0m:     Uvicorn running on ${ESC}[1mhttp://127.0.0.1:8000${ESC}[0m (Press CTRL+C to quit)`,
      'INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)'],
    // 256-colour and truecolour SGR
    [`${ESC}[38;5;208mwarn${ESC}[39m ${ESC}[38;2;10;20;30mx${ESC}[0m`, 'warn x'],
    // cursor movement / erase line (progress redraws)
    [`${ESC}[2K${ESC}[1Gready`, 'ready'],
    // one-byte C1 CSI
    ['\u009B31mred\u009B0m', 'red'],
    // OSC 8 hyperlink, ended by ST and by BEL
    [`${ESC}]8;;http://x${ESC}\\link${ESC}]8;;${ESC}\\ and ${ESC}]0;title\u0007done`, 'link and done'],
    // charset selection
    [`${ESC}(Bplain`, 'plain'],
    ['no escapes at all [brackets] stay', 'no escapes at all [brackets] stay'],
  ])('%j → %j', (input, expected) => {
    expect(stripAnsi(input)).toBe(expected);
  });
});

describe('createLogMatcher', () => {
  it('matches a string pattern through colour codes', () => {
    const matcher = createLogMatcher('Uvicorn running on http://127\\.0\\.0\\.1');
    expect(matcher.test(`${ESC}[32mINFO${ESC}[0m:     Uvicorn running on ${ESC}[1mhttp://127.0.0.1:8000${ESC}[0m`)).toBe(true);
    expect(matcher.test('INFO:     Started server process [4242]')).toBe(false);
  });

  it('colour codes inside the matched words do not break the match', () => {
    const matcher = createLogMatcher(/listening on port \d+/);
    expect(matcher.test(`server ${ESC}[1mlistening${ESC}[22m on port ${ESC}[36m8000${ESC}[39m`)).toBe(true);
  });

  it('anchors work on CRLF lines', () => {
    const matcher = createLogMatcher(/^ready$/);
    expect(matcher.test('ready\r')).toBe(true);
    expect(matcher.test('not ready')).toBe(false);
  });

  it('keeps the flags of a RegExp', () => {
    const matcher = createLogMatcher(/application startup complete/i);
    expect(matcher.test('INFO:     Application startup complete.')).toBe(true);
    expect(matcher.regex.flags).toBe('i');
  });

  it('drops g and y, which would make test() stateful', () => {
    const sticky = /ready/gy;
    const matcher = createLogMatcher(/ready/g);
    const stickyMatcher = createLogMatcher(sticky);
    for (let i = 0; i < 3; i += 1) {
      expect(matcher.test('ready')).toBe(true);
      expect(stickyMatcher.test('ready')).toBe(true);
    }
    expect(matcher.regex.flags).toBe('');
    // The caller's own RegExp is not touched.
    expect(sticky.flags).toBe('gy');
  });

  it('accepts "/source/flags" strings, as config files cannot hold a RegExp', () => {
    const matcher = createLogMatcher('/Listening ON port \\d+/i');
    expect(matcher.regex.source).toBe('Listening ON port \\d+');
    expect(matcher.regex.flags).toBe('i');
    expect(matcher.test('listening on port 3000')).toBe(true);
    expect(createLogMatcher('/ready/gi').regex.flags).toBe('i');
  });

  it('a plain string is a case-sensitive regex source', () => {
    const matcher = createLogMatcher('Ready in \\d+ms');
    expect(matcher.test('Ready in 120ms')).toBe(true);
    expect(matcher.test('ready in 120ms')).toBe(false);
  });

  it('compiles once: the returned matcher keeps one RegExp', () => {
    const matcher = createLogMatcher('ready');
    const first = matcher.regex;
    matcher.test('ready');
    matcher.test('nope');
    expect(matcher.regex).toBe(first);
  });

  it.each([
    ['', /empty/],
    ['listening (on', /not a valid regular expression/],
    ['/ready/q', /not a valid regular expression/],
  ])('rejects %j with E_CONFIG_INVALID', (pattern, message) => {
    let caught: unknown;
    try {
      createLogMatcher(pattern);
    } catch (error) {
      caught = error;
    }
    expect(isNaijaSupError(caught)).toBe(true);
    if (!isNaijaSupError(caught)) return;
    expect(caught.code).toBe('E_CONFIG_INVALID');
    expect(caught.message).toMatch(message);
    expect(caught.fix).toBeTruthy();
  });
});
