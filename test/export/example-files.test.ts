/**
 * The example API ships its deployment files, and they must stay identical to what
 * `naija-sup export` writes from its config (run in-process through the CLI's `run`). To regenerate:
 *   UPDATE_DEPLOY=1 npx vitest run test/export/example-files.test.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/express-api/', import.meta.url));

/** file in the example → the export command that writes it. */
const FILES: Array<[string, string[]]> = [
  ['Dockerfile', ['export', 'dockerfile']],
  ['railway.json', ['export', 'railway']],
  ['deploy/express-api.service', ['export', 'systemd', '--workdir', '/srv/express-api']],
  ['deploy/kubernetes.yaml', ['export', 'kubernetes']],
];

async function exported(argv: string[]): Promise<string> {
  let out = '';
  let err = '';
  // A clean environment: nothing but the config file decides (PORT in the test's own env would not).
  const status = await run(argv, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; }, env: {}, cwd: EXAMPLE, isTTY: false });
  expect(err).toBe('');
  expect(status).toBe(0);
  return out;
}

describe('the example API\'s deployment files', () => {
  for (const [file, argv] of FILES) {
    it(`${file} is \`naija-sup ${argv.join(' ')}\`'s output`, async () => {
      const expected = await exported(argv);
      const path = `${EXAMPLE}${file}`;
      if (process.env['UPDATE_DEPLOY'] === '1') await writeFile(path, expected);
      const actual = await readFile(path, 'utf8').catch(() => `(${file} is missing)`);
      expect(actual, 'regenerate with: UPDATE_DEPLOY=1 npx vitest run test/export/example-files.test.ts').toBe(expected);
    });
  }
});
