/**
 * Issue 13, zero downtime through the supervisor (2/2): `mode: proxy` (proxy.protocol http) in front
 * of a Node server with no SIGTERM handler at all (it dies at once: requests in flight on it are
 * reset, and the proxy sends those GETs again to the new instance) and of Debian's uvicorn
 * (`/usr/bin/python3 -m uvicorn`, which closes idle keep-alive connections at once on shutdown),
 * 10 reloads under each client kind, 0 failed requests. See zero-downtime-matrix.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { assertAllGone, waitFor } from '../helpers/processes.js';
import { freePort } from '../helpers/supervise.js';
import { now, startLoads, type SlowAnswer } from './client-kinds.js';
import { appConfig, finishSupervised, SERVERS, startSupervised, type LogLine, type Supervised } from './supervised.js';
import { matrixSuite } from './zero-downtime-cells.js';

matrixSuite('zero-downtime matrix (2/2)', [
  ['proxy', 'no-handler'],
  ['proxy', 'uvicorn'],
]);

// kill -9 with restart.standby, under mixed clients: the long requests the killed instance had in
// flight are reset and sent again, new ones wait for the promoted standby. (One connection per
// request only: test/reload-e2e.test.ts.)
describe('proxy mode, restart.standby: kill -9 of the instance under mixed clients, 3 times', () => {
  let active: Supervised | null = null;
  afterEach(async () => {
    const h = active;
    active = null;
    await finishSupervised(h);
  });

  it('0 failed requests; long requests were in flight at every kill', { timeout: 90_000 }, async () => {
    const spec = SERVERS.naive;
    const port = await freePort();
    const h = (active = startSupervised(appConfig(spec, port, 'proxy', { restart: { standby: true } })));
    await h.waitEvent('ready', 0);
    const slow: SlowAnswer[] = [];
    const loads = startLoads(port, spec, 'mixed', 1100, (answer) => slow.push(answer));
    const answers = (pid: number): number => loads.answeredBy.get(pid) ?? 0;
    const kills: number[] = [];
    try {
      await waitFor(() => answers(h.instancePids()[0]!) >= 20, { timeout: 15_000, message: 'the load never reached the instance' });
      for (let i = 0; i < 3; i += 1) {
        const victim = h.instancePids()[i]!;
        // A parked standby for this instance, and a long request that just reached it.
        const armed = (): LogLine[] => h.events('standby').filter((e) => e['state'] === 'armed');
        const parked = Number((await waitFor(() => armed()[i], { timeout: 15_000, message: `no standby parked for instance ${i + 1}` }))['pid']);
        const sent = slow.length;
        await waitFor(() => slow.length > sent, { timeout: 5000, message: 'no long request ended' });
        kills.push(now());
        process.kill(victim, 'SIGKILL');
        const ready = await h.waitEvent('ready', i + 1);
        expect(Number(ready['pid'])).toBe(parked);
        await waitFor(() => answers(parked) >= 20, { timeout: 15_000, message: `the promoted standby ${parked} never answered` });
      }
    } finally {
      loads.abort();
    }
    const results = await loads.results;
    const failed = results.reduce((sum, r) => sum + r.failed, 0);
    const total = results.reduce((sum, r) => sum + r.total, 0);
    const spanning = kills.map((at) => slow.filter((a) => a.sentAt < at && a.endedAt > at).length);
    const summary = `${total} requests, ${failed} failed ${JSON.stringify(results.map((r) => r.errors))}, long requests in flight at each kill ${JSON.stringify(spanning)}`;
    console.log(`kill -9 + standby, mixed clients: ${summary}`);
    expect(results.flatMap((r) => r.sampleErrors)).toEqual([]);
    expect(failed, summary).toBe(0);
    for (const n of spanning) expect(n, summary).toBeGreaterThan(0);
    const pids = h.instancePids();
    expect(await h.stop()).toBe(0);
    await assertAllGone(pids, 15_000);
  });
});
