/**
 * No document in the repository points outside it, and none points at nothing: every Markdown
 * link in a tracked .md file is relative, resolves to a file inside the repository, and, when it
 * names an anchor in a Markdown file, to a heading that exists there (GitHub's slugs).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { headings, links, read } from './markdown.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((file) => file !== '' && !file.startsWith('node_modules/') && existsSync(join(ROOT, file)));

function anchorsOf(file: string): Set<string> {
  return new Set(headings(read(file)).map((h) => h.anchor));
}

describe('links between the repository\'s documents', () => {
  it('finds the documents', () => {
    expect(DOCS).toEqual(expect.arrayContaining(['README.md', 'docs/troubleshooting.md', 'docs/runbook.md']));
  });

  it.each(DOCS)('%s: every link is relative, inside the repository, and resolves', (doc) => {
    const from = join(ROOT, doc);
    for (const target of links(read(from))) {
      expect(target, `${doc} → ${target}`).not.toMatch(/^[a-z][a-z0-9+.-]*:/i); // no URL: the docs stand alone
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const file = path === '' ? from : resolve(dirname(from), decodeURIComponent(path));
      expect(relative(ROOT, file).startsWith('..'), `${doc} → ${target} leaves the repository`).toBe(false);
      expect(existsSync(file), `${doc} → ${target}`).toBe(true);
      if (anchor !== undefined && file.endsWith('.md')) expect(anchorsOf(file), `${doc} → ${target}`).toContain(anchor);
    }
  });

  it('the checker catches a link that leaves the repository or a missing anchor', () => {
    expect(links('see [x](../shared/a.md) and `[y](z.md)` in code')).toEqual(['../shared/a.md']);
    expect(anchorsOf(join(ROOT, 'docs/runbook.md'))).not.toContain('no-such-procedure');
  });
});
