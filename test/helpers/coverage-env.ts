/**
 * Coverage of the processes the tests spawn (issue 14): the CLI, the detached supervisor and its
 * helpers run the built dist/ in processes of their own, which the in-process v8 coverage never
 * sees. When `npm test` measures coverage (NAIJA_SUP_COVERAGE_DIR is set by vitest.config.ts),
 * every child process gets NODE_V8_COVERAGE, even one spawned with an environment of its own
 * (most tests pass a minimal `env`), and passes it on to its own children the same way Node does.
 * scripts/coverage.mjs maps what they wrote back to src/ and merges it with the in-process report.
 *
 * Every async spawn (spawn, execFile, exec, fork) goes through ChildProcess.prototype.spawn with
 * its environment already flattened to `envPairs`: the one place to add the variable.
 */
import { ChildProcess } from 'node:child_process';

const dir = process.env['NAIJA_SUP_COVERAGE_DIR'];
if (dir) {
  const proto = ChildProcess.prototype as unknown as { spawn(options: { envPairs?: string[] }): unknown; coverageWrapped?: boolean };
  if (!proto.coverageWrapped) {
    const original = proto.spawn;
    proto.spawn = function spawnWithCoverage(this: unknown, options: { envPairs?: string[] }) {
      const pairs = options.envPairs;
      if (pairs && !pairs.some((pair) => pair.startsWith('NODE_V8_COVERAGE='))) pairs.push(`NODE_V8_COVERAGE=${dir}`);
      return original.call(this, options);
    };
    proto.coverageWrapped = true;
  }
}
