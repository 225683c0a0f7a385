/**
 * health.type "auto": a timeout from an instance that answered HTTP before is a failed probe, not
 * "a TCP server that is up" (src/supervisor/http-speakers.ts).
 */
import { describe, expect, it } from 'vitest';
import { HttpSpeakers } from '../../src/supervisor/http-speakers.js';

const tcpUp = { ok: true, latencyMs: 2000, detail: 'accepts TCP connections but does not answer HTTP' };
const http503 = { ok: false, latencyMs: 3, detail: 'GET / → HTTP 503', status: 503 };
const http200 = { ok: true, latencyMs: 2, detail: 'answers HTTP 200 on /', status: 200 };

describe('HttpSpeakers', () => {
  it('an instance that never answered HTTP: silence is a TCP server that is up', () => {
    const speakers = new HttpSpeakers();
    expect(speakers.judge(41, tcpUp, 2000)).toEqual(tcpUp);
  });

  it('after an HTTP answer (even a 503), silence from the same instance is not ready, with why', () => {
    const speakers = new HttpSpeakers();
    expect(speakers.judge(42, http503, 2000)).toEqual(http503);
    const judged = speakers.judge(42, tcpUp, 2000);
    expect(judged).toEqual({ ok: false, latencyMs: 2000, detail: 'no HTTP answer within 2000 ms, though this instance answered HTTP before: an HTTP server that goes silent is not ready' });
    // Another instance is judged on its own history; HTTP answers pass through unchanged.
    expect(speakers.judge(43, tcpUp, 2000)).toEqual(tcpUp);
    expect(speakers.judge(42, http200, 2000)).toEqual(http200);
  });

  it('failures pass through, and a forgotten pid (the instance exited) starts clean', () => {
    const speakers = new HttpSpeakers();
    speakers.judge(44, http200, 2000);
    const refused = { ok: false, latencyMs: 1, detail: 'connection refused' };
    expect(speakers.judge(44, refused, 2000)).toEqual(refused);
    speakers.forget(44);
    expect(speakers.judge(44, tcpUp, 2000)).toEqual(tcpUp);
  });
});
