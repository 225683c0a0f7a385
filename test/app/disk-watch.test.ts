/**
 * DiskWatch (src/app/disk-watch.ts): what a failing log or record write says, when it stops the
 * app, and when `status` stops showing it.
 */
import { describe, expect, it, vi } from 'vitest';
import { DiskWatch } from '../../src/app/disk-watch.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';

function watch(): { disk: DiskWatch; published: SupervisorEvent[]; stop: ReturnType<typeof vi.fn> } {
  const published: SupervisorEvent[] = [];
  const stop = vi.fn();
  const disk = new DiskWatch({ publish: (e) => published.push(e), stop, now: () => Date.UTC(2026, 0, 2, 3, 4, 5) });
  return { disk, published, stop };
}

const flush = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));

describe('DiskWatch', () => {
  it('says how many lines were lost when a log file is written again, and stops showing the problem', async () => {
    const { disk, published } = watch();
    disk.logFailed('/run/app.log', Object.assign(new Error('ELOOP: too many symbolic links'), { code: 'ELOOP' }));
    expect(disk.problems()).toEqual([{ path: '/run/app.log', message: 'ELOOP: too many symbolic links', since: '2026-01-02T03:04:05.000Z' }]);
    disk.logRecovered('/run/app.log', 12);
    await flush();
    expect(published).toEqual([
      {
        type: 'warning',
        message: 'cannot write the log file /run/app.log: ELOOP: too many symbolic links; its lines are kept (up to 256 KiB) and the write is retried every second',
        fix: 'a symlink is in the place of the file: remove it (naija-sup never writes through one)',
      },
      { type: 'warning', message: 'the log file /run/app.log is written again; 12 lines did not fit the backlog and are lost' },
    ]);
    expect(disk.problems()).toEqual([]);
  });

  it('takes the code from the message when the error has none, and falls back to a general fix', async () => {
    const { disk, published } = watch();
    disk.logFailed('/a.log', new Error('EROFS: read-only file system'));
    disk.logFailed('/b.log', new Error('something odd'));
    await flush();
    expect(published.map((e) => (e as { fix?: string }).fix)).toEqual([
      'the run dir is on a read-only filesystem: point NAIJA_SUP_RUN_DIR (or XDG_RUNTIME_DIR) at a writable directory',
      'check that the run dir is writable and its disk has space',
    ]);
  });

  it('a record that cannot be written before any was stops the app with E_RUN_DIR; a later one is only shown', async () => {
    const first = watch();
    first.disk.observe({ type: 'record-error', message: 'ENOSPC: no space left on device', path: '/run/naija-sup/api.json' });
    expect(first.disk.runDirError).toMatchObject({ code: 'E_RUN_DIR', message: 'cannot write the instance record /run/naija-sup/api.json: ENOSPC: no space left on device' });
    expect(first.disk.runDirError?.fix).toContain('free space on the disk');
    await flush();
    expect(first.stop).toHaveBeenCalledOnce();

    const later = watch();
    later.disk.observe({ type: 'record-written', recordPath: '/run/naija-sup/api.json', pidFile: null });
    later.disk.observe({ type: 'record-error', message: 'EDQUOT: quota exceeded' });
    await flush();
    expect(later.disk.runDirError).toBeNull();
    expect(later.stop).not.toHaveBeenCalled();
    expect(later.disk.problems()).toEqual([{ path: 'the instance record', message: 'record: EDQUOT: quota exceeded', since: '2026-01-02T03:04:05.000Z' }]);
    // The next successful write clears it (a log problem stays).
    later.disk.logFailed('/c.log', new Error('ENOSPC: full'));
    later.disk.observe({ type: 'record-written', recordPath: '/run/naija-sup/api.json', pidFile: null });
    expect(later.disk.problems().map((p) => p.path)).toEqual(['/c.log']);
  });

  it('ignores PID-file errors and other events', () => {
    const { disk, stop } = watch();
    disk.observe({ type: 'record-error', message: 'EACCES', file: 'pid-file', path: '/run/app.pid' });
    disk.observe({ type: 'stopped', exitStatus: 0, graceful: true });
    expect(disk.problems()).toEqual([]);
    expect(disk.runDirError).toBeNull();
    expect(stop).not.toHaveBeenCalled();
  });
});
