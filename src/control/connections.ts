/**
 * The control server's connections (issue 15): how many, how long, and in what order they are
 * served, so that no client — a runaway script of the same user, since only that user can connect —
 * can lock the others out.
 *
 * - Fair: requests are queued per connection and served round-robin, at most {@link PER_TURN} per
 *   connection per event-loop turn. Before, every line of a chunk was answered at once, so one
 *   client pipelining 20,000 `status` requests held every other client for all of them (3.5 s
 *   on the reference machine, 18 s on a loaded one); now another client waits about a turn.
 * - Bounded: a connection is not read while {@link MAX_QUEUED_REQUESTS} of its requests wait, nor
 *   served while {@link WRITE_HIGH_WATER} bytes of its replies are unread (the kernel's buffers
 *   then push back on the client, not our memory).
 * - Not held idle: a connection that has sent nothing for the idle timeout and waits for nothing
 *   (no event stream, no reload under way, nothing queued) is closed; when every slot is taken, a
 *   new connection pushes out the oldest idle one (only when none is idle is the newcomer refused).
 */
import type { Socket } from 'node:net';
import { LineBuffer, MAX_REQUEST_BYTES } from './protocol.js';

/** Requests of one connection waiting to be served before it is no longer read. */
export const MAX_QUEUED_REQUESTS = 64;
/** Requests of one connection served per event-loop turn before the next connection's turn. */
export const PER_TURN = 8;
/** A connection with this many reply bytes unread is not served until they drain. */
export const WRITE_HIGH_WATER = 64 * 1024;
/** Default idle timeout: far above any client's gap between connecting and asking. */
export const IDLE_TIMEOUT_MS = 10_000;

export interface Connection {
  readonly socket: Socket;
  readonly buffer: LineBuffer;
  /** The event stream's unsubscribe; a subscribed connection is never idle. */
  unsubscribe: (() => void) | null;
  /** Requests answered later (reload, rollback) still under way. */
  pending: number;
  done: boolean;
  /** Lines read and not yet served, from `head` on. */
  queue: string[];
  head: number;
}

export interface PoolOptions {
  maxConnections: number;
  idleTimeoutMs: number;
  /** Serves one request line. */
  onLine(conn: Connection, line: string): void;
  /** The client sent a line longer than {@link MAX_REQUEST_BYTES}. */
  onOverflow(conn: Connection): void;
}

export class ConnectionPool {
  readonly connections = new Set<Connection>();
  /** Connections with queued requests that may be served now, in round-robin order. */
  private readonly ready = new Set<Connection>();
  private scheduled = false;
  private readonly options: PoolOptions;

  constructor(options: PoolOptions) {
    this.options = options;
  }

  /** Takes a new socket, pushing out the oldest idle connection when full; null when refused. */
  add(socket: Socket): Connection | null {
    socket.on('error', () => undefined);
    if (this.connections.size >= this.options.maxConnections && !this.evictIdle()) {
      socket.destroy();
      return null;
    }
    const conn: Connection = { socket, buffer: new LineBuffer(MAX_REQUEST_BYTES), unsubscribe: null, pending: 0, done: false, queue: [], head: 0 };
    this.connections.add(conn);
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.on('timeout', () => {
      if (isIdle(conn)) socket.destroy();
      else socket.setTimeout(this.options.idleTimeoutMs);
    });
    socket.on('close', () => {
      conn.unsubscribe?.();
      conn.unsubscribe = null;
      conn.done = true;
      this.connections.delete(conn);
      this.ready.delete(conn);
    });
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    return conn;
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.done) return;
    const { lines, overflow } = conn.buffer.push(chunk);
    for (const line of lines) if (line.trim() !== '') conn.queue.push(line);
    if (overflow) {
      this.options.onOverflow(conn);
      return;
    }
    if (conn.queue.length - conn.head >= MAX_QUEUED_REQUESTS) conn.socket.pause();
    if (conn.queue.length > conn.head) {
      this.ready.add(conn);
      this.schedule();
    }
  }

  private evictIdle(): boolean {
    for (const conn of this.connections) {
      if (isIdle(conn)) {
        conn.done = true;
        conn.socket.destroy();
        this.connections.delete(conn);
        return true;
      }
    }
    return false;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  /** One round: up to PER_TURN requests of each ready connection, then back to the event loop. */
  private turn(): void {
    this.scheduled = false;
    for (const conn of [...this.ready]) {
      if (conn.done) {
        this.ready.delete(conn);
        continue;
      }
      if (conn.socket.writableLength > WRITE_HIGH_WATER) {
        // It does not read its replies: wait for them to drain rather than buffer more.
        this.ready.delete(conn);
        conn.socket.once('drain', () => {
          if (!conn.done && conn.queue.length > conn.head) {
            this.ready.add(conn);
            this.schedule();
          }
        });
        continue;
      }
      for (let served = 0; served < PER_TURN && conn.head < conn.queue.length && !conn.done; served += 1) {
        const line = conn.queue[conn.head] as string;
        conn.head += 1;
        this.options.onLine(conn, line);
      }
      if (conn.head >= conn.queue.length) {
        conn.queue = [];
        conn.head = 0;
        this.ready.delete(conn);
      } else if (conn.head > 1024) {
        conn.queue = conn.queue.slice(conn.head);
        conn.head = 0;
      }
      if (!conn.done && conn.queue.length - conn.head < MAX_QUEUED_REQUESTS && conn.socket.isPaused()) conn.socket.resume();
    }
    if (this.ready.size > 0) this.schedule();
  }
}

/** Waiting for nothing: no stream, no reload under way, nothing queued, no reply unsent. */
function isIdle(conn: Connection): boolean {
  return conn.unsubscribe === null && conn.pending === 0 && conn.head >= conn.queue.length && conn.socket.writableLength === 0;
}
