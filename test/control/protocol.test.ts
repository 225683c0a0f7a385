import { describe, expect, it } from 'vitest';
import { LineBuffer, MAX_REQUEST_BYTES, displayUrl, encodeMessage, parseMessage, parseRequest } from '../../src/control/protocol.js';

describe('parseRequest', () => {
  it('accepts each request type of version 1', () => {
    for (const type of ['status', 'restart', 'reload', 'rollback', 'events'] as const) {
      expect(parseRequest(JSON.stringify({ v: 1, id: 7, type }))).toEqual({ ok: true, request: { v: 1, id: 7, type } });
    }
    expect(parseRequest('{"v":1,"id":"a","type":"stop","timeoutMs":2500,"force":true}')).toEqual({
      ok: true,
      request: { v: 1, id: 'a', type: 'stop', timeoutMs: 2500, force: true },
    });
  });

  it('takes scale with a number of instances from 1 to 256 (issue 20)', () => {
    expect(parseRequest('{"v":1,"id":5,"type":"scale","instances":4}')).toEqual({ ok: true, request: { v: 1, id: 5, type: 'scale', instances: 4 } });
    for (const bad of ['0', '257', '2.5', '"4"', 'null']) {
      const parsed = parseRequest(`{"v":1,"id":5,"type":"scale","instances":${bad}}`);
      expect(parsed).toMatchObject({ ok: false, reply: { id: 5, error: { code: 'E_BAD_REQUEST', message: '"instances" must be an integer from 1 to 256' } } });
    }
    expect(parseRequest('{"v":1,"id":5,"type":"scale"}')).toMatchObject({ ok: false, reply: { error: { code: 'E_BAD_REQUEST' } } });
  });

  it('takes reload with an optional parallel from 1 to 256 (reload --parallel K, issue 20)', () => {
    expect(parseRequest('{"v":1,"id":6,"type":"reload","parallel":2}')).toEqual({ ok: true, request: { v: 1, id: 6, type: 'reload', parallel: 2 } });
    expect(parseRequest('{"v":1,"id":6,"type":"reload"}')).toEqual({ ok: true, request: { v: 1, id: 6, type: 'reload' } });
    for (const bad of ['0', '-1', '257', '1.5', '"2"', 'null']) {
      const parsed = parseRequest(`{"v":1,"id":6,"type":"reload","parallel":${bad}}`);
      expect(parsed).toMatchObject({ ok: false, reply: { id: 6, error: { code: 'E_BAD_REQUEST', message: '"parallel" must be an integer from 1 to 256' } } });
    }
  });

  it('answers malformed JSON with E_MALFORMED and no id', () => {
    const parsed = parseRequest('{"v":1,');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.reply).toMatchObject({ v: 1, id: null, ok: false, error: { code: 'E_MALFORMED' } });
    }
    expect(parseRequest('[1,2]')).toMatchObject({ ok: false, reply: { error: { code: 'E_MALFORMED' } } });
    expect(parseRequest('"status"')).toMatchObject({ ok: false, reply: { error: { code: 'E_MALFORMED' } } });
  });

  it('answers another protocol version with E_VERSION, keeping the id', () => {
    expect(parseRequest('{"v":2,"id":3,"type":"status"}')).toMatchObject({ ok: false, reply: { id: 3, error: { code: 'E_VERSION' } } });
    expect(parseRequest('{"id":3,"type":"status"}')).toMatchObject({ ok: false, reply: { id: 3, error: { code: 'E_VERSION' } } });
  });

  it('answers an unknown type with E_UNKNOWN_TYPE naming the valid ones', () => {
    const parsed = parseRequest('{"v":1,"id":4,"type":"shutdown-everything"}');
    expect(parsed).toMatchObject({ ok: false, reply: { id: 4, error: { code: 'E_UNKNOWN_TYPE' } } });
    if (!parsed.ok && !parsed.reply.ok) expect(parsed.reply.error.message).toContain('status, stop, restart, reload, rollback, events');
  });

  it('rejects bad fields with E_BAD_REQUEST', () => {
    expect(parseRequest('{"v":1,"type":"status"}')).toMatchObject({ ok: false, reply: { error: { code: 'E_BAD_REQUEST' } } });
    expect(parseRequest('{"v":1,"id":{},"type":"status"}')).toMatchObject({ ok: false, reply: { error: { code: 'E_BAD_REQUEST' } } });
    expect(parseRequest('{"v":1,"id":1,"type":"stop","timeoutMs":-1}')).toMatchObject({ ok: false, reply: { id: 1, error: { code: 'E_BAD_REQUEST' } } });
    expect(parseRequest('{"v":1,"id":1,"type":"stop","force":"yes"}')).toMatchObject({ ok: false, reply: { id: 1, error: { code: 'E_BAD_REQUEST' } } });
  });
});

describe('parseMessage', () => {
  it('reads replies and events, and nothing else', () => {
    expect(parseMessage('{"v":1,"id":1,"ok":true}')).toEqual({ v: 1, id: 1, ok: true });
    expect(parseMessage('{"v":1,"id":1,"event":{"type":"ready","pid":5}}')).toEqual({ v: 1, id: 1, event: { type: 'ready', pid: 5 } });
    expect(parseMessage('{"v":1,"id":1,"ok":false,"error":{"code":"E_MALFORMED","message":"x"}}')).toMatchObject({ ok: false });
    expect(parseMessage('{"v":1,"id":1,"ok":false}')).toBeNull();
    expect(parseMessage('{"v":2,"id":1,"ok":true}')).toBeNull();
    expect(parseMessage('{"v":1,"id":1,"event":{}}')).toBeNull();
    expect(parseMessage('nope')).toBeNull();
  });

  it('round-trips what encodeMessage writes', () => {
    const line = encodeMessage({ v: 1, id: 'x', ok: true, stream: true });
    expect(line.endsWith('\n')).toBe(true);
    expect(parseMessage(line.trim())).toEqual({ v: 1, id: 'x', ok: true, stream: true });
  });
});

describe('LineBuffer', () => {
  it('splits lines across chunks, including a multi-byte character cut in two', () => {
    const buffer = new LineBuffer(100);
    const bytes = Buffer.from('é1\nab');
    expect(buffer.push(bytes.subarray(0, 1))).toEqual({ lines: [], overflow: false });
    expect(buffer.push(bytes.subarray(1))).toEqual({ lines: ['é1'], overflow: false });
    expect(buffer.push(Buffer.from('c\r\nd\n'))).toEqual({ lines: ['abc', 'd'], overflow: false });
  });

  it('reports overflow once an unfinished line passes the limit, without keeping it', () => {
    const buffer = new LineBuffer(MAX_REQUEST_BYTES);
    expect(buffer.push(Buffer.alloc(MAX_REQUEST_BYTES, 0x61)).overflow).toBe(false);
    expect(buffer.push(Buffer.from('a')).overflow).toBe(true);
    const small = new LineBuffer(4);
    expect(small.push(Buffer.from('12345\n'))).toEqual({ lines: [], overflow: true });
    expect(small.push(Buffer.from('ok\n'))).toEqual({ lines: ['ok'], overflow: false });
  });
});

describe('displayUrl', () => {
  it('shows wildcard binds on loopback and brackets IPv6', () => {
    expect(displayUrl('0.0.0.0', 3000)).toBe('http://127.0.0.1:3000');
    expect(displayUrl('::', 3000)).toBe('http://[::1]:3000');
    expect(displayUrl('::1', 80)).toBe('http://[::1]:80');
    expect(displayUrl('127.0.0.1', 8080)).toBe('http://127.0.0.1:8080');
  });
});
