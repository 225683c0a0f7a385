/**
 * Minimal long-lived clients for the stream tests (zero-downtime-streams.test.ts), with Node
 * built-ins only (no `ws` dependency): a WebSocket client (RFC 6455 handshake, masked text frames,
 * the closing handshake) and a Server-Sent Events reader. Each records how its connection ended:
 * cleanly (a close frame / the end of the response) or by an error.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';

export interface WsClient {
  /** Text messages received, in order. */
  messages: string[];
  /** The close frame's code, once the server sent one. */
  closeCode: number | null;
  /** The socket error that ended it, if one did. */
  error: string | null;
  /** Whether the server's FIN arrived (a clean TCP end) before the socket closed. */
  endedByServer: boolean;
  closed: Promise<void>;
  send(text: string): void;
  /** Sends a close frame (1000); the server answers and closes. */
  close(): void;
}

/** One masked frame (client to server), payload under 64 KiB. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | payload.length]) : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i += 1) body[i] = body[i]! ^ mask[i % 4]!;
  return Buffer.concat([head, mask, body]);
}

/** Splits `buffer` into complete unmasked frames (server to client); returns them and what is left. */
function parseFrames(buffer: Buffer): { frames: { opcode: number; payload: Buffer }[]; rest: Buffer } {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  while (buffer.length - at >= 2) {
    let length = buffer[at + 1]! & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (buffer.length < offset + 2) break;
      length = buffer.readUInt16BE(offset);
      offset += 2;
    }
    if (buffer.length < offset + length) break;
    frames.push({ opcode: buffer[at]! & 0x0f, payload: buffer.subarray(offset, offset + length) });
    at = offset + length;
  }
  return { frames, rest: buffer.subarray(at) };
}

/** Opens a WebSocket to ws://127.0.0.1:`port``path`; rejects unless the answer is a valid 101. */
export function openWebSocket(port: number, path: string): Promise<WsClient> {
  const key = randomBytes(16).toString('base64');
  const expected = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' } });
    req.on('response', (res) => reject(new Error(`the upgrade was declined: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.on('upgrade', (res, socket: Socket, head: Buffer) => {
      if (res.headers['sec-websocket-accept'] !== expected) {
        socket.destroy();
        reject(new Error(`bad Sec-WebSocket-Accept: ${String(res.headers['sec-websocket-accept'])}`));
        return;
      }
      resolve(wrap(socket, head));
    });
    req.end();
  });
}

function wrap(socket: Socket, head: Buffer): WsClient {
  let pending = Buffer.alloc(0);
  const client: WsClient = {
    messages: [],
    closeCode: null,
    error: null,
    endedByServer: false,
    closed: new Promise((resolve) => socket.once('close', () => resolve())),
    send: (text) => socket.write(maskedFrame(0x1, Buffer.from(text))),
    close: () => socket.write(maskedFrame(0x8, Buffer.from([1000 >> 8, 1000 & 0xff]))),
  };
  const onData = (chunk: Buffer): void => {
    const { frames, rest } = parseFrames(Buffer.concat([pending, chunk]));
    pending = Buffer.from(rest);
    for (const { opcode, payload } of frames) {
      if (opcode === 0x1) client.messages.push(payload.toString('utf8'));
      else if (opcode === 0x8) {
        const first = client.closeCode === null;
        client.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        // The closing handshake: a close the server started is answered with the same code.
        if (first && socket.writable) socket.end(maskedFrame(0x8, payload.subarray(0, 2)));
      }
    }
  };
  socket.on('data', onData);
  socket.on('error', (error: NodeJS.ErrnoException) => { client.error = error.code ?? error.message; });
  socket.on('end', () => {
    client.endedByServer = true;
    socket.end();
  });
  if (head.length > 0) onData(head);
  return client;
}

export interface SseClient {
  status: number;
  /** `data:` lines received, in order. */
  data: string[];
  /** Event names other than the default `message`, in order. */
  events: string[];
  /** The response ended (the server ended it, chunked terminator and all). */
  ended: boolean;
  /** The response was cut (reset, or ended without its terminator). */
  error: string | null;
  done: Promise<void>;
  /** Ends the stream from the client's side. */
  close(): void;
}

/** Opens an SSE stream at http://127.0.0.1:`port``path`. */
export function openSse(port: number, path: string): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | null = null;
    req = request({ host: '127.0.0.1', port, path, agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      let text = '';
      let settle: () => void = () => undefined;
      const client: SseClient = {
        status: res.statusCode ?? 0,
        data: [],
        events: [],
        ended: false,
        error: null,
        done: new Promise((r) => { settle = r; }),
        close: () => req?.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        let cut = text.indexOf('\n\n');
        while (cut >= 0) {
          for (const line of text.slice(0, cut).split('\n')) {
            if (line.startsWith('data: ')) client.data.push(line.slice(6));
            else if (line.startsWith('event: ')) client.events.push(line.slice(7));
          }
          text = text.slice(cut + 2);
          cut = text.indexOf('\n\n');
        }
      });
      res.once('end', () => {
        client.ended = true;
        settle();
      });
      res.once('aborted', () => { client.error ??= 'aborted'; });
      res.once('error', (error: NodeJS.ErrnoException) => { client.error ??= error.code ?? error.message; });
      res.once('close', () => settle());
      resolve(client);
    });
    req.on('error', reject);
    req.end();
  });
}
