/**
 * StandbyKeeper's decisions (src/supervisor/standby-keeper.ts) with a fake spare: which restarts
 * a parked spare stands in for, why one is discarded, a spare that never reaches its gate, and
 * warm standby turning itself off after repeated losses. Fake timers for the gate's deadline.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChildHandle } from '../../src/process/spawn.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { StandbyKeeper } from '../../src/supervisor/standby-keeper.js';
import { runnerConfig } from '../helpers/runner-config.js';

/** The spares the keeper started, newest last. */
const spares: FakeStandby[] = [];
let nextPid = 5000;

class FakeStandby extends EventEmitter<{ armed: []; gone: [exit: null, why: string] }> {
  state: 'booting' | 'armed' | 'released' | 'gone' = 'booting';
  readonly pid = (nextPid += 1);
  discarded = 0;
  constructor(readonly options: { fingerprint: string; command: readonly string[] }) {
    super();
    spares.push(this);
  }
  get fingerprint(): string {
    return this.options.fingerprint;
  }
  arm(): void {
    this.state = 'armed';
    this.emit('armed');
  }
  die(why: string): void {
    this.state = 'gone';
    this.emit('gone', null, why);
  }
  release(): ChildHandle {
    this.state = 'released';
    return { pid: this.pid } as unknown as ChildHandle;
  }
  discard(): Promise<void> {
    this.discarded += 1;
    this.state = 'gone';
    return Promise.resolve();
  }
}

vi.mock('../../src/process/standby.js', () => ({
  Standby: FakeStandby,
  isNodeCommand: (command: readonly string[]) => command[0] === 'node',
}));

afterEach(() => {
  spares.splice(0);
  vi.useRealTimers();
});

const config = runnerConfig({ restart: { ...runnerConfig().restart, policy: 'always', standby: true } });

function keeper(fingerprint = 'fp-1'): { keeper: StandbyKeeper; events: SupervisorEvent[]; spec: { fingerprint: string } } {
  const events: SupervisorEvent[] = [];
  const spec = { fingerprint };
  const k = new StandbyKeeper({ spec: () => ({ env: {}, fingerprint: spec.fingerprint }), extraFds: [], onEvent: (e) => events.push(e) });
  return { keeper: k, events, spec };
}

/** Feeds a supervisor event through the keeper as the runner does. */
function see(k: StandbyKeeper, event: SupervisorEvent): void {
  k.observe(event, () => undefined);
}

const READY: SupervisorEvent = { type: 'ready', instance: 0, pid: 1, readyInMs: 5, url: 'http://127.0.0.1:8000' };
type Reason = Extract<SupervisorEvent, { type: 'restarting' }>['reason'];
const restarting = (reason: Reason): SupervisorEvent => ({ type: 'restarting', reason });

/** A keeper with one armed spare parked, after the instance became ready. */
async function parked(fingerprint = 'fp-1'): Promise<ReturnType<typeof keeper> & { spare: FakeStandby }> {
  const made = keeper(fingerprint);
  made.keeper.take(config, fingerprint);
  see(made.keeper, READY);
  await vi.waitFor(() => expect(spares).toHaveLength(1));
  const spare = spares[0] as FakeStandby;
  spare.arm();
  return { ...made, spare };
}

const standbyEvents = (events: SupervisorEvent[]): unknown[] => events.filter((e) => e.type === 'standby' || e.type === 'warning');

describe('StandbyKeeper', () => {
  it('hands the armed spare to the spawn that replaces a crashed instance', async () => {
    const { keeper: k, events, spare } = await parked();
    see(k, restarting('crash'));
    expect(k.take(config, 'fp-1')).toEqual({ pid: spare.pid });
    expect(standbyEvents(events)).toEqual([
      { type: 'standby', state: 'armed', pid: spare.pid },
      { type: 'standby', state: 'promoted', pid: spare.pid },
    ]);
  });

  it.each([
    ['a reload', () => restarting('reload'), 'fp-1', 'a reload or restart starts a fresh process'],
    ['a crash after the configuration changed', () => restarting('crash'), 'fp-2', 'the configuration changed'],
  ])('discards the spare on %s, saying why', async (_name, event, fingerprint, detail) => {
    const { keeper: k, events, spare } = await parked();
    see(k, event());
    expect(k.take(config, fingerprint)).toBeNull();
    expect(spare.discarded).toBe(1);
    expect(standbyEvents(events).at(-1)).toEqual({ type: 'standby', state: 'discarded', pid: spare.pid, detail });
  });

  it('does not use a spare that has not reached its gate yet', async () => {
    const made = keeper();
    made.keeper.take(config, 'fp-1');
    see(made.keeper, READY);
    await vi.waitFor(() => expect(spares).toHaveLength(1));
    see(made.keeper, restarting('liveness-failed'));
    expect(made.keeper.take(config, 'fp-1')).toBeNull();
    expect(standbyEvents(made.events)).toEqual([{ type: 'standby', state: 'discarded', pid: spares[0]?.pid, detail: 'it was not ready yet' }]);
  });

  it('ends a spare that does not reach its gate within 15 s, and counts it as lost', async () => {
    vi.useFakeTimers();
    const made = keeper();
    made.keeper.take(config, 'fp-1');
    see(made.keeper, READY);
    await vi.waitFor(() => expect(spares).toHaveLength(1));
    const spare = spares[0] as FakeStandby;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(spare.discarded).toBe(1);
    expect(standbyEvents(made.events)).toEqual([
      { type: 'standby', state: 'lost', pid: spare.pid, detail: 'the standby did not reach the gate within 15 s before it was needed' },
    ]);
    // Lost, not parked: a failure now spawns a fresh process.
    see(made.keeper, restarting('crash'));
    expect(made.keeper.take(config, 'fp-1')).toBeNull();
  });

  it('leaves an armed spare alone when the gate deadline passes', async () => {
    vi.useFakeTimers();
    const { keeper: k, events, spare } = await parked();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(spare.discarded).toBe(0);
    see(k, restarting('startup-timeout'));
    expect(k.take(config, 'fp-1')).toEqual({ pid: spare.pid });
    expect(standbyEvents(events).map((e) => (e as { state: string }).state)).toEqual(['armed', 'promoted']);
  });

  it('turns warm standby off after the spare was lost three times, and says what to check', async () => {
    const { keeper: k, events } = keeper();
    k.take(config, 'fp-1');
    for (let lost = 1; lost <= 3; lost += 1) {
      // Each ready parks a new spare (the one before is gone).
      see(k, READY);
      await vi.waitFor(() => expect(spares).toHaveLength(lost));
      spares[lost - 1]?.die('exited with code 1');
    }
    see(k, READY);
    // No fourth spare: the keeper stopped trying.
    await new Promise((resolve) => setImmediate(resolve));
    expect(spares).toHaveLength(3);
    const warning = events.find((e) => e.type === 'warning');
    expect(warning).toEqual({
      type: 'warning',
      message: 'warm standby turned off: it was lost 3 times',
      fix: expect.stringContaining('check that the command runs node directly') as string,
    });
  });

  it('parks a spare when the configuration changes while the instance is ready, not before', async () => {
    const { keeper: k } = keeper();
    k.configChanged(config, true);
    see(k, READY);
    await vi.waitFor(() => expect(spares).toHaveLength(1));
    spares[0]?.die('was killed');
    k.configChanged(config, false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(spares).toHaveLength(1);
    k.configChanged(config, true);
    await vi.waitFor(() => expect(spares).toHaveLength(2));
  });
});
