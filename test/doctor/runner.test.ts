/** The runner: per-check deadlines (fake timers), crashes, order, --only and exit statuses. Unit tests. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NaijaSupError } from '../../src/errors.js';
import { doctorExitStatus, parseCheckIds, runChecks, type Check, type DoctorContext } from '../../src/doctor/index.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A context no check here looks at. */
const ctx = {
  signal: new AbortController().signal,
} as unknown as DoctorContext;

describe('runChecks', () => {
  it('a check that never settles is a fail naming the timeout, and its signal is aborted', async () => {
    vi.useFakeTimers();
    let seen: AbortSignal | undefined;
    const hanging: Check = {
      id: 'bcrypt-node',
      title: 'hangs',
      run: (c) => {
        seen = c.signal;
        return new Promise(() => undefined);
      },
    };
    const quick: Check = { id: 'init', title: 'quick', run: () => ({ status: 'ok', summary: 'fine' }) };
    const pending = runChecks([hanging, quick], ctx, { timeoutMs: 2500 });
    await vi.advanceTimersByTimeAsync(2499);
    expect(seen?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const [first, second] = await pending;
    expect(first).toMatchObject({
      id: 'bcrypt-node',
      status: 'fail',
      summary: 'the check did not finish within 2.5 s',
      fix: 'Run the check alone to see where it stops: `naija-sup doctor --only bcrypt-node`.',
    });
    expect(seen?.aborted).toBe(true);
    expect(second).toMatchObject({ id: 'init', status: 'ok', summary: 'fine', details: [], fix: null, failureId: null });
  });

  it("a check's own timeoutMs replaces the default deadline (handoff-drain starts the app)", async () => {
    vi.useFakeTimers();
    const long: Check = {
      id: 'handoff-drain',
      title: 'long',
      timeoutMs: () => 60_000,
      run: () => new Promise((resolve) => setTimeout(() => resolve({ status: 'ok', summary: 'measured' }), 30_000)),
    };
    const pending = runChecks([long], ctx, { timeoutMs: 15_000 });
    await vi.advanceTimersByTimeAsync(30_000);
    expect((await pending)[0]).toMatchObject({ status: 'ok', summary: 'measured' });
    const hanging: Check = { ...long, run: () => new Promise(() => undefined) };
    const late = runChecks([hanging], ctx, { timeoutMs: 15_000 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect((await late)[0]).toMatchObject({ status: 'fail', summary: 'the check did not finish within 1m 0s' });
  });

  it('a throwing check is a fail; a NaijaSupError keeps its message and fix', async () => {
    const crash: Check = {
      id: 'port',
      title: 'crash',
      run: () => {
        throw new TypeError('boom');
      },
    };
    const userError: Check = {
      id: 'config',
      title: 'user error',
      run: () => Promise.reject(new NaijaSupError('E_CONFIG_INVALID', 'host "nope" does not resolve', { fix: 'Set host to an IP.', details: ['a'] })),
    };
    const [a, b] = await runChecks([crash, userError], ctx, { timeoutMs: 1000 });
    expect(a).toMatchObject({ status: 'fail', summary: 'the check itself crashed: boom' });
    expect(a?.fix).toMatch(/bug in naija-sup doctor/);
    expect(b).toMatchObject({ status: 'fail', summary: 'host "nope" does not resolve', details: ['a'], fix: 'Set host to an IP.' });
  });

  it('keeps the given order whatever finishes first, and drops a fix from ok results', async () => {
    vi.useFakeTimers();
    const slow: Check = { id: 'runtime', title: 'slow', run: () => new Promise((resolve) => setTimeout(() => resolve({ status: 'warn', summary: 's', fix: 'f' }), 50)) };
    const fast: Check = { id: 'config', title: 'fast', run: () => ({ status: 'ok', summary: 'f', fix: 'ignored' }) };
    const pending = runChecks([slow, fast], ctx, { timeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(50);
    const results = await pending;
    expect(results.map((r) => [r.id, r.status, r.fix])).toEqual([
      ['runtime', 'warn', 'f'],
      ['config', 'ok', null],
    ]);
  });
});

describe('parseCheckIds and doctorExitStatus', () => {
  it('accepts known ids (spaces or commas) in CHECK_IDS order; unknown ones are a usage error', () => {
    expect(parseCheckIds(undefined)).toBeUndefined();
    expect(parseCheckIds(['port,runtime', 'init'])).toEqual(['runtime', 'port', 'init']);
    expect(() => parseCheckIds(['port', 'bcrypt'])).toThrow(expect.objectContaining({ code: 'E_USAGE', exitStatus: 2, message: 'unknown doctor check: bcrypt' }));
  });

  it('2 when the config failed, 1 with any fail, else 0', () => {
    const result = (status: 'ok' | 'warn' | 'fail' | 'skip') => ({ id: 'port' as const, title: '', status, summary: '', details: [], fix: null, failureId: null, durationMs: 0 });
    const report = (statuses: Array<'ok' | 'warn' | 'fail' | 'skip'>, configFailed = false) => ({ results: statuses.map(result), name: null, configFile: null, configFailed });
    expect(doctorExitStatus(report(['ok', 'warn', 'skip']))).toBe(0);
    expect(doctorExitStatus(report(['ok', 'fail']))).toBe(1);
    expect(doctorExitStatus(report(['fail'], true))).toBe(2);
  });
});
