/**
 * The HTTP proxy's upstream response parser (src/reload/http-response-parser.ts): framing by RFC
 * 9112 §6.3, each response fed whole and split at every byte, errors with llhttp-like codes.
 */

import { describe, expect, it } from 'vitest';
import { ResponseParseError, ResponseParser, type ResponseHead } from '../../src/reload/http-response-parser.js';

interface Seen {
  heads: ResponseHead[];
  body: string;
  ends: number;
}

function parser(maxHeadSize?: number): { parser: ResponseParser; seen: Seen } {
  const seen: Seen = { heads: [], body: '', ends: 0 };
  const events = {
    head: (head: ResponseHead) => seen.heads.push(head),
    body: (chunk: Buffer) => {
      seen.body += chunk.toString('latin1');
    },
    end: () => {
      seen.ends += 1;
    },
  };
  return { parser: new ResponseParser(events, maxHeadSize), seen };
}

/** Feeds `text` in pieces cut at `cuts` (byte offsets). */
function feed(p: ResponseParser, text: string, cuts: number[] = []): void {
  const bytes = Buffer.from(text, 'latin1');
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from) p.execute(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
}

/** Parses `text` whole and split in two at every offset; every way gives the same result. */
function parseEveryWay(text: string, head = false): Seen {
  const whole = parser();
  whole.parser.expect(head);
  feed(whole.parser, text);
  for (let cut = 1; cut < text.length; cut++) {
    const split = parser();
    split.parser.expect(head);
    feed(split.parser, text, [cut]);
    expect(split.seen, `split at ${cut}`).toEqual(whole.seen);
  }
  const bytewise = parser();
  bytewise.parser.expect(head);
  feed(bytewise.parser, text, Array.from({ length: text.length }, (_, i) => i + 1));
  expect(bytewise.seen).toEqual(whole.seen);
  return whole.seen;
}

function parseError(text: string, maxHeadSize?: number): ResponseParseError {
  const { parser: p } = parser(maxHeadSize);
  p.expect(false);
  try {
    feed(p, text);
  } catch (error) {
    if (error instanceof ResponseParseError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

describe('framing', () => {
  it('reads a Content-Length body and ends the message at its last byte', () => {
    const seen = parseEveryWay('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello');
    expect(seen.heads).toHaveLength(1);
    expect(seen.heads[0]).toEqual({ status: 200, statusText: 'OK', rawHeaders: ['Content-Type', 'text/plain', 'Content-Length', '5'], keepAlive: true, keepAliveTimeoutMs: -1, contentLength: 5 });
    expect(seen.body).toBe('hello');
    expect(seen.ends).toBe(1);
  });

  it('decodes a chunked body, with chunk extensions and trailers, and drops the trailers', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1 \r\n,\r\nA\r\n0123456789\r\n0\r\nX-Checksum: abc\r\n\r\n';
    const seen = parseEveryWay(text);
    expect(seen.body).toBe('hello,0123456789');
    expect(seen.ends).toBe(1);
    expect(seen.heads[0]?.contentLength).toBe(-1);
    expect(seen.heads[0]?.keepAlive).toBe(true);
  });

  it('reads one response after another on a keep-alive connection', () => {
    const { parser: p, seen } = parser();
    p.expect(false);
    feed(p, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na');
    expect(p.idle).toBe(true);
    p.expect(false);
    feed(p, 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n');
    expect(seen.heads.map((h) => h.status)).toEqual([200, 404]);
    expect(seen.body).toBe('ab');
    expect(seen.ends).toBe(2);
  });

  it('expects no body after HEAD, 204 and 304, whatever their headers say', () => {
    expect(parseEveryWay('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', true)).toMatchObject({ body: '', ends: 1 });
    expect(parseEveryWay('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', true)).toMatchObject({ body: '', ends: 1 });
    expect(parseEveryWay('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n')).toMatchObject({ body: '', ends: 1 });
    expect(parseEveryWay('HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n')).toMatchObject({ body: '', ends: 1 });
    expect(parseEveryWay('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')).toMatchObject({ body: '', ends: 1 });
  });

  it('skips 100 Continue and 103 Early Hints and reports the final response only', () => {
    const seen = parseEveryWay('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    expect(seen.heads.map((h) => h.status)).toEqual([201]);
    expect(seen.body).toBe('ok');
  });

  it('runs a body without Content-Length or chunked coding to the end of the connection', () => {
    for (const headers of ['', 'Transfer-Encoding: gzip\r\n']) {
      const { parser: p, seen } = parser();
      p.expect(false);
      feed(p, `HTTP/1.1 200 OK\r\n${headers}\r\npart one, `);
      feed(p, 'part two');
      expect(p.untilClose).toBe(true);
      expect(seen.ends).toBe(0);
      expect(p.finish()).toBe(true);
      expect(seen).toMatchObject({ body: 'part one, part two', ends: 1 });
      expect(seen.heads[0]?.keepAlive).toBe(false);
    }
  });

  it('skips a stray CRLF before a status line, as llhttp does', () => {
    const seen = parseEveryWay('\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expect(seen).toMatchObject({ body: 'ok', ends: 1 });
    expect(parseEveryWay('\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')).toMatchObject({ body: 'ok', ends: 1 });
  });

  it('takes a 101 as the final answer when told to (the health probe), and ends the message there', () => {
    const heads: ResponseHead[] = [];
    let ends = 0;
    const p = new ResponseParser({ head: (h) => heads.push(h), body: () => undefined, end: () => { ends += 1; } }, undefined, true);
    p.expect(false);
    p.execute(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', 'latin1'));
    expect(heads.map((h) => h.status)).toEqual([101]);
    expect(ends).toBe(1);
    expect(p.idle).toBe(true);
  });

  it('ends a cut-short body as incomplete: finish() is false', () => {
    const { parser: p, seen } = parser();
    p.expect(false);
    feed(p, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    expect(p.finish()).toBe(false);
    expect(seen.ends).toBe(0);
  });
});

describe('keep-alive', () => {
  const head = (text: string): ResponseHead => {
    const seen = parseEveryWay(text);
    return seen.heads[0] as ResponseHead;
  };

  it('keeps HTTP/1.1 unless told to close, and HTTP/1.0 only when told to keep', () => {
    expect(head('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(true);
    expect(head('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(head('HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(head('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(head('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(true);
  });

  it("reads the server's Keep-Alive timeout", () => {
    expect(head('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n').keepAliveTimeoutMs).toBe(5000);
    expect(head('HTTP/1.1 200 OK\r\nKeep-Alive: max=100, timeout=2\r\nContent-Length: 0\r\n\r\n').keepAliveTimeoutMs).toBe(2000);
    expect(head('HTTP/1.1 200 OK\r\nKeep-Alive: max=100\r\nContent-Length: 0\r\n\r\n').keepAliveTimeoutMs).toBe(-1);
  });

  it('takes control characters in a reason phrase, as llhttp does (not in a header line)', () => {
    expect(head('HTTP/1.1 200 O\u0001K\u007f\r\nContent-Length: 0\r\n\r\n')).toMatchObject({ status: 200, statusText: 'O\u0001K\u007f' });
  });

  it('keeps an empty reason phrase', () => {
    expect(head('HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok')).toMatchObject({ statusText: '', contentLength: 2 });
    expect(head('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n')).toMatchObject({ status: 200, statusText: '' });
  });
});

describe('errors', () => {
  it.each([
    ['a status line that is not HTTP/1.x', 'HTTP/2 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a status that is not three digits', 'HTTP/1.1 20 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['something that is not HTTP, at its first bytes (no head end yet)', 'SSH-2.0-OpenSSH_9.2\r\n', 'HPE_INVALID_CONSTANT'],
    ['a TLS alert, at its first byte', '\u0015\u0003\u0001', 'HPE_INVALID_CONSTANT'],
    ['a stray CR followed by something else', '\rX', 'HPE_INVALID_CONSTANT'],
    ['a status glued to its reason', 'HTTP/1.1 200OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbroken\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a space in a header name', 'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nA: b\r\n  c\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a Content-Length that is not a number', 'HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['two equal Content-Lengths (node would refuse the head passed on)', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['a list of equal Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok', 'HPE_INVALID_CONTENT_LENGTH'],
    ['a head with bare LF line ends, before its end arrives', 'HTTP/1.1 200 OK\nContent-Length: 2\n', 'HPE_CR_EXPECTED'],
    ['a header line ending in a bare LF', 'HTTP/1.1 200 OK\r\nX-A: b\nContent-Length: 2\r\n\r\nok', 'HPE_CR_EXPECTED'],
    ['a chunk size line ending in a bare LF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc', 'HPE_CR_EXPECTED'],
    ['a trailer line ending in a bare LF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\n', 'HPE_CR_EXPECTED'],
    ['Transfer-Encoding and Content-Length together', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['Content-Length after a non-chunked Transfer-Encoding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['a list of different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['a chunk size too large to be real', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['a chunk without its CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX', 'HPE_STRICT'],
    ['a 101 nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['a control character in a header value', 'HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a CR inside a header value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a lone CR in the status line', 'HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n', 'HPE_STRICT'],
    ['bytes after the response', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n', 'HPE_CLOSED_CONNECTION'],
  ])('rejects %s', (_what, text, code) => {
    expect(parseError(text).code).toBe(code);
  });

  it('rejects a head larger than the limit, whether or not its end has arrived', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(200)}\r\n`;
    expect(parseError(big, 100).code).toBe('HPE_HEADER_OVERFLOW');
    expect(parseError(`${big}\r\n`, 100).code).toBe('HPE_HEADER_OVERFLOW');
    expect(parseError(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ${'a'.repeat(200)}`, 100).code).toBe('HPE_HEADER_OVERFLOW');
    expect(parseError(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'0'.repeat(2000)}`).code).toBe('HPE_INVALID_CHUNK_SIZE');
  });

  it('rejects bytes on an idle connection (no request was sent)', () => {
    const { parser: p } = parser();
    expect(() => p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))).toThrow(ResponseParseError);
  });
});
