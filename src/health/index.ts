/**
 * Health probes: ready means a probe passed (README.md "Your server: PORT and health"). HTTP GET (200–399), TCP
 * connect, or a log line; addresses chosen from the bind host, never "localhost".
 */

export { HTTP_PROBE_BODY_CAP, HTTP_PROBE_BODY_HEAD, httpStatusMeaning, judgeAnyAnswer, probeHttp } from './http.js';
export type { HttpProbeOptions } from './http.js';
export { createLogMatcher, stripAnsi } from './log-line.js';
export type { LogMatcher } from './log-line.js';
export { probeHostFor, probeOnce } from './probe-host.js';
export type { HostProbeResult, ProbeOnceResult, ProbeTarget } from './probe-host.js';
export { formatHostPort, probeTcp } from './tcp.js';
export type { ProbeErrorCode, ProbeResult, TcpProbeOptions } from './tcp.js';
