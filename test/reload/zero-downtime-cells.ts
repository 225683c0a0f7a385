/**
 * The zero-downtime matrix's test body, shared by the files that split the matrix (so vitest runs
 * them in parallel): for each [mode, server] cell and each client kind, one test that reloads the
 * server 10 times through the supervisor under load and asserts 0 failed requests, that every
 * reload put a new instance in front, and (mixed) that long requests were in flight at every
 * switch. Prints each cell's figures at the end of its file (docs/http-proxy.md).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ReloadMode } from '../../src/config/types.js';
import { assertAllGone } from '../helpers/processes.js';
import { freePort } from '../helpers/supervise.js';
import { CLIENT_KINDS, type ClientKind } from './client-kinds.js';
import { appConfig, describeMatrix, finishSupervised, reloadsUnderLoad, SERVERS, startSupervised, type ServerName, type Supervised } from './supervised.js';

export function matrixSuite(title: string, cells: [ReloadMode, ServerName][]): void {
  let active: Supervised | null = null;
  const measured: string[] = [];

  afterEach(async () => {
    const h = active;
    active = null;
    await finishSupervised(h);
  });

  afterAll(() => {
    if (measured.length > 0) console.log(`${title}:\n  ${measured.join('\n  ')}`);
  });

  describe.each(cells)('%s mode, %s server', (mode, server) => {
    it.each<ClientKind>([...CLIENT_KINDS])('%s clients: 10 reloads, 0 failed requests', { timeout: 120_000 }, async (kind) => {
      const spec = SERVERS[server];
      const port = await freePort();
      const h = (active = startSupervised(appConfig(spec, port, mode)));
      const report = await reloadsUnderLoad({ h, port, spec, kind, reloads: 10 });
      measured.push(`${mode} | ${server} | ${kind} | ${describeMatrix(report)}`);
      expect(report.sampleErrors).toEqual([]);
      expect(report.failed, describeMatrix(report)).toBe(0);
      expect(report.pids).toHaveLength(11);
      // The cell tests what it says: long requests were in flight at every switch.
      if (kind === 'mixed') for (const n of report.spanning) expect(n, describeMatrix(report)).toBeGreaterThan(0);
      expect(await h.stop()).toBe(0);
      await assertAllGone(report.pids, 15_000);
    });
  });
}
