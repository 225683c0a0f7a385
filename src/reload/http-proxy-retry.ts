/**
 * When the HTTP reload proxy sends a failed request again (issue 13). Pure: the proxy supplies the
 * facts, this says what to do with the request.
 *
 * Only a failure before any response byte can be retried, once. It must look like the instance
 * going away (reset, refused, broken pipe), not like a bad request, and no body byte may have
 * been read (the proxy cannot send it twice). Then: an idempotent method (RFC 9110 §9.2.2) may be
 * sent again — the instance may have seen it, but a second one has the effect of one. POST and
 * PATCH may not: they may have taken effect. A refused connection is the exception for any
 * method: nothing reached the instance.
 *
 * "Once" counts failures on instances that still take requests. A failure on an instance a reload
 * retired (it was stopped on purpose, with the request in flight: a server with no SIGTERM handler)
 * says nothing about the request, so it does not use up the retry: with reloads back to back, a
 * long GET may be retried onto a green that is itself retired before it answers.
 */

/** Idempotent methods: sending one twice has the effect of sending it once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Errors that mean "the instance went away before answering". */
const RETRYABLE = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED']);

export interface FailureFacts {
  /** The error's code (ECONNRESET…); 'ERROR' when it had none. */
  code: string;
  method: string;
  /** Part of the response was received (and possibly sent on). */
  responseStarted: boolean;
  /** The request was already sent once more. */
  retried: boolean;
  /** A body byte was read from the client. */
  bodyRead: boolean;
  /** The instance it failed on no longer takes requests (a reload retired it). */
  retiredInstance?: boolean;
}

export type FailureAction =
  /** Reset the client's connection: a truncated answer must not look complete. */
  | { action: 'abort' }
  /** Answer 502 with this message. */
  | { action: 'bad-gateway'; message: string }
  /** Send it again; `refused`: nothing reached the instance. */
  | { action: 'retry'; refused: boolean }
  /** Answer 504: the instance did not answer in time. Never sent again: it may still be at work on it. */
  | { action: 'gateway-timeout' };

export function onUpstreamFailure(facts: FailureFacts, instance: string): FailureAction {
  const { code, method } = facts;
  const retried = facts.retried && facts.retiredInstance !== true;
  if (facts.responseStarted) return { action: 'abort' };
  if (code === 'ETIMEDOUT') return { action: 'gateway-timeout' };
  const refused = code === 'ECONNREFUSED';
  const wentAway = RETRYABLE.has(code);
  // A refusal is retried even after an earlier retry: nothing reached this instance, and the wait
  // for the next one is bounded by proxy.queueTimeout from the request's arrival. (An instance that
  // reset a GET and died before the supervisor noticed refuses the retry; the replacement serves it.)
  if (wentAway && !facts.bodyRead && (refused || (!retried && IDEMPOTENT.has(method)))) return { action: 'retry', refused };
  let why = '';
  if (wentAway && !refused && !IDEMPOTENT.has(method)) why = `; a ${method} is not sent again because it may have taken effect`;
  else if (wentAway && retried) why = '; it had already been sent again once';
  else if (wentAway && facts.bodyRead) why = '; its body was already read, so it cannot be sent again';
  return { action: 'bad-gateway', message: `The instance ${instance} failed before answering (${code})${why}.` };
}

/**
 * A request that failed again after its one retry, in a way that says the instance is going away
 * (reset, refused, broken pipe), with nothing read and nothing answered yet, and that may be sent
 * again (idempotent, or never reached the instance): when the instance it failed on is still the
 * only one to send it to, it is dying and the supervisor has not noticed yet. Such a request waits
 * for the replacement (bounded by proxy.queueTimeout) instead of getting a 502.
 */
export function mayWaitForReplacement(facts: FailureFacts): boolean {
  if (facts.responseStarted || facts.bodyRead || !RETRYABLE.has(facts.code)) return false;
  return facts.code === 'ECONNREFUSED' || IDEMPOTENT.has(facts.method);
}
