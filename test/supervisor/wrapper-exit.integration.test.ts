/**
 * Crash classification behind wrappers, against real processes: a server behind `npm start` or
 * `sh -c` that dies of SIGKILL (as the out-of-memory killer would kill it) makes the wrapper exit
 * 137, which must read as "killed by SIGKILL"; a server behind `npm start` that cannot load its
 * native module prints the key line first of ~46 stderr lines, which must still be found.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listGroupMembers } from '../../src/process/group.js';
import { assertAllGone, fixture, track, waitFor } from '../helpers/processes.js';
import { finishSupervisor, freePort, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';

let current: InProcessSupervisor | null = null;

afterEach(async () => {
  const sup = current;
  current = null;
  await finishSupervisor(sup);
});

interface ExitedEvent {
  event: 'exited';
  pid: number;
  exit: { code: number | null; signal: string | null; cause: string; summary: string; fix: string; stderrTail: string[]; failureId?: string };
}

/** The JSON-lines events the supervisor printed so far. */
function events(sup: InProcessSupervisor): Record<string, unknown>[] {
  return sup
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => typeof record['event'] === 'string');
}

/**
 * Starts `command` under the supervisor (restart policy "never", JSON log), tracks the wrapper's
 * group as soon as it is spawned, and returns the instance's 'exited' event and the exit status.
 */
async function runOnce(command: string[], env: Record<string, string>, setup?: (tmp: string) => void) {
  const port = await freePort();
  const sup = superviseInProcess(
    ['--port', String(port), '--', ...command],
    {
      NAIJA_SUP_LOG_FORMAT: 'json',
      NAIJA_SUP_RESTART_POLICY: 'never',
      NAIJA_SUP_HEALTH_TYPE: 'tcp',
      NAIJA_SUP_HEALTH_INTERVAL: '25ms',
      // `npm start` needs no network; keep npm from asking the registry for a newer npm.
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      ...env,
    },
    setup,
  );
  current = sup;
  const spawned = await waitFor(() => events(sup).find((e) => e['event'] === 'spawned'), { timeout: 15_000, message: () => `not spawned:\n${sup.stdout()}${sup.stderr()}` });
  const leader = spawned['pid'] as number;
  // The wrapper leads the group: tracking it makes assertAllGone check every member (sh, node).
  track(leader);
  const status = await sup.done;
  const exited = events(sup).find((e) => e['event'] === 'exited') as ExitedEvent | undefined;
  if (exited === undefined) throw new Error(`no exited event:\n${sup.stdout()}${sup.stderr()}`);
  await assertAllGone([leader, ...sup.pids]);
  expect(listGroupMembers(leader)).toEqual([]);
  return { status, exited, sup };
}

/** Makes `dir` (the supervisor's working directory) an app whose `npm start` runs `script`. */
function npmApp(dir: string, script: string): void {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'wrapped-app', version: '1.0.0', private: true, scripts: { start: script } }));
}

describe('a server killed by SIGKILL behind a wrapper', () => {
  it('behind `npm start`: npm exits 137, reported as killed by SIGKILL with the OOM hint', async () => {
    const { status, exited } = await runOnce(
      ['npm', 'start'],
      { EXIT_SIGNAL: 'SIGKILL', EXIT_AFTER_MS: '300' },
      (tmp) => npmApp(tmp, `node ${JSON.stringify(fixture('exit-with.mjs'))}`),
    );
    expect(exited.exit).toMatchObject({ code: 137, signal: null, cause: 'killed' });
    expect(exited.exit.summary).toBe('killed by SIGKILL (possibly the out-of-memory killer; reported by npm as exit 137)');
    expect(exited.exit.fix).toContain('dmesg');
    expect(status).toBe(137);
  });

  it('behind `sh -c`: the shell exits 128 + 9, reported as killed by SIGKILL with the OOM hint', async () => {
    const { status, exited } = await runOnce(
      ['sh', '-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(fixture('exit-with.mjs'))}`],
      { EXIT_SIGNAL: 'SIGKILL', EXIT_AFTER_MS: '300' },
    );
    expect(exited.exit).toMatchObject({ code: 137, signal: null, cause: 'killed' });
    expect(exited.exit.summary).toBe('killed by SIGKILL (possibly the out-of-memory killer; reported by sh as exit 137)');
    expect(status).toBe(137);
  });
});

describe('a missing native binding behind `npm start`', () => {
  it('is classified native-module from its key line, which is not among the last 20 stderr lines', async () => {
    const { status, exited } = await runOnce(
      ['npm', 'start'],
      {},
      (tmp) => {
        npmApp(tmp, 'node server.js');
        cpSync(fixture('missing-binding/server.js'), join(tmp, 'server.js'));
        cpSync(fixture('missing-binding/fake-native'), join(tmp, 'node_modules', 'fake-native'), { recursive: true });
      },
    );
    expect(exited.exit).toMatchObject({ code: 1, cause: 'native-module', failureId: 'native-bindings' });
    expect(exited.exit.summary).toBe('a native module binary was never built: fake-native');
    expect(exited.exit.fix).toContain('npm rebuild fake-native');
    // The event shows the last 20 lines; the key line came long before them.
    expect(exited.exit.stderrTail).toHaveLength(20);
    expect(exited.exit.stderrTail.join('\n')).not.toContain('Could not locate the bindings file');
    expect(exited.exit.stderrTail.at(-1)).toMatch(/^Node\.js v\d+/);
    expect(status).toBe(1);
  });
});
