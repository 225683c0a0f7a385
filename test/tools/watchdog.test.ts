/**
 * The test watchdog (test/helpers/watchdog.ts): a test file stuck in a loop that never yields is
 * killed and reported, and the run ends, instead of waiting for CI's limit. Runs a real vitest on
 * a fixture that busy-loops, with the watchdog's limit lowered to 2 s.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { assertAllGone } from '../helpers/processes.js';

const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
const CONFIG = fileURLToPath(new URL('../fixtures/watchdog/vitest.config.ts', import.meta.url));

it('a test whose event loop never turns: its process is killed with the test named, and the run ends failed', async () => {
  const child = spawn(process.execPath, [VITEST, 'run', '--config', CONFIG, '--reporter', 'default', '--color', 'false'], {
    env: { ...process.env, NAIJA_SUP_TEST_WATCHDOG_S: '2', NAIJA_SUP_COVERAGE_DIR: '', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(code, output).not.toBe(0);
  expect(output).toMatch(/\[test watchdog\] the event loop of this test process has not turned for \d+ s while running: stuck\.fixture\.ts > spins forever/);
  // Where it was stuck: the busy loop's line in the fixture.
  expect(output).toMatch(/the main thread's stack [^\n]*\n(.*\n)*? +at .*stuck\.fixture\.ts:\d+/);
  const killed = /killing the process \(pid (\d+)\)/.exec(output);
  expect(killed, output).not.toBeNull();
  await assertAllGone([Number(killed![1]), child.pid!], 5_000);
}, 45_000);
