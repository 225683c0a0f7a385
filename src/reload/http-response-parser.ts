/**
 * An HTTP/1.x response parser for the HTTP reload proxy's upstream connections
 * (http-upstream.ts): fed the bytes an instance sends, it reports the final response head, the
 * body's bytes and the message's end, one response after another on a keep-alive connection.
 *
 * Why our own and not node:http's client: see http-upstream.ts. Why not Node's llhttp binding
 * (`require('_http_common').HTTPParser`): it is an internal module that Node is deprecating
 * (nodejs/node#58535), and the proxy would break on the Node release that removes it.
 *
 * It parses what a server sends back, which is simpler than what a server must accept: no request
 * line, no obs-fold, CRLF only. Framing follows RFC 9112 §6.3: no body after HEAD, 1xx, 204 and 304;
 * Transfer-Encoding ending in `chunked` is decoded; any other Transfer-Encoding, or neither header,
 * means the body runs to the connection's end; otherwise Content-Length, which must be one
 * unsigned number, sent once (a list or a repeat is an error, as with llhttp: node's client, and so
 * the proxy's clients, would refuse the head as passed on). Lines end with CRLF: a bare LF is an
 * error at once (waiting for a CRLF CRLF that never comes would hold the request). Both Transfer-Encoding and Content-Length is an
 * error, as llhttp (and so node's client) has it: passed on, the Content-Length would frame the
 * client's copy differently from ours (response splitting). 1xx heads (100 Continue, 103 Early Hints) are
 * skipped. Anything else is an error with an `HPE_*` code like llhttp's, and the connection must be
 * dropped. Trailers are read and dropped, as node's server cannot pass them on undeclared.
 */

export interface ResponseHead {
  status: number;
  statusText: string;
  /** [name, value, name, value…] as received (values trimmed). */
  rawHeaders: string[];
  /** The connection may carry another request after this response. */
  keepAlive: boolean;
  /** The server's `Keep-Alive: timeout=N` in ms, else -1. */
  keepAliveTimeoutMs: number;
  /** Content-Length, or -1 when the body is chunked or runs to the connection's end (or absent). */
  contentLength: number;
}

export interface ResponseEvents {
  head(head: ResponseHead): void;
  body(chunk: Buffer): void;
  end(): void;
}

export class ResponseParseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

const CRLF = 0x0a0d; // '\r\n' read as a little-endian uint16
const MAX_CHUNK_LINE = 1024;

export class ResponseParser {
  private state = State.Idle;
  private pending: Buffer | null = null;
  private remaining = 0;
  private headRequest = false;

  /**
   * @param maxHeadSize  the largest response head taken (llhttp's default)
   * @param switchEnds   a 101 Switching Protocols is a final answer that ends the message (the
   *   health probe reports it as a status); otherwise it is an error (the proxy never asked for one)
   */
  constructor(
    private readonly events: ResponseEvents,
    private readonly maxHeadSize = 16 * 1024,
    private readonly switchEnds = false,
  ) {}

  /** A request was sent: parse its response (`head`: it was a HEAD request, no body follows). */
  expect(head: boolean): void {
    this.state = State.Head;
    this.headRequest = head;
    this.pending = null;
  }

  /** Between messages: bytes now would be a protocol error. */
  get idle(): boolean {
    return this.state === State.Idle;
  }

  /** The body runs until the connection ends (EOF completes it). */
  get untilClose(): boolean {
    return this.state === State.UntilClose;
  }

  /**
   * Feeds bytes; the events fire from inside. Stops at the end of the message: bytes past it
   * (a response nobody asked for) throw `HPE_CLOSED_CONNECTION`.
   *
   * @throws ResponseParseError on a malformed response.
   */
  execute(input: Buffer): void {
    let data = this.pending === null ? input : Buffer.concat([this.pending, input]);
    this.pending = null;
    while (data.length > 0) {
      const used = this.step(data);
      if (used < 0) {
        this.pending = data;
        return;
      }
      data = data.subarray(used);
    }
  }

  /** The connection ended: true when that completes the message (a body running to the end). */
  finish(): boolean {
    if (this.state !== State.UntilClose) return false;
    this.state = State.Idle;
    this.events.end();
    return true;
  }

  /** Consumes from `data`; returns the bytes used, or -1 when more bytes are needed. */
  private step(data: Buffer): number {
    switch (this.state) {
      case State.Idle:
        throw new ResponseParseError('HPE_CLOSED_CONNECTION', 'Bytes came after the response, which nobody asked for.');
      case State.Head:
        return this.readHead(data);
      case State.Length:
      case State.ChunkData:
      case State.UntilClose:
        return this.readBody(data);
      case State.ChunkSize:
        return this.readChunkSize(data);
      case State.ChunkDataEnd:
        if (data.length < 2) return -1;
        if (data.readUInt16LE(0) !== CRLF) throw new ResponseParseError('HPE_STRICT', 'A chunk does not end with CRLF.');
        this.state = State.ChunkSize;
        return 2;
      case State.Trailers:
        return this.readTrailer(data);
    }
  }

  private readHead(data: Buffer): number {
    // A stray CRLF (or LF) before a status line (after a body that ended with one too many) is tolerated, as llhttp does.
    if (data.length >= 2 && data.readUInt16LE(0) === CRLF) return 2;
    if (data[0] === 0x0a) return 1;
    const end = data.indexOf('\r\n\r\n', 0, 'latin1');
    rejectBareLf(data, end === -1 ? data.length : end);
    if (end === -1) {
      // Something that is not HTTP (a TLS or SSH server, a database) fails at its first bytes, as
      // with llhttp, rather than when its head would have ended.
      if (!mayStartStatusLine(data)) throw new ResponseParseError('HPE_INVALID_CONSTANT', `Not an HTTP/1.x status line: ${JSON.stringify(data.toString('latin1', 0, 60).split('\r\n')[0])}.`);
      if (data.length > this.maxHeadSize) throw new ResponseParseError('HPE_HEADER_OVERFLOW', `The response head is larger than ${this.maxHeadSize} bytes.`);
      return -1;
    }
    if (end > this.maxHeadSize) throw new ResponseParseError('HPE_HEADER_OVERFLOW', `The response head is larger than ${this.maxHeadSize} bytes.`);
    const head = parseHead(data.toString('latin1', 0, end));
    if (head.status < 200) {
      // 100 Continue, 103 Early Hints: informational, the final response follows. (101 only
      // answers an Upgrade, which goes through http-proxy-upgrade.ts, never through here.)
      if (head.status === 101) {
        if (!this.switchEnds) throw new ResponseParseError('HPE_INVALID_STATUS', 'A 101 Switching Protocols that nobody asked for.');
        this.state = State.Idle;
        this.events.head(head.response);
        this.events.end();
      }
      return end + 4;
    }
    this.frame(head);
    this.events.head(head.response);
    if (this.state === State.Idle) this.events.end();
    return end + 4;
  }

  private frame({ status, chunked, otherEncoding, response }: ParsedHead): void {
    if (this.headRequest || status === 204 || status === 304) {
      this.state = State.Idle;
    } else if (chunked) {
      this.state = State.ChunkSize;
    } else if (otherEncoding || response.contentLength === -1) {
      this.state = State.UntilClose;
      response.keepAlive = false;
      response.contentLength = -1;
    } else if (response.contentLength === 0) {
      this.state = State.Idle;
    } else {
      this.state = State.Length;
      this.remaining = response.contentLength;
    }
  }

  private readBody(data: Buffer): number {
    if (this.state === State.UntilClose) {
      this.events.body(data);
      return data.length;
    }
    const take = Math.min(this.remaining, data.length);
    this.remaining -= take;
    const done = this.remaining === 0;
    if (done) this.state = this.state === State.Length ? State.Idle : State.ChunkDataEnd;
    this.events.body(take === data.length ? data : data.subarray(0, take));
    if (done && this.state === State.Idle) this.events.end();
    return take;
  }

  private readChunkSize(data: Buffer): number {
    const end = data.indexOf('\r\n', 0, 'latin1');
    rejectBareLf(data, end === -1 ? data.length : end);
    if (end === -1) {
      if (data.length > MAX_CHUNK_LINE) throw new ResponseParseError('HPE_INVALID_CHUNK_SIZE', 'A chunk size line is too long.');
      return -1;
    }
    const line = data.toString('latin1', 0, end);
    const semicolon = line.indexOf(';');
    const hex = (semicolon === -1 ? line : line.slice(0, semicolon)).trimEnd();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ResponseParseError('HPE_INVALID_CHUNK_SIZE', `Invalid chunk size ${JSON.stringify(line.slice(0, 40))}.`);
    const size = Number.parseInt(hex, 16);
    if (size === 0) {
      this.state = State.Trailers;
    } else {
      this.state = State.ChunkData;
      this.remaining = size;
    }
    return end + 2;
  }

  private readTrailer(data: Buffer): number {
    const end = data.indexOf('\r\n', 0, 'latin1');
    rejectBareLf(data, end === -1 ? data.length : end);
    if (end === -1) {
      if (data.length > this.maxHeadSize) throw new ResponseParseError('HPE_HEADER_OVERFLOW', 'The response trailers are too large.');
      return -1;
    }
    if (end === 0) {
      this.state = State.Idle;
      this.events.end();
    }
    return end + 2;
  }
}

/** A LF not preceded by CR before `limit` (a line that ends the wrong way) is an error. */
function rejectBareLf(data: Buffer, limit: number): void {
  for (let at = data.indexOf(0x0a); at !== -1 && at < limit; at = data.indexOf(0x0a, at + 1)) {
    if (at === 0 || data[at - 1] !== 0x0d) throw new ResponseParseError('HPE_CR_EXPECTED', 'A response line ends with a bare LF instead of CRLF.');
  }
}

/** Whether `data` (no CRLF CRLF yet) can still be the start of an HTTP/1.x status line. */
function mayStartStatusLine(data: Buffer): boolean {
  const prefix = 'HTTP/1.';
  const n = Math.min(data.length, prefix.length);
  // A lone CR may still be the stray CRLF readHead tolerates.
  if (data.length === 1 && data[0] === 0x0d) return true;
  return data.toString('latin1', 0, n) === prefix.slice(0, n);
}

interface ParsedHead {
  status: number;
  chunked: boolean;
  otherEncoding: boolean;
  /** `Connection: close` / `Connection: keep-alive` were sent. */
  close: boolean;
  keepAlive: boolean;
  response: ResponseHead;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A control character (HTAB aside) or a CR that does not end a line, in a header line: llhttp
 * (Node 20's 9.3) refuses them there (HPE_INVALID_HEADER_TOKEN, HPE_STRICT), and node's server
 * would refuse to send such a value on (ERR_INVALID_CHAR). It takes them in a reason phrase,
 * a lone CR aside, and so does this parser. Bare LFs are refused before (rejectBareLf). Global:
 * tested from the end of the status line (lastIndex), without a copy of the header lines.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HEADER_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)/g;

/** The status line and header lines of a response head (without its final CRLF CRLF). */
function parseHead(text: string): ParsedHead {
  const lines = text.split('\r\n');
  const statusLine = lines[0] as string;
  const version = statusLine.slice(0, 9);
  if ((version !== 'HTTP/1.1 ' && version !== 'HTTP/1.0 ') || !/^[1-9]\d\d$/.test(statusLine.slice(9, 12)) || (statusLine.length > 12 && statusLine[12] !== ' ')) {
    throw new ResponseParseError('HPE_INVALID_CONSTANT', `Not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 60))}.`);
  }
  if (statusLine.includes('\r')) throw new ResponseParseError('HPE_STRICT', `A lone CR in the status line ${JSON.stringify(statusLine.slice(0, 60))}.`);
  HEADER_CONTROL.lastIndex = statusLine.length;
  if (HEADER_CONTROL.test(text)) throw new ResponseParseError('HPE_INVALID_HEADER_TOKEN', `A control character in a response header line: ${JSON.stringify(text.slice(statusLine.length, statusLine.length + 120))}.`);
  const response: ResponseHead = {
    status: Number(statusLine.slice(9, 12)),
    statusText: statusLine.slice(13),
    rawHeaders: [],
    keepAlive: version === 'HTTP/1.1 ',
    keepAliveTimeoutMs: -1,
    contentLength: -1,
  };
  const parsed: ParsedHead = { status: response.status, chunked: false, otherEncoding: false, close: false, keepAlive: false, response };
  for (let i = 1; i < lines.length; i++) header(lines[i] as string, parsed);
  if ((parsed.chunked || parsed.otherEncoding) && response.contentLength !== -1) {
    throw new ResponseParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'The response has both Transfer-Encoding and Content-Length.');
  }
  // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes it unless told to keep it.
  response.keepAlive = !parsed.close && (response.keepAlive || parsed.keepAlive);
  return parsed;
}

function header(line: string, parsed: ParsedHead): void {
  const colon = line.indexOf(':');
  const name = colon > 0 ? line.slice(0, colon) : '';
  if (!TOKEN.test(name)) throw new ResponseParseError('HPE_INVALID_HEADER_TOKEN', `Invalid response header line ${JSON.stringify(line.slice(0, 60))}.`);
  const value = line.slice(colon + 1).trim();
  const { response } = parsed;
  response.rawHeaders.push(name, value);
  // Only names whose length matches one we act on are lowercased (10: connection, keep-alive;
  // 14: content-length; 17: transfer-encoding).
  const n = name.length;
  if (n !== 10 && n !== 14 && n !== 17) return;
  const lower = name.toLowerCase();
  if (lower === 'content-length') contentLength(value, response);
  else if (lower === 'transfer-encoding') transferEncoding(value, parsed);
  else if (lower === 'connection') connection(value, parsed);
  else if (lower === 'keep-alive') {
    const timeout = /(?:^|[\s,])timeout\s*=\s*(\d{1,6})/i.exec(value);
    if (timeout !== null) response.keepAliveTimeoutMs = Number(timeout[1]) * 1000;
  }
}

function contentLength(value: string, response: ResponseHead): void {
  if (!/^\d{1,15}$/.test(value)) throw new ResponseParseError('HPE_INVALID_CONTENT_LENGTH', `Invalid Content-Length ${JSON.stringify(value.slice(0, 40))}.`);
  if (response.contentLength !== -1) throw new ResponseParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Content-Length sent twice.');
  response.contentLength = Number(value);
}

function transferEncoding(value: string, parsed: ParsedHead): void {
  const codings = value.toLowerCase().split(',');
  const last = (codings[codings.length - 1] as string).trim();
  if (last === 'chunked') {
    parsed.chunked = true;
    parsed.otherEncoding = false;
  } else {
    parsed.chunked = false;
    parsed.otherEncoding = true;
  }
}

function connection(value: string, parsed: ParsedHead): void {
  for (const token of value.toLowerCase().split(',')) {
    const t = token.trim();
    if (t === 'close') parsed.close = true;
    else if (t === 'keep-alive') parsed.keepAlive = true;
  }
}
