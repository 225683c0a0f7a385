/**
 * What the control server answers to each request line (server.ts owns the socket, the start lock
 * and the connections; this module owns the meaning of a request). A line that does not parse gets
 * its error reply on the same connection; a target that throws becomes `E_INTERNAL`, never a crash
 * of the supervisor. `reload`, `rollback` and `scale` answer later: `conn.pending` counts them, so
 * the connection is not closed as idle while its answer is on the way.
 */
import type { SupervisorEvent } from '../supervisor/events.js';
import type { Connection } from './connections.js';
import {
  MAX_STREAMED_LINE_CHARS,
  errorReply,
  parseRequest,
  type ControlMessage,
  type ControlRequest,
  type StreamedEvent,
} from './protocol.js';
import type { ControlTarget } from './target.js';

/** Writes one message to a connection (server.ts: drops a subscriber that stopped reading). */
export type Send = (conn: Connection, message: ControlMessage) => void;

/** The connection pool's `onLine`: parses one request line and answers it on `conn`. */
export function createLineHandler(target: ControlTarget, send: Send): (conn: Connection, line: string) => void {
  return (conn, line) => {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      send(conn, parsed.reply);
      return;
    }
    try {
      handleRequest(conn, parsed.request, target, send);
    } catch (error) {
      send(conn, errorReply(parsed.request.id, 'E_INTERNAL', `the supervisor could not answer: ${(error as Error)?.message ?? String(error)}`));
    }
  };
}

function handleRequest(conn: Connection, request: ControlRequest, target: ControlTarget, send: Send): void {
  const { id } = request;
  switch (request.type) {
    case 'status':
      send(conn, { v: 1, id, ok: true, status: target.status() });
      return;
    case 'stop': {
      // The signal first, the status (a /proc pass over every process) after: the drain starts
      // that much sooner (issue 19). A stop client takes the processes to wait for from its
      // `events` subscription, answered before this request; this status shows the stop begun.
      target.stop({
        ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
        ...(request.force === undefined ? {} : { force: request.force }),
      });
      send(conn, { v: 1, id, ok: true, status: target.status() });
      return;
    }
    case 'restart': {
      const status = target.status();
      target.restart();
      send(conn, { v: 1, id, ok: true, status });
      return;
    }
    case 'reload':
    case 'rollback':
      return answerReload(conn, request, target, send);
    case 'scale':
      return answerScale(conn, request, target, send);
    case 'events':
      return streamEvents(conn, request, target, send);
    default: {
      const never: never = request;
      send(conn, errorReply(null, 'E_UNKNOWN_TYPE', `unknown request ${JSON.stringify(never)}`));
    }
  }
}

/** `reload` / `rollback`: answered when the new instance took over, or with why it did not. */
function answerReload(conn: Connection, request: Extract<ControlRequest, { type: 'reload' | 'rollback' }>, target: ControlTarget, send: Send): void {
  const { id } = request;
  conn.pending += 1;
  (request.type === 'reload' ? target.reload(request.parallel === undefined ? {} : { parallel: request.parallel }) : target.rollback()).finally(() => { conn.pending -= 1; }).then(
    (outcome) => send(conn, outcome.ok
      ? { v: 1, id, ok: true }
      : outcome.kind === 'failed'
        ? errorReply(id, 'E_RELOAD_FAILED', `the ${request.type} did not take effect; the running instance keeps serving`, outcome.errors)
        : errorReply(id, 'E_RELOAD_REJECTED', 'the new config is invalid; the instance keeps running with the old one', outcome.errors)),
    (error: unknown) => send(conn, errorReply(id, 'E_INTERNAL', `${request.type} failed: ${String((error as Error)?.message ?? error)}`)),
  );
}

/** `scale`: answered with the status once the number of instances changed. */
function answerScale(conn: Connection, request: Extract<ControlRequest, { type: 'scale' }>, target: ControlTarget, send: Send): void {
  const { id } = request;
  if (!target.scale) {
    send(conn, errorReply(id, 'E_BAD_REQUEST', 'this supervisor cannot change its number of instances'));
    return;
  }
  conn.pending += 1;
  target.scale(request.instances).finally(() => { conn.pending -= 1; }).then(
    (outcome) => send(conn, outcome.ok ? { v: 1, id, ok: true, status: target.status() } : errorReply(id, 'E_BAD_REQUEST', `scale to ${request.instances} did not take effect`, outcome.errors)),
    (error: unknown) => send(conn, errorReply(id, 'E_INTERNAL', `scale failed: ${String((error as Error)?.message ?? error)}`)),
  );
}

/** `events`: one stream per connection, until it closes. */
function streamEvents(conn: Connection, request: Extract<ControlRequest, { type: 'events' }>, target: ControlTarget, send: Send): void {
  const { id } = request;
  if (conn.unsubscribe !== null) {
    send(conn, errorReply(id, 'E_BAD_REQUEST', 'this connection already streams events'));
    return;
  }
  // Ack (with the current status) first, then every event from now on: nothing can happen
  // in between, both are synchronous.
  send(conn, { v: 1, id, ok: true, stream: true, status: target.status() });
  conn.unsubscribe = target.subscribe((event) => send(conn, { v: 1, id, event: streamable(event) }));
}

/** An event as streamed: long output lines cut, and never an `env` field (should one ever appear). */
function streamable(event: SupervisorEvent): StreamedEvent {
  const copy: Record<string, unknown> = { ...event };
  delete copy['env'];
  if (event.type === 'output' && event.line.length > MAX_STREAMED_LINE_CHARS) {
    copy['line'] = `${event.line.slice(0, MAX_STREAMED_LINE_CHARS)} …[truncated]`;
  }
  return copy as StreamedEvent;
}
