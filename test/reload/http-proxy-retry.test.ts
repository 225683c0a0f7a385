import { describe, expect, it } from 'vitest';
import { mayWaitForReplacement, onUpstreamFailure } from '../../src/reload/http-proxy-retry.js';

const facts = { code: 'ECONNRESET', method: 'GET', responseStarted: false, retried: false, bodyRead: false };

describe('onUpstreamFailure', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])('sends an idempotent %s again after a reset', (method) => {
    expect(onUpstreamFailure({ ...facts, method }, 'blue')).toEqual({ action: 'retry', refused: false });
  });

  it.each(['POST', 'PATCH'])('never sends a %s again after a reset, and says why', (method) => {
    const next = onUpstreamFailure({ ...facts, method }, 'blue');
    expect(next.action).toBe('bad-gateway');
    expect(next.action === 'bad-gateway' && next.message).toBe(`The instance blue failed before answering (ECONNRESET); a ${method} is not sent again because it may have taken effect.`);
  });

  it('sends any method again when the connection was refused (nothing reached the instance)', () => {
    expect(onUpstreamFailure({ ...facts, code: 'ECONNREFUSED', method: 'POST' }, 'blue')).toEqual({ action: 'retry', refused: true });
  });

  it('a refusal after an earlier retry is still sent again (the instance that reset it died; the wait is bounded by the queue timeout)', () => {
    expect(onUpstreamFailure({ ...facts, code: 'ECONNREFUSED', retried: true }, 'green')).toEqual({ action: 'retry', refused: true });
    expect(onUpstreamFailure({ ...facts, code: 'ECONNREFUSED', method: 'PUT', retried: true, bodyRead: true }, 'green')).toMatchObject({ action: 'bad-gateway' });
  });

  it('retries once only, never once a body byte was read, never for errors that are not the instance going away', () => {
    expect(onUpstreamFailure({ ...facts, retried: true }, 'blue')).toMatchObject({ action: 'bad-gateway', message: expect.stringContaining('already been sent again') as string });
    expect(onUpstreamFailure({ ...facts, method: 'PUT', bodyRead: true }, 'blue')).toMatchObject({ action: 'bad-gateway', message: expect.stringContaining('body was already read') as string });
    expect(onUpstreamFailure({ ...facts, code: 'HPE_INVALID_CONSTANT' }, 'blue')).toMatchObject({ action: 'bad-gateway' });
  });

  it('a failure on an instance a reload retired does not use up the retry (reloads back to back), but never makes a POST or a read body retryable', () => {
    expect(onUpstreamFailure({ ...facts, retried: true, retiredInstance: true }, 'old-green')).toEqual({ action: 'retry', refused: false });
    expect(onUpstreamFailure({ ...facts, retried: true, retiredInstance: false }, 'green')).toMatchObject({ action: 'bad-gateway' });
    expect(onUpstreamFailure({ ...facts, method: 'POST', retiredInstance: true }, 'blue')).toMatchObject({ action: 'bad-gateway', message: expect.stringContaining('may have taken effect') as string });
    expect(onUpstreamFailure({ ...facts, method: 'PUT', bodyRead: true, retiredInstance: true }, 'blue')).toMatchObject({ action: 'bad-gateway' });
  });

  it.each(['GET', 'POST'])('never sends a %s again after a response timeout (the instance may still be working on it): 504', (method) => {
    expect(onUpstreamFailure({ ...facts, code: 'ETIMEDOUT', method }, 'blue')).toEqual({ action: 'gateway-timeout' });
    expect(onUpstreamFailure({ ...facts, code: 'ETIMEDOUT', method, retiredInstance: true }, 'blue')).toEqual({ action: 'gateway-timeout' });
    expect(mayWaitForReplacement({ ...facts, code: 'ETIMEDOUT', method })).toBe(false);
  });

  it('aborts the client connection when the response had started', () => {
    expect(onUpstreamFailure({ ...facts, responseStarted: true }, 'blue')).toEqual({ action: 'abort' });
  });
});

describe('mayWaitForReplacement (a second failure on the one instance there is)', () => {
  it('waits for the replacement when the instance is going away and the request may be sent again', () => {
    expect(mayWaitForReplacement({ ...facts, retried: true })).toBe(true);
    expect(mayWaitForReplacement({ ...facts, code: 'ECONNREFUSED', method: 'POST', retried: true })).toBe(true);
  });

  it('never for a POST that reached the instance, a body already read, a started response or another error', () => {
    expect(mayWaitForReplacement({ ...facts, method: 'POST', retried: true })).toBe(false);
    expect(mayWaitForReplacement({ ...facts, bodyRead: true, retried: true })).toBe(false);
    expect(mayWaitForReplacement({ ...facts, responseStarted: true, retried: true })).toBe(false);
    expect(mayWaitForReplacement({ ...facts, code: 'HPE_INVALID_CONSTANT', retried: true })).toBe(false);
  });
});
