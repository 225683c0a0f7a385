/**
 * The sentence a failing probe's error becomes: it is shown while a start waits, becomes a
 * failure's reason, and must say what is wrong in the user's terms (which address, which cause).
 */
import { describe, expect, it } from 'vitest';
import { socketErrorResult } from '../../src/health/tcp.js';

const errno = (code: string, message = `connect ${code}`): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe('socketErrorResult', () => {
  it.each([
    ['ETIMEDOUT', '127.0.0.1', 'timed out connecting to 127.0.0.1:8000 (the operating system gave up)'],
    ['EADDRNOTAVAIL', '127.0.0.1', 'cannot connect to 127.0.0.1:8000: address not available (EADDRNOTAVAIL)'],
    ['EAFNOSUPPORT', '::1', 'cannot connect to 127.0.0.1:8000: IPv6 is not available on this machine (EAFNOSUPPORT)'],
    ['EADDRNOTAVAIL', '::1', 'cannot connect to 127.0.0.1:8000: IPv6 is not available on this machine (EADDRNOTAVAIL)'],
    ['ENETUNREACH', '10.0.0.1', 'network unreachable for 127.0.0.1:8000'],
    ['EHOSTUNREACH', '10.0.0.1', 'host unreachable: 127.0.0.1:8000'],
    ['ENOTFOUND', 'db.internal', 'cannot resolve host name "db.internal" (ENOTFOUND)'],
    ['EAI_AGAIN', 'db.internal', 'cannot resolve host name "db.internal" (EAI_AGAIN)'],
    ['EPIPE', '127.0.0.1', 'EPIPE: connect EPIPE'],
  ])('%s on %s', (code, host, detail) => {
    expect(socketErrorResult(errno(code), 1.234, host, '127.0.0.1:8000', 'connect')).toEqual({ ok: false, latencyMs: 1.23, error: code, detail });
  });

  it('tells a reset before the HTTP response from a reset while connecting', () => {
    expect(socketErrorResult(errno('ECONNRESET'), 0, 'h', 'h:1', 'request').detail).toBe(
      'connection reset: something on h:1 accepted the connection but closed it without an HTTP response',
    );
    expect(socketErrorResult(errno('ECONNRESET'), 0, 'h', 'h:1', 'connect').detail).toBe('connection reset by h:1');
  });

  it('names a server that does not speak HTTP', () => {
    expect(socketErrorResult(errno('HPE_INVALID_CONSTANT', 'Expected HTTP/'), 0, 'h', 'h:1', 'request').detail).toBe(
      'something on h:1 answered, but not with valid HTTP (Expected HTTP/)',
    );
  });

  it('falls back to the error name, or EUNKNOWN for something that is not an Error', () => {
    expect(socketErrorResult(new TypeError('bad'), 0, 'h', 'h:1', 'connect')).toMatchObject({ error: 'TypeError', detail: 'TypeError: bad' });
    expect(socketErrorResult('weird', 0, 'h', 'h:1', 'connect')).toMatchObject({ error: 'EUNKNOWN', detail: 'EUNKNOWN: weird' });
  });
});
