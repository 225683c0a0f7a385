// Issue 13: what a server's shutdown must do under socket handoff. The same server
// (test/fixtures/reload/drain-server.mjs) with the most common Node shutdown,
// `process.on('SIGTERM', () => server.close(() => process.exit(0)))`, and with naija-sup/node's
// serve(), swapped blue → green on one shared socket under three kinds of clients.
//
// The naive shutdown resets connections (the limit docs/handoff.md states): since Node 19,
// http.Server#close() destroys every connection with no request in progress, which includes the
// ones it accepted a moment ago whose request it has not read yet, and idle keep-alive ones a
// client is just reusing. The helper resets none. Needs `npm run build` (the fixture imports dist/).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHandoffListener, type HandoffListener } from '../../src/reload/handoff.js';
import { fileURLToPath } from 'node:url';
import { killAllTracked, fixture } from '../helpers/processes.js';
import { RELOAD_FIXTURES_DIR } from './helpers.js';
import { CLIENT_KINDS, describeReport, swapUnderLoad, type ClientKind, type ServerRecipe } from './handoff-drain-swap.js';

const listeners: HandoffListener[] = [];
const measured: string[] = [];

afterEach(() => {
  killAllTracked();
  for (const listener of listeners.splice(0)) listener.close();
});

afterAll(() => {
  if (measured.length > 0) console.log(`handoff-drain measurements:\n  ${measured.join('\n  ')}`);
});

function recipe(shutdown: 'naive' | 'helper'): ServerRecipe {
  return {
    command: [process.execPath, fixture('reload/drain-server.mjs')],
    cwd: RELOAD_FIXTURES_DIR,
    env: { SHUTDOWN: shutdown },
    ready: /READY port=\d+ pid=\d+ fd=3/,
    pidPath: '/pid',
    slowPath: (ms) => `/slow?ms=${ms}`,
  };
}

function sharedSocket(): HandoffListener {
  const listener = createHandoffListener({ host: '127.0.0.1', port: 0 });
  listeners.push(listener);
  return listener;
}

describe.each<ClientKind>(CLIENT_KINDS)('handoff drain, %s clients', (kind) => {
  it('naive server.close(() => process.exit(0)): clients see connection resets', { timeout: 180_000 }, async () => {
    const shared = sharedSocket();
    const report = await swapUnderLoad({ recipe: recipe('naive'), kind, fd: shared.fd, port: shared.port, swaps: 10 });
    measured.push(`naive, ${kind}, 10 swaps: ${describeReport(report)} ${JSON.stringify(report.sampleErrors)}`);
    expect(report.failed, describeReport(report)).toBeGreaterThan(0);
    // Resets (or their client-side face, "socket hang up"), never anything else: nothing was refused.
    expect(Object.keys(report.errors).filter((code) => code !== 'ECONNRESET'), describeReport(report)).toEqual([]);
  });

  it('the same server with naija-sup/node serve(): 0 failed requests, every instance exits 0', { timeout: 180_000 }, async () => {
    const shared = sharedSocket();
    const report = await swapUnderLoad({ recipe: recipe('helper'), kind, fd: shared.fd, port: shared.port, swaps: 10 });
    measured.push(`helper, ${kind}, 10 swaps: ${describeReport(report)}`);
    expect(report.sampleErrors).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.exitCodes).toEqual(Array.from({ length: 11 }, () => 0));
    if (kind === 'mixed') expect(report.slowOk).toBeGreaterThan(0);
  });
});

// The example API (examples/express-api), which listens and drains with serve().
const EXAMPLE: ServerRecipe = {
  command: [process.execPath, 'src/server.js'],
  cwd: fileURLToPath(new URL('../../examples/express-api/', import.meta.url)),
  env: { BCRYPT_COST: '4', WARMUP_MS: '0' },
  ready: /^listening on inherited fd 3/,
  // Not /ready: it answers 503 while an instance drains, by design.
  pidPath: '/api/v1/public/alive',
  slowPath: (ms) => `/api/v1/public/slow?ms=${ms}`,
};

describe.each<ClientKind>(CLIENT_KINDS)('the example API under socket handoff, %s clients', (kind) => {
  it('10 swaps, 0 failed requests, every instance exits 0', { timeout: 180_000 }, async () => {
    const shared = sharedSocket();
    const report = await swapUnderLoad({ recipe: EXAMPLE, kind, fd: shared.fd, port: shared.port, swaps: 10 });
    measured.push(`example API, ${kind}, 10 swaps: ${describeReport(report)}`);
    expect(report.sampleErrors).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.exitCodes).toEqual(Array.from({ length: 11 }, () => 0));
    if (kind === 'mixed') expect(report.slowOk).toBeGreaterThan(0);
  });
});
