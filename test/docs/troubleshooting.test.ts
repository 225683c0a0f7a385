/**
 * docs/troubleshooting.md and the code cannot drift apart: every E_* code that appears in src/ and
 * every crash cause has its section, every section names a code or cause that exists, and every
 * docs reference naija-sup prints (errors, classified exits in both renderers, `status`) resolves
 * to an existing anchor of the page it names.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gaveUpLines } from '../../src/cli/commands/status.js';
import type { CliIO } from '../../src/cli/context.js';
import { docsLink, TROUBLESHOOTING_FILE } from '../../src/cli/docs-link.js';
import { EventRenderer } from '../../src/cli/event-renderer.js';
import { JsonRenderer } from '../../src/cli/json-renderer.js';
import { formatError } from '../../src/cli/render.js';
import { CRASH_CAUSES, docsRef, errorAnchor, slug, slugger } from '../../src/docs-ref.js';
import { ERROR_CODES, NaijaSupError, type ErrorCode } from '../../src/errors.js';
import { KNOWN_FAILURES } from '../../src/failures.js';
import type { CrashCause, ExitInfo, SupervisorEvent } from '../../src/supervisor/events.js';
import { headings, read, sectionText, type Heading } from './markdown.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGE = read(join(ROOT, 'docs/troubleshooting.md'));
const HEADINGS = headings(PAGE);
const PARTS = ['**You see:**', '**Why:**', '**Confirm:**', '**Fix:**', '**Prevent:**'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every E_* code that appears anywhere in src/: the CLI's table, the control protocol's, the client's. */
const CODES_IN_SRC = [...new Set(sourceFiles(join(ROOT, 'src')).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\bE_[A-Z][A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0])))].sort();

/** The `###` sections under a `##` heading. */
function sectionsUnder(title: string): Heading[] {
  const parent = HEADINGS.find((h) => h.level === 2 && h.text === title);
  if (!parent) throw new Error(`no "## ${title}" in docs/troubleshooting.md`);
  const end = HEADINGS.find((h) => h.line > parent.line && h.level <= 2)?.line ?? Infinity;
  return HEADINGS.filter((h) => h.level === 3 && h.line > parent.line && h.line < end);
}

function section(name: string): string {
  const heading = HEADINGS.find((h) => h.level === 3 && h.text === name);
  if (!heading) throw new Error(`no section "### ${name}"`);
  return sectionText(PAGE, heading, HEADINGS);
}

describe('slug: GitHub anchors', () => {
  it.each([
    ['E_PORT_IN_USE', 'e_port_in_use'],
    ['port-in-use', 'port-in-use'],
    ['Your server: PORT and health', 'your-server-port-and-health'],
    ['bcrypt/passlib broken after a deploy', 'bcryptpasslib-broken-after-a-deploy'],
    ['The API is down', 'the-api-is-down'],
    ['Zero-downtime reload', 'zero-downtime-reload'],
    ['Café — 2 “quotes”', 'café--2-quotes'],
  ])('%s → %s', (heading, anchor) => {
    expect(slug(heading)).toBe(anchor);
  });

  it('numbers repeated headings as GitHub does (fix, fix-1, and a literal fix-1 after them)', () => {
    const next = slugger();
    expect(['Fix', 'Fix', 'fix-1', 'Fix'].map(next)).toEqual(['fix', 'fix-1', 'fix-1-1', 'fix-2']);
  });

  it('the README anchors the README links to exist under this slugger', () => {
    const readme = read(join(ROOT, 'README.md'));
    const anchors = new Set(headings(readme).map((h) => h.anchor));
    expect(anchors).toContain('your-server-port-and-health');
  });
});

describe('docs/troubleshooting.md against the code', () => {
  it('finds the codes it checks (the scan of src/ works)', () => {
    expect(CODES_IN_SRC).toEqual(expect.arrayContaining(Object.keys(ERROR_CODES)));
    expect(CODES_IN_SRC).toEqual(expect.arrayContaining(['E_VERSION', 'E_TIMEOUT']));
  });

  it('has a section for every E_* code in src/, and no section for a code that does not exist', () => {
    const documented = [...sectionsUnder('Errors'), ...sectionsUnder('Control-socket codes')].map((h) => h.text).sort();
    expect(documented).toEqual(CODES_IN_SRC);
  });

  it('has a section for every crash cause, and none for a cause that does not exist', () => {
    expect(sectionsUnder('Crash causes').map((h) => h.text).sort()).toEqual([...CRASH_CAUSES].sort());
  });

  it('names every entry of the failure table in its cause\'s section', () => {
    for (const failure of KNOWN_FAILURES) {
      expect(section(failure.cause), `failure ${failure.id}`).toContain(`\`${failure.id}\``);
    }
  });

  it('every error and cause section says what you see, why, how to confirm, fix and prevent it', () => {
    for (const name of [...Object.keys(ERROR_CODES), ...CRASH_CAUSES]) {
      const text = section(name);
      for (const part of PARTS) expect(text, `${name}: ${part}`).toContain(part);
    }
  });
});

/** Splits a printed `…/troubleshooting.md#anchor` into the file (resolved against `cwd`) and the anchor. */
function resolveRef(ref: string, cwd: string): { file: string; anchor: string } {
  const at = ref.lastIndexOf('#');
  const path = ref.slice(0, at);
  return { file: path.startsWith('/') ? path : join(cwd, path), anchor: ref.slice(at + 1) };
}

/** Every `docs: …` reference in `text`. */
function refsIn(text: string): string[] {
  return [...text.matchAll(/docs: (\S+)/g)].map((m) => m[1] as string);
}

function expectResolves(ref: string, cwd: string, anchor: string): void {
  const target = resolveRef(ref, cwd);
  expect(target.file).toBe(TROUBLESHOOTING_FILE);
  expect(existsSync(target.file)).toBe(true);
  expect(target.anchor).toBe(anchor);
  expect(HEADINGS.map((h) => h.anchor)).toContain(anchor);
}

const exitOf = (cause: CrashCause): ExitInfo => ({
  code: 1, signal: null, cause, summary: `summary of ${cause}`, fix: `fix for ${cause}`, at: 0, uptimeMs: 10, stderrTail: ['boom'],
});

function captured(cwd: string): { io: CliIO; out: () => string } {
  let text = '';
  const write = (s: string): void => { text += s; };
  return { io: { stdout: write, stderr: write, env: {}, cwd, isTTY: false }, out: () => text };
}

describe('every printed docs reference resolves to an existing anchor', () => {
  const cwds = [ROOT, join(ROOT, 'docs'), '/'];

  it.each(cwds)('errors (each E_* code, and an internal error) from cwd %s', (cwd) => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const { text } = formatError(new NaijaSupError(code, 'something happened', { fix: 'do this' }), cwd);
      const lines = text.trimEnd().split('\n');
      expect(lines.at(-1), code).toMatch(/^ {2}docs: /);
      const refs = refsIn(text);
      expect(refs).toHaveLength(1);
      expectResolves(refs[0] as string, cwd, errorAnchor(code));
    }
    const internal = formatError(new Error('bug'), cwd).text;
    expectResolves(refsIn(internal)[0] as string, cwd, 'e_internal');
  });

  it('an error caused by a classified crash points at the cause', () => {
    const { text } = formatError(new NaijaSupError('E_STARTUP_FAILED', '"api" failed to start', { docs: docsRef('native-module') }), ROOT);
    expect(refsIn(text)).toEqual(['docs/troubleshooting.md#native-module']);
  });

  it('is relative inside the working directory, absolute outside it', () => {
    expect(docsLink('e_usage', ROOT)).toBe('docs/troubleshooting.md#e_usage');
    expect(docsLink('e_usage', '/')).toBe(`${relative('/', TROUBLESHOOTING_FILE)}#e_usage`);
    expect(docsLink('e_usage', '/nonexistent-elsewhere')).toBe(`${TROUBLESHOOTING_FILE}#e_usage`);
  });

  it.each(CRASH_CAUSES)('classified exit %s: the terminal renderer, the JSON renderer and status', (cause) => {
    const exit = exitOf(cause);
    const events: SupervisorEvent[] = [
      { type: 'exited', instance: 1, pid: 42, exit, expected: false },
      { type: 'fatal', reason: 'giving up', exit, exitStatus: 1 },
    ];
    const human = captured('/srv/app');
    const renderer = new EventRenderer(human.io, { name: 'api', raw: false, verbose: false });
    for (const event of events) renderer.handle(event);
    renderer.close();
    const humanRefs = refsIn(human.out());
    // clean-exit under on-failure is a normal stop: its 'exited' line has no fix and no docs; the fatal has both.
    expect(humanRefs).toHaveLength(cause === 'clean-exit' ? 1 : 2);
    for (const ref of humanRefs) expectResolves(ref, '/srv/app', docsRef(cause));
    // The fatal block ends with its docs line.
    expect(human.out().trimEnd().split('\n').at(-1)).toMatch(/^ {2}docs: /);

    const json = captured('/srv/app');
    const jsonRenderer = new JsonRenderer(json.io, { name: 'api' });
    for (const event of events) jsonRenderer.handle(event);
    const records = json.out().trim().split('\n').map((line) => JSON.parse(line) as { docs?: string });
    expect(records).toHaveLength(2);
    for (const record of records) expectResolves(record.docs as string, '/srv/app', docsRef(cause));

    const status = gaveUpLines({ at: new Date(0).toISOString(), reason: 'giving up', restarts: 0, lastExit: { ...exit, at: new Date(0).toISOString() } } as never, 0, '/srv/app');
    expect(status.at(-1)).toMatch(/^docs: /);
    expectResolves(refsIn(status.join('\n'))[0] as string, '/srv/app', docsRef(cause));
  });

  it('an expected exit (a requested stop) carries no docs reference', () => {
    const json = captured('/');
    new JsonRenderer(json.io, { name: 'api' }).handle({ type: 'exited', instance: 1, pid: 42, exit: exitOf('killed'), expected: true });
    expect(JSON.parse(json.out()) as Record<string, unknown>).not.toHaveProperty('docs');
  });
});
