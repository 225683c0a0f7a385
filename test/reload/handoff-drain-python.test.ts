// Issue 13: uvicorn and gunicorn under socket handoff (Debian's python3-uvicorn 0.17.6 and gunicorn
// 20.1.0, installed by .ci/run), swapped blue → green on one shared socket under the three client
// kinds of handoff-drain-swap.ts, 10 swaps each. The numbers go to docs/handoff.md.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHandoffListener, type HandoffListener } from '../../src/reload/handoff.js';
import { killAllTracked } from '../helpers/processes.js';
import { RELOAD_FIXTURES_DIR } from './helpers.js';
import { CLIENT_KINDS, describeReport, swapUnderLoad, type ClientKind, type ServerRecipe } from './handoff-drain-swap.js';

const listeners: HandoffListener[] = [];
const measured: string[] = [];

afterEach(() => {
  killAllTracked();
  for (const listener of listeners.splice(0)) listener.close();
});

afterAll(() => {
  if (measured.length > 0) console.log(`handoff-drain (python) measurements:\n  ${measured.join('\n  ')}`);
});

// No __pycache__ in the fixtures folder.
const base = { cwd: RELOAD_FIXTURES_DIR, env: { PYTHONDONTWRITEBYTECODE: '1' }, pidPath: '/pid', slowPath: (ms: number) => `/slow?ms=${ms}` };

const SERVERS: Record<string, ServerRecipe> = {
  uvicorn: { ...base, command: ['/usr/bin/python3', '-m', 'uvicorn', '--fd', '3', 'pid_app:asgi'], ready: /Uvicorn running on/ },
  gunicorn: {
    ...base,
    command: ['/usr/bin/python3', '-m', 'gunicorn', '--bind', 'fd://3', '--workers', '1', '--graceful-timeout', '10', 'pid_app:wsgi'],
    ready: /Booting worker with pid/,
    greenAnswers: 'new-pid',
  },
};

describe.each(Object.keys(SERVERS))('%s under socket handoff', (name) => {
  it.each<ClientKind>([...CLIENT_KINDS])('%s clients, 10 swaps', { timeout: 240_000 }, async (kind) => {
    const shared = createHandoffListener({ host: '127.0.0.1', port: 0 });
    listeners.push(shared);
    const report = await swapUnderLoad({ recipe: SERVERS[name]!, kind, fd: shared.fd, port: shared.port, swaps: 10 });
    measured.push(`${name}, ${kind}: ${describeReport(report)} ${JSON.stringify(report.sampleErrors)}`);
    expect(report.ok).toBeGreaterThan(0);
    // Every instance drained and exited 0, and the shared socket never stopped listening: nothing
    // was refused or left unanswered.
    expect(report.exitCodes).toEqual(Array.from({ length: 11 }, () => 0));
    if (name === 'gunicorn') {
      // Sync workers answer every request with Connection: close and finish it on SIGTERM.
      expect(report.sampleErrors).toEqual([]);
      expect(report.failed).toBe(0);
    } else {
      // uvicorn 0.17.6 closes idle keep-alive connections at once on shutdown, racing the client's
      // next request on them (docs/handoff.md); no flag of that version changes it. Resets only.
      expect(Object.keys(report.errors).filter((code) => code !== 'ECONNRESET'), describeReport(report)).toEqual([]);
    }
    if (kind === 'mixed') expect(report.slowOk).toBeGreaterThan(0);
  });
});
