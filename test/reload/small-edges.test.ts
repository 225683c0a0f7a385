/**
 * Small pure pieces on the reload and exit paths: the swap machine's late and impossible reports,
 * keepAddress's warning wording, describeExitShort without a code or signal, and a dependency wait
 * aborted before its first attempt.
 */
import { describe, expect, it } from 'vitest';
import type { DependencyConfig } from '../../src/config/types.js';
import { waitForDependencies } from '../../src/dependencies/wait.js';
import { InternalError } from '../../src/errors.js';
import { describeExitShort } from '../../src/exit-text.js';
import { keepAddress, type Mode } from '../../src/reload/mode.js';
import { swapTransition, type SwapState } from '../../src/reload/swap.js';
import { runnerConfig } from '../helpers/runner-config.js';

describe('swap: reports that come late or cannot happen', () => {
  const rollingBack: SwapState = { tag: 'rolling-back', cause: 'green crashed' };
  const draining: SwapState = { tag: 'draining-blue', since: 0, blueGone: false };

  it('ignores blue ending while green is being rolled back, and green ending while blue drains', () => {
    expect(swapTransition(rollingBack, { type: 'blue-gone' }, 1)).toEqual({ state: rollingBack, effects: [] });
    expect(swapTransition(draining, { type: 'green-gone' }, 1)).toEqual({ state: draining, effects: [] });
  });

  it('finishes a rollback when green fails (not only when it is gone)', () => {
    expect(swapTransition(rollingBack, { type: 'green-failed', cause: 'again' }, 1)).toEqual({
      state: { tag: 'rolled-back', cause: 'green crashed' },
      effects: [{ type: 'finish', outcome: 'rolled-back', cause: 'green crashed' }],
    });
  });

  it('refuses a second begin or a green-ready once green was let go, as an internal error', () => {
    for (const state of [rollingBack, draining]) {
      expect(() => swapTransition(state, { type: 'begin' }, 1)).toThrow(InternalError);
      expect(() => swapTransition(state, { type: 'green-ready' }, 1)).toThrow(InternalError);
    }
  });
});

describe('keepAddress', () => {
  const current = runnerConfig({ host: '::1', port: 8000 });
  const mode = (address: string | null): Mode => ({ name: 'handoff', address }) as Mode;

  it('keeps the address and names it from the config when the mode has none to show (IPv6 in brackets)', () => {
    const next = runnerConfig({ host: '::1', port: 9000 });
    const kept = keepAddress(mode(null), current, next);
    expect(kept.config).toMatchObject({ host: '::1', port: 8000 });
    expect(kept.warning?.message).toBe('handoff mode: the listener stays on [::1]:8000; the reloaded configuration asks for ::1:9000');
  });

  it('names the address the mode holds when it has one', () => {
    const kept = keepAddress(mode('127.0.0.1:8000'), current, runnerConfig({ host: '127.0.0.1', port: 8000 }));
    expect(kept.warning?.message).toBe('handoff mode: the listener stays on 127.0.0.1:8000; the reloaded configuration asks for 127.0.0.1:8000');
  });
});

describe('describeExitShort', () => {
  it('adds the exit code to a summary that does not say it, and nothing when there is neither a code nor a signal', () => {
    expect(describeExitShort({ code: null, signal: null, cause: 'port-conflict', summary: 'port 8000 is in use' })).toBe('port 8000 is in use');
    expect(describeExitShort({ code: 3, signal: null, cause: 'port-conflict', summary: 'port 8000 is in use' })).toBe('port 8000 is in use (exit code 3)');
    // A summary of an exit-code cause already says it.
    expect(describeExitShort({ code: 3, signal: null, cause: 'exit-code', summary: 'exited with code 3' })).toBe('exited with code 3');
  });
});

describe('dependencies', () => {
  it('a wait aborted before its first attempt says only that', async () => {
    const abort = new AbortController();
    abort.abort();
    const dep: DependencyConfig = { name: 'db', tcp: '127.0.0.1:1', http: null } as DependencyConfig;
    const [result] = await waitForDependencies([dep], { timeout: 1000, retries: 3, signal: abort.signal, check: () => Promise.reject(new Error('no attempt expected')) });
    expect(result).toMatchObject({ ok: false, attempts: 0, detail: 'aborted' });
  });
});
