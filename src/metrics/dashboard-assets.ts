/**
 * The dashboard's stylesheet and script, served as files (the page's Content-Security-Policy allows
 * no inline script or style), and uPlot's dist files resolved from node_modules at runtime: uPlot
 * is a dependency, so it is installed wherever naija-sup is, and nothing is built or fetched from a
 * CDN.
 */
import { readTextFile } from '../fs-async.js';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** uPlot's browser build and its CSS, read once on first request. */
export async function uplotAsset(kind: 'js' | 'css'): Promise<string> {
  const file = kind === 'js' ? 'uplot/dist/uPlot.iife.min.js' : 'uplot/dist/uPlot.min.css';
  cache[kind] ??= readTextFile(require.resolve(file));
  return cache[kind];
}
const cache: Partial<Record<'js' | 'css', Promise<string>>> = {};

export const DASHBOARD_CSS = `
:root { --bg: #f6f7f9; --card: #fff; --fg: #1b1f24; --muted: #5b6570; --line: #d8dde3;
  --good: #0a7d3b; --bad: #c2261f; --neutral: #6b5b00; --s1: #1f6feb; --s2: #b65c00; --s3: #8250df; color-scheme: light dark; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0e1116; --card: #161b22; --fg: #e6edf3; --muted: #9aa6b2; --line: #30363d;
    --good: #3fb950; --bad: #f85149; --neutral: #d29922; --s1: #58a6ff; --s2: #f0883e; --s3: #bc8cff; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 12px; }
h1 { font-size: 1.4rem; margin: 0 0 8px; } h2 { font-size: 1.05rem; margin: 0 0 8px; }
.grid { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(min(100%, 360px), 1fr)); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 0; min-width: 0; }
#s-app, #s-instances, #s-restarts { grid-column: 1 / -1; }
tfoot td { font-weight: 600; }
dl { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 6px 16px; margin: 0 0 8px; }
dt { color: var(--muted); font-size: .8rem; } dd { margin: 0; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: 4px 8px 4px 0; border-top: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
.badge { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid currentColor; }
.good { color: var(--good); } .bad { color: var(--bad); } .neutral { color: var(--neutral); }
.muted { color: var(--muted); margin: 0; }
.live { color: var(--muted); font-size: .85rem; margin: 0 0 8px; } .live.stale { color: var(--bad); }
.charts-title { margin: 16px 0 8px; }
figcaption { color: var(--muted); font-size: .85rem; margin-bottom: 4px; }
.plot { min-height: 60px; color: var(--s1); } .plot svg { width: 100%; height: 60px; }
.uplot, .uplot .u-legend { color: var(--fg); font-family: inherit; }
@media (max-width: 600px) {
  main { padding: 8px; }
  thead { display: none; } tr { display: block; border-top: 1px solid var(--line); padding: 4px 0; }
  td { display: flex; gap: 8px; border: 0; padding: 2px 0; } td::before { content: attr(data-label); color: var(--muted); min-width: 7em; }
}
`;

/**
 * Polls /dashboard.json every 2 s: swaps in each section's server-rendered HTML and redraws the
 * charts. Polling rather than Server-Sent Events keeps the status server's connections short-lived
 * (it limits them), and a missed poll only makes the page a little older.
 */
export const DASHBOARD_JS = `'use strict';
(function () {
  var script = document.currentScript;
  var query = (script && script.getAttribute('data-query')) || '';
  var live = document.getElementById('live');
  var plots = {};
  var lastData = null;
  function color(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888'; }
  function draw(charts, history) {
    charts.forEach(function (chart) {
      var el = document.getElementById(chart.id);
      if (!el || typeof uPlot === 'undefined') return;
      var data = [history.t].concat(chart.series.map(function (s) { return history[s[0]]; }));
      var width = Math.max(200, el.clientWidth || 300);
      if (!plots[chart.id]) {
        el.textContent = '';
        var fg = color('--muted');
        var axis = { stroke: fg, grid: { stroke: color('--line'), width: 1 }, ticks: { stroke: color('--line') } };
        plots[chart.id] = new uPlot({
          width: width, height: 160,
          series: [{}].concat(chart.series.map(function (s, i) {
            return { label: s[1], stroke: color(['--s1', '--s2', '--s3'][i]), width: 1.5, spanGaps: false };
          })),
          axes: [axis, axis], scales: { x: { time: true } }, cursor: { drag: { x: false } }
        }, data, el);
      } else {
        plots[chart.id].setData(data);
        if (Math.abs(plots[chart.id].width - width) > 4) plots[chart.id].setSize({ width: width, height: 160 });
      }
    });
  }
  function apply(d) {
    Object.keys(d.html).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.innerHTML !== d.html[id]) el.innerHTML = d.html[id];
    });
    lastData = d;
    draw(d.charts, d.history);
    live.className = 'live';
    live.textContent = 'live · updated ' + new Date(d.nowMs).toLocaleTimeString();
  }
  function poll() {
    fetch('/dashboard.json' + query, { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(apply)
      .catch(function (e) { live.className = 'live stale'; live.textContent = 'no answer from the supervisor (' + e.message + '): showing the last data'; })
      .then(function () { setTimeout(poll, 2000); });
  }
  window.addEventListener('resize', function () { if (lastData) draw(lastData.charts, lastData.history); });
  poll();
})();
`;
