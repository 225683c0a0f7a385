/**
 * `runtime`: the node running naija-sup against naija-sup's own `engines`, and the node that runs
 * the app (the command's node, probed in the app's directory) against the app's `engines`; the
 * platform, CPU and C library, which decide which native binaries can load.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { satisfiesRange } from '../engines.js';
import { isNodeBinaryName } from '../executables.js';
import { describeProbeFailure } from './probe-failure.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';
import { packagePath } from '../../package-root.js';

/** `engines.node` of a package.json; null when absent or unreadable. */
export function readEnginesNode(packageJsonPath: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { engines?: { node?: unknown } };
    return typeof pkg.engines?.node === 'string' ? pkg.engines.node : null;
  } catch {
    return null;
  }
}


/** The C library of the node running naija-sup, from its diagnostic report header. */
function ownLibc(): string {
  if (process.platform !== 'linux') return process.platform;
  // excludeNetwork exists since Node 20.13; @types/node 20 does not declare it yet.
  const report = process.report as NodeJS.ProcessReport & { excludeNetwork?: boolean };
  const previous = report.excludeNetwork;
  try {
    // The network part of the report (open sockets, DNS) is the slow part and says nothing about libc.
    report.excludeNetwork = true;
    const header = (report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    return header?.glibcVersionRuntime === undefined ? 'musl' : `glibc ${header.glibcVersionRuntime}`;
  } catch {
    return 'unknown libc';
  } finally {
    report.excludeNetwork = previous;
  }
}

/** Whether the app runs on node: its command starts with a node binary, or it has a package.json. */
export function isNodeApp(ctx: Pick<DoctorContext, 'app'>): boolean {
  const first = ctx.app.command[0];
  if (first !== undefined && isNodeBinaryName(first)) return true;
  return existsSync(join(ctx.app.cwd, 'package.json'));
}

export const runtimeCheck: Check = {
  id: 'runtime',
  title: 'runtime',
  async run(ctx: DoctorContext): Promise<CheckOutcome> {
    // Start the app's node first: the rest of this check is synchronous and runs meanwhile.
    const appProbe = isNodeApp(ctx) ? ctx.nodeProbe() : null;
    const details: string[] = [];
    const problems: CheckOutcome[] = [];
    const ownVersion = process.versions.node;
    const ownRange = readEnginesNode(packagePath('package.json'));
    const ownLine = (libc: string): string => `naija-sup runs on node ${ownVersion} (${process.execPath}), ${process.platform} ${process.arch}, ${libc}`;
    details.push(ownLine('…'));
    if (ownRange !== null) {
      const ok = satisfiesRange(ownVersion, ownRange);
      details.push(`naija-sup needs node ${ownRange}: ${ok === undefined ? 'cannot evaluate' : ok ? 'yes' : 'NO'}`);
      if (ok === false) {
        problems.push({
          status: 'fail',
          summary: `naija-sup needs node ${ownRange}, but runs on ${ownVersion}`,
          fix: `Install a node that satisfies ${ownRange} (e.g. \`nvm install 20\`) and run naija-sup with it.`,
        });
      }
    }

    let appSummary = '';
    // The same binary has the same libc: reuse the probe's answer instead of a second report here.
    let sameBinaryLibc: string | null = null;
    if (appProbe !== null) {
      const run = await appProbe;
      if (run.kind === 'ok' && run.report.execPath === process.execPath && run.report.libc !== null) {
        sameBinaryLibc = run.report.glibc === null ? run.report.libc : `${run.report.libc} ${run.report.glibc}`;
      }
      if (run.kind !== 'ok') {
        const failure = describeProbeFailure(run, "the app's node");
        problems.push({ status: 'fail', summary: failure.summary, fix: failure.fix });
        details.push(...failure.details);
      } else {
        const report = run.report;
        const libc = report.libc === null ? '' : `, ${report.libc}${report.glibc === null ? '' : ` ${report.glibc}`}`;
        details.push(`the app runs on node ${report.node} (${report.execPath}), ABI ${report.modules}, N-API ${report.napi ?? 'none'}, ${report.platform} ${report.arch}${libc}`);
        appSummary = `, the app's node ${report.node} (${report.platform} ${report.arch}${libc})`;
        const appRange = readEnginesNode(join(ctx.app.cwd, 'package.json'));
        if (appRange !== null) {
          const ok = satisfiesRange(report.node, appRange);
          details.push(`the app needs node ${appRange}: ${ok === undefined ? 'cannot evaluate' : ok ? 'yes' : 'NO'}`);
          if (ok === false) {
            problems.push({
              status: 'warn',
              summary: `the app's package.json wants node ${appRange}, but its node is ${report.node}`,
              fix: `Run the app with a node that satisfies ${appRange} (put it first on PATH, or make the command's first word its full path).`,
            });
          }
        }
      }
    }
    details[0] = ownLine(sameBinaryLibc ?? ownLibc());
    const worst = problems.find((p) => p.status === 'fail') ?? problems[0];
    if (worst !== undefined) return { ...worst, details };
    return { status: 'ok', summary: `naija-sup's node ${ownVersion}${appSummary}`, details };
  },
};
