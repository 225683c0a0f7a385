import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import type { ProcNetTcpRow } from '../../src/ports/proc-net.js';
import {
  findAcceptedInode,
  INCONCLUSIVE_ATTEMPTS,
  probeHttpAnsweredBy,
  probeInstanceOnSharedSocket,
  type AnsweredByOptions,
  type AnsweredByResult,
} from '../../src/reload/answered-by.js';
import { createHandoffListener, type HandoffListener } from '../../src/reload/handoff.js';
import { pickPrivatePort } from '../../src/reload/private-port.js';
import { assertAllGone, killAllTracked, startFixture, waitFor } from '../helpers/processes.js';
import { startFdServer } from './helpers.js';

const listeners: HandoffListener[] = [];

function sharedSocket(): HandoffListener {
  const created = createHandoffListener({ host: '127.0.0.1', port: 0 });
  listeners.push(created);
  return created;
}

afterEach(() => {
  killAllTracked();
  for (const created of listeners.splice(0)) created.close();
});

function row(overrides: Partial<ProcNetTcpRow>): ProcNetTcpRow {
  return {
    family: 4,
    localAddress: '127.0.0.1',
    localPort: 8000,
    remoteAddress: '127.0.0.1',
    remotePort: 50_000,
    state: 'ESTABLISHED',
    stateCode: 1,
    uid: 0,
    inode: 123,
    ...overrides,
  };
}

describe('probeInstanceOnSharedSocket', () => {
  const options: AnsweredByOptions = { host: '127.0.0.1', port: 8000, path: '/health', timeout: 500, pids: [100] };
  const mine: AnsweredByResult = { ok: true, status: 200, answeredBy: 100, acceptedBy: 100, latencyMs: 2, detail: '200 from pid 100' };
  const mine503: AnsweredByResult = { ok: false, status: 503, answeredBy: 100, acceptedBy: 101, latencyMs: 2, detail: '503 from pid 101' };
  const other: AnsweredByResult = { ok: true, status: 200, answeredBy: null, acceptedBy: null, acceptedElsewhere: true, latencyMs: 1, detail: '200 from pid 7' };
  const heldByOther: AnsweredByResult = { ok: false, answeredBy: null, acceptedBy: null, acceptedElsewhere: true, error: 'ETIMEDOUT', latencyMs: 500, detail: 'no answer' };
  const refused: AnsweredByResult = { ok: false, answeredBy: null, acceptedBy: null, error: 'ECONNREFUSED', latencyMs: 0, detail: 'connection refused' };

  function scripted(results: AnsweredByResult[]): { probe: (o: AnsweredByOptions) => Promise<AnsweredByResult>; calls: () => number } {
    let calls = 0;
    return {
      probe: () => {
        const result = results[Math.min(calls, results.length - 1)] as AnsweredByResult;
        calls += 1;
        return Promise.resolve(result);
      },
      calls: () => calls,
    };
  }

  it("takes this instance's own answer as it is, in one probe", async () => {
    for (const kind of ['startup', 'liveness', 'readiness'] as const) {
      const ok = scripted([mine]);
      expect(await probeInstanceOnSharedSocket(kind, options, ok.probe)).toMatchObject({ ok: true, verdict: 'mine', detail: '200 from pid 100' });
      expect(ok.calls()).toBe(1);
      const failing = scripted([mine503]);
      expect(await probeInstanceOnSharedSocket(kind, options, failing.probe)).toMatchObject({ ok: false, verdict: 'mine' });
    }
  });

  it('with anyAnswer (no health.path: the default rule), any answer below 500 from this instance, or its accept alone, counts', async () => {
    const lenient = { ...options, path: '/', anyAnswer: true };
    const mine404: AnsweredByResult = { ok: false, status: 404, answeredBy: 100, acceptedBy: 100, latencyMs: 2, detail: '404 for / from pid 100' };
    const acceptedSilent: AnsweredByResult = { ok: false, answeredBy: 100, acceptedBy: 100, error: 'ETIMEDOUT', latencyMs: 500, detail: 'no answer' };
    expect(await probeInstanceOnSharedSocket('startup', lenient, scripted([mine404]).probe)).toMatchObject({ ok: true, verdict: 'mine', detail: 'answers HTTP 404 on /' });
    expect(await probeInstanceOnSharedSocket('startup', lenient, scripted([acceptedSilent]).probe)).toMatchObject({
      ok: true, verdict: 'mine', detail: 'accepts TCP connections but does not answer HTTP',
    });
    expect(await probeInstanceOnSharedSocket('startup', lenient, scripted([mine503]).probe)).toMatchObject({ ok: false, verdict: 'mine' });
    // Another instance's answer still says nothing about this one.
    expect(await probeInstanceOnSharedSocket('startup', lenient, scripted([other]).probe)).toMatchObject({ ok: false, verdict: 'inconclusive' });
    expect(await probeInstanceOnSharedSocket('startup', lenient, scripted([refused]).probe)).toMatchObject({ ok: false, verdict: 'none' });
  });

  it('asks again while another instance takes the connection, and counts the first answer of its own', async () => {
    const script = scripted([other, heldByOther, other, mine503]);
    expect(await probeInstanceOnSharedSocket('liveness', options, script.probe)).toMatchObject({ ok: false, verdict: 'mine', detail: '503 from pid 101' });
    expect(script.calls()).toBe(4);
  });

  it('still inconclusive after the bounded attempts: liveness and readiness pass, startup fails', async () => {
    for (const kind of ['liveness', 'readiness'] as const) {
      const script = scripted([other]);
      const outcome = await probeInstanceOnSharedSocket(kind, options, script.probe);
      expect(outcome).toMatchObject({ ok: true, verdict: 'inconclusive' });
      expect(outcome.detail).toMatch(/another instance answered; not counted against this one/);
      expect(script.calls()).toBe(INCONCLUSIVE_ATTEMPTS);
    }
    const startup = scripted([other]);
    const outcome = await probeInstanceOnSharedSocket('startup', options, startup.probe);
    expect(outcome).toMatchObject({ ok: false, verdict: 'inconclusive', detail: '200 from pid 7 (another instance answered)' });
    expect(startup.calls()).toBe(INCONCLUSIVE_ATTEMPTS);
  });

  it('fails at once when nobody answers (refused), for every kind', async () => {
    for (const kind of ['startup', 'liveness', 'readiness'] as const) {
      const script = scripted([refused]);
      expect(await probeInstanceOnSharedSocket(kind, options, script.probe)).toMatchObject({ ok: false, verdict: 'none', detail: 'connection refused' });
      expect(script.calls()).toBe(1);
    }
  });

  it('without /proc (owner lookup unavailable) the HTTP answer counts as it is, in one probe', async () => {
    const blind = (ok: boolean): AnsweredByResult => ({
      ok, status: ok ? 200 : 503, answeredBy: null, acceptedBy: null, lookupUnavailable: true, latencyMs: 1, detail: `${ok ? 200 : 503} from an unknown process`,
    });
    for (const kind of ['startup', 'liveness', 'readiness'] as const) {
      const good = scripted([blind(true)]);
      expect(await probeInstanceOnSharedSocket(kind, options, good.probe)).toMatchObject({ ok: true, verdict: 'unknown' });
      expect(good.calls()).toBe(1);
      const bad = scripted([blind(false)]);
      const outcome = await probeInstanceOnSharedSocket(kind, options, bad.probe);
      expect(outcome).toMatchObject({ ok: false, verdict: 'unknown' });
      expect(outcome.detail).toMatch(/which instance answered cannot be told here/);
    }
  });

  it('stops asking again once aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const probe = (): Promise<AnsweredByResult> => {
      calls += 1;
      if (calls === 2) controller.abort();
      return Promise.resolve(other);
    };
    const outcome = await probeInstanceOnSharedSocket('readiness', { ...options, signal: controller.signal }, probe);
    expect(calls).toBe(2);
    expect(outcome.verdict).toBe('inconclusive');
  });
});

describe('findAcceptedInode', () => {
  it('finds the server side of our connection: inode once accepted, 0 while in the backlog', () => {
    const client = row({ localPort: 50_000, remotePort: 8000, inode: 999 }); // our own end: never matched
    expect(findAcceptedInode([client, row({})], 8000, 50_000)).toBe(123);
    expect(findAcceptedInode([client, row({ inode: 0 })], 8000, 50_000)).toBe(0);
    expect(findAcceptedInode([client], 8000, 50_000)).toBeUndefined();
  });

  it('ignores other states and other clients, and matches an IPv4-mapped peer', () => {
    expect(findAcceptedInode([row({ state: 'TIME_WAIT', stateCode: 6 })], 8000, 50_000)).toBeUndefined();
    expect(findAcceptedInode([row({ state: 'LISTEN', stateCode: 10, remotePort: 0 })], 8000, 0)).toBeUndefined();
    expect(findAcceptedInode([row({ state: 'CLOSE_WAIT', stateCode: 8 })], 8000, 50_000)).toBe(123);
    expect(findAcceptedInode([row({ remoteAddress: '10.0.0.9' })], 8000, 50_000, '127.0.0.1')).toBeUndefined();
    expect(findAcceptedInode([row({ family: 6, remoteAddress: '::ffff:127.0.0.1' })], 8000, 50_000, '127.0.0.1')).toBe(123);
  });
});

describe('probeHttpAnsweredBy', () => {
  it('tells which of two instances sharing one socket answered (Node fixture)', async () => {
    const shared = sharedSocket();
    const blue = await startFdServer('node', { fd: shared.fd });
    const probe = (pids: number[]) => probeHttpAnsweredBy({ host: '127.0.0.1', port: shared.port, path: '/health', timeout: 5000, pids });

    // Alone, blue answers every time.
    for (let i = 0; i < 5; i += 1) {
      const result = await probe([blue.pid]);
      expect(result).toMatchObject({ ok: true, status: 200, answeredBy: blue.pid, acceptedBy: blue.pid });
      expect(result.detail).toContain(`from pid ${blue.pid}`);
    }

    // Both accept: each answer is one of them, and green answers sooner or later.
    const green = await startFdServer('node', { fd: shared.fd });
    const seen = new Set<number | null>();
    await waitFor(
      async () => {
        const result = await probe([blue.pid, green.pid]);
        seen.add(result.answeredBy);
        return result.answeredBy === green.pid;
      },
      { timeout: 10_000, interval: 5, message: () => `green never answered; seen ${[...seen].join(', ')}` },
    );
    expect([...seen].every((pid) => pid === blue.pid || pid === green.pid)).toBe(true);

    // Blue gone: only green answers.
    await blue.stop();
    for (let i = 0; i < 5; i += 1) expect((await probe([blue.pid, green.pid])).answeredBy).toBe(green.pid);

    // The socket is held by none of the pids given: status, but no answer to "who".
    const unknown = await probe([blue.pid]);
    expect(unknown).toMatchObject({ ok: true, status: 200, answeredBy: null, acceptedBy: null });
    expect(unknown.detail).toContain('held by none of pids');

    await green.stop();
    await assertAllGone([blue.pid, green.pid]);
  });

  it('finds the Python instance too, although it closes each connection right after answering', async () => {
    const shared = sharedSocket();
    const blue = await startFdServer('python', { fd: shared.fd });
    const green = await startFdServer('python', { fd: shared.fd });
    const seen = new Set<number | null>();
    await waitFor(
      async () => {
        const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port: shared.port, path: '/health', timeout: 5000, pids: [blue.pid, green.pid] });
        expect(result.status).toBe(200);
        seen.add(result.answeredBy);
        return seen.has(blue.pid) && seen.has(green.pid);
      },
      { timeout: 10_000, interval: 5, message: () => `not both seen: ${[...seen].join(', ')}` },
    );
    expect(seen.has(null)).toBe(false);
    await blue.stop();
    await green.stop();
    await assertAllGone([blue.pid, green.pid]);
  });

  it('names the instance when a worker in its process group accepted (pre-fork servers)', async () => {
    const server = await startFixture('forks-worker.mjs');
    if (server.port === null || server.workerPid === null) throw new Error(`forks-worker.mjs printed no port or worker: ${server.ready[0]}`);
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port: server.port, path: '/health', timeout: 5000, pids: [server.pid] });
    expect(result).toMatchObject({ status: 200, answeredBy: server.pid, acceptedBy: server.workerPid });
    expect(result.detail).toContain(`in the group of pid ${server.pid}`);
    await server.stop();
    await assertAllGone([server.pid, server.workerPid]);
  });

  it('reports a connection waiting in the backlog (no instance accepts) as a timeout that says so', async () => {
    const shared = sharedSocket();
    const only = await startFdServer('node', { fd: shared.fd });
    await only.stop(); // the socket stays listening (we hold it); nobody accepts now
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port: shared.port, path: '/health', timeout: 300, pids: [only.pid] });
    expect(result).toMatchObject({ ok: false, error: 'ETIMEDOUT', answeredBy: null });
    expect(result.detail).toContain('waits in the backlog');
    await assertAllGone([only.pid]);
  });

  it('without a readable /proc it still returns the answer, marked lookupUnavailable (never acceptedElsewhere)', async () => {
    const shared = sharedSocket();
    const only = await startFdServer('node', { fd: shared.fd });
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port: shared.port, path: '/health', timeout: 5000, pids: [only.pid], proc: createProc('/nonexistent-proc-root') });
    expect(result).toMatchObject({ ok: true, status: 200, answeredBy: null, lookupUnavailable: true });
    expect(result.acceptedElsewhere).toBeUndefined();
    expect(await probeInstanceOnSharedSocket('startup', { host: '127.0.0.1', port: shared.port, path: '/health', timeout: 5000, pids: [only.pid], proc: createProc('/nonexistent-proc-root') })).toMatchObject({
      ok: true,
      verdict: 'unknown',
    });
    await only.stop();
    await assertAllGone([only.pid]);
  });

  it('reports a refused connection and invalid input without throwing', async () => {
    const port = await pickPrivatePort();
    expect(await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/health', timeout: 1000, pids: [] })).toMatchObject({
      ok: false,
      error: 'ECONNREFUSED',
      answeredBy: null,
    });
    expect(await probeHttpAnsweredBy({ host: '127.0.0.1', port: 0, path: '/', timeout: 1000, pids: [] })).toMatchObject({ error: 'EINVAL' });
    const controller = new AbortController();
    controller.abort();
    expect(await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 1000, pids: [], signal: controller.signal })).toMatchObject({
      error: 'ABORTED',
    });
  });
});
