/**
 * The dashboard in a real browser (issue 17): Debian's Chromium driven by playwright-core, against
 * a real supervisor (in-process CLI, test/fixtures/healthy-server.mjs, 127.0.0.1). The page shows
 * the app ready; after a kill -9 of the server it shows the restart and its cause without a
 * reload; nothing is logged to the console; it fits a phone and follows prefers-color-scheme; with
 * JavaScript off it is a static snapshot.
 *
 * The screenshot goes to the temp dir; `UPDATE_SCREENSHOT=1` writes docs/dashboard.png for the README.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthSnapshot } from '../../src/metrics/status-server.js';
import { assertAllGone, fixture, waitFor } from '../helpers/processes.js';
import { finishSupervisor, freePort, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';
import { httpRequest } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

/**
 * The page's globals, typed here because the tests compile without the DOM library. Functions (not
 * strings) go to the page: the dashboard's CSP forbids eval, which string expressions would need.
 */
interface G {
  document: {
    getElementById(id: string): { textContent: string | null } | null;
    querySelector(selector: string): { textContent: string | null } | null;
    documentElement: { scrollWidth: number };
    body: unknown;
  };
  innerWidth: number;
  marker?: number;
  getComputedStyle(element: unknown): { backgroundColor: string };
}
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));

let sup: InProcessSupervisor | null = null;
let server: BrowserServer | null = null;
let browser: Browser | null = null;
afterEach(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close().catch(() => undefined);
  browser = null;
  server = null;
  const s = sup;
  sup = null;
  await finishSupervisor(s);
});

/** Chromium as a server of ours, so the test knows its pid and can assert it is gone at the end. */
async function launch(): Promise<{ browser: Browser; pid: number }> {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`).toBe(true);
  server = await chromium.launchServer({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const pid = server.process().pid;
  expect(pid).toBeGreaterThan(0);
  browser = await chromium.connect(server.wsEndpoint());
  return { browser, pid: pid ?? 0 };
}

function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return problems;
}

describe('dashboard in Chromium', () => {
  it('shows the app ready, then a kill -9 restart with its cause and fix without a reload; phone, dark mode and no-JS work', async () => {
    const port = await freePort();
    const statusPort = await freePort();
    sup = superviseInProcess(['--port', String(port), '--status-port', String(statusPort), '--', process.execPath, fixture('healthy-server.mjs')], {
      NAIJA_SUP_HEALTH_INTERVAL: '25ms', NAIJA_SUP_NAME: 'orders-api', NAIJA_SUP_ALERTS_CRASH_RATE: '5',
    });
    await sup.waitFor(/is ready in/);
    const { browser: b, pid: chromePid } = await launch();
    const base = `http://127.0.0.1:${statusPort}`;

    const context = await b.newContext({ viewport: { width: 1280, height: 1000 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(`${base}/`);
    await page.waitForFunction(() => (globalThis as unknown as G).document.getElementById('live')?.textContent?.startsWith('live') === true, undefined, { timeout: 10_000 });
    expect(await page.locator('#s-app .badge').first().textContent()).toBe('ok');
    expect(await page.locator('#s-app').textContent()).toContain(String(sup.pids[0]));
    expect(await page.locator('#s-health').textContent()).toContain('ready');
    expect(await page.locator('#restart-count').textContent()).toBe('0');
    // uPlot drew the charts in place of the static lines.
    await page.waitForSelector('#c-memory .uplot', { timeout: 10_000 });
    // A marker that a reload would wipe.
    await page.evaluate(() => { (globalThis as unknown as G).marker = 42; });

    process.kill(sup.pids[0] ?? 0, 'SIGKILL');
    await page.waitForFunction(() => (globalThis as unknown as G).document.getElementById('restart-count')?.textContent === '1', undefined, { timeout: 15_000 });
    await page.waitForFunction(() => (globalThis as unknown as G).document.querySelector('#s-app .badge')?.textContent === 'ok', undefined, { timeout: 15_000 });
    const restarts = await page.locator('#s-restarts').textContent();
    expect(restarts).toContain('killed');
    expect(restarts).toContain('SIGKILL');
    expect(restarts).toMatch(/out-of-memory/);
    expect(await page.locator('#s-starts').textContent()).toContain(String(sup.pids[1]));
    expect(await page.evaluate(() => (globalThis as unknown as G).marker)).toBe(42);
    const shot = process.env['UPDATE_SCREENSHOT'] === '1' ? DOCS_SCREENSHOT : join(tmpdir(), `naija-sup-dashboard-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    if (shot !== DOCS_SCREENSHOT) rmSync(shot, { force: true });

    // A phone in dark mode: nothing wider than the screen, and the dark palette.
    const phone = await b.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, colorScheme: 'dark' });
    const phonePage = await phone.newPage();
    problems.push(...watchConsole(phonePage));
    await phonePage.goto(`${base}/dashboard`);
    await phonePage.waitForSelector('#c-ready .uplot', { timeout: 10_000 });
    expect(await phonePage.evaluate(() => { const g = globalThis as unknown as G; return g.document.documentElement.scrollWidth <= g.innerWidth; })).toBe(true);
    const darkBg = await phonePage.evaluate(() => { const g = globalThis as unknown as G; return g.getComputedStyle(g.document.body).backgroundColor; });
    const lightBg = await page.evaluate(() => { const g = globalThis as unknown as G; return g.getComputedStyle(g.document.body).backgroundColor; });
    expect(darkBg).toBe('rgb(14, 17, 22)');
    expect(lightBg).toBe('rgb(246, 247, 249)');

    // Without JavaScript: the same facts, rendered by the server.
    const noJs = await b.newContext({ javaScriptEnabled: false });
    const staticPage = await noJs.newPage();
    await staticPage.goto(`${base}/`);
    expect(await staticPage.locator('#live').textContent()).toMatch(/^snapshot at /);
    expect(await staticPage.locator('#restart-count').textContent()).toBe('1');
    expect(await staticPage.locator('#s-restarts').textContent()).toContain('killed');

    expect(problems).toEqual([]);
    await b.close();
    await server?.close();
    browser = null;
    server = null;
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    await assertAllGone([chromePid, ...sup.pids]);
  });

  it('with instances: 3, shows a row per instance and the total below them', async () => {
    const port = await freePort();
    const statusPort = await freePort();
    sup = superviseInProcess([], {}, (tmp) => writeFileSync(join(tmp, 'naija-sup.config.json'), JSON.stringify({
      name: 'orders-api', command: [process.execPath, fixture('reload/fd-server.mjs')], port, host: '127.0.0.1',
      mode: 'handoff', instances: 3, status: { port: statusPort },
      health: { path: '/health', interval: '25ms', startupTimeout: '20s' }, shutdown: { timeout: '10s' },
    })));
    const health = await waitFor(async () => {
      const answer = await httpRequest(statusPort, '/health').catch(() => null);
      const body = answer?.status === 200 ? JSON.parse(answer.body) as HealthSnapshot : null;
      return body?.total?.ready === 3 ? body : null;
    }, { timeout: 30_000, message: 'the three instances never got ready' });
    const pids = (health.instances ?? []).map((i) => i.pid as number);
    const { browser: b, pid: chromePid } = await launch();
    const page = await b.newPage();
    const problems = watchConsole(page);
    await page.goto(`http://127.0.0.1:${statusPort}/`);
    await page.waitForFunction(() => (globalThis as unknown as G).document.getElementById('live')?.textContent?.startsWith('live') === true, undefined, { timeout: 10_000 });
    const rows = page.locator('#s-instances tbody tr');
    expect(await rows.count()).toBe(3);
    for (const [k, pid] of pids.entries()) {
      const row = rows.nth(k);
      expect(await row.locator('td').first().textContent()).toBe(`#${k}`);
      expect(await row.textContent()).toContain(String(pid));
      expect(await row.locator('.badge').textContent()).toBe('ready');
    }
    expect(await page.locator('#s-instances tfoot tr').textContent()).toMatch(/^total3\/3 ready0/);

    expect(problems).toEqual([]);
    await b.close();
    await server?.close();
    browser = null;
    server = null;
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    await assertAllGone([chromePid, ...pids]);
  });
});
