/**
 * `bcrypt-node`: does the app's `bcrypt` load and hash correctly in the app's own node?
 *
 * The probe (probes/node-probe.ts) runs with the node that runs the server, in the app's directory.
 * A load failure is classified with the shared failure table (src/failures.ts, N1–N9): first from
 * the binary's header, which tells a Mach-O, a PE, a 32-bit, a foreign-CPU and a musl binary apart
 * where dlopen's messages do not (research failures-and-ports.md §1b), then from the error text.
 * A working bcrypt gets the self-test: round trip at cost 4, a known answer, the 72-byte behaviour
 * and `$2y$`; bcryptjs, if present, is the fallback BCRYPT_FALLBACK may allow.
 */
import { createRequire } from 'node:module';
import { isAbsolute, join, relative } from 'node:path';
import { failureById, matchFailure, renderFix } from '../../failures.js';
import { ARCH_BITS, describeBinaryInWords, readNativeBinary, type NativeBinaryInfo } from '../binary-header.js';
import type { NodeLibraryReport, NodeProbeReport } from '../probes/node-probe.js';
import { declaredDependencies } from '../package-json.js';
import { probeFailureOutcome } from './probe-failure.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';

/** Which of bcrypt / bcryptjs the app's package.json lists (any dependency kind). */
export function declaredBcrypt(appCwd: string): { bcrypt: boolean; bcryptjs: boolean } {
  const declared = declaredDependencies(join(appCwd, 'package.json'));
  return { bcrypt: declared?.has('bcrypt') ?? false, bcryptjs: declared?.has('bcryptjs') ?? false };
}

/** Whether `name` resolves from the app's directory (Node's algorithm, without loading it). */
function resolvesFrom(appCwd: string, name: string): boolean {
  try {
    createRequire(join(appCwd, 'naija-sup-doctor.js')).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** A native load failure, classified. */
export interface NativeLoadDiagnosis {
  /** Failure table id (N1–N8, 'native-dlopen'), or null when nothing known matches. */
  failureId: string | null;
  /** Why, in words: "…/bcrypt.glibc.node is a macOS binary (Mach-O 64-bit x86_64)". */
  explanation: string;
}

/**
 * Classifies a failed `require('bcrypt')`. The binary's header outranks the message: dlopen says
 * "invalid ELF header" for a Mach-O, a PE and garbage alike, and "No such file" for a file that
 * exists but is for another CPU.
 */
export function classifyNativeLoad(
  error: { code: string | null; message: string },
  binary: NativeBinaryInfo | null,
  bindingName: string | null,
  runtime: Pick<NodeProbeReport, 'platform' | 'arch' | 'libc'>,
): NativeLoadDiagnosis {
  const file = bindingName ?? 'the binding';
  if (binary !== null) {
    const what = `${file} is ${describeBinaryInWords(binary)}`;
    const here = `this node is ${runtime.platform} ${runtime.arch}${runtime.libc === null ? '' : ` (${runtime.libc})`}`;
    if (binary.format === 'mach-o') return { failureId: 'N2', explanation: `${what}: node_modules came from a Mac; ${here}` };
    if (binary.format === 'pe') return { failureId: 'N2', explanation: `${what}: node_modules came from Windows; ${here}` };
    if (binary.format === 'unknown') return { failureId: 'N2', explanation: what };
    if (binary.format === 'elf' && runtime.platform === 'linux') {
      const wantBits = ARCH_BITS[runtime.arch];
      if (binary.bits !== undefined && wantBits !== undefined && binary.bits !== wantBits) {
        return { failureId: 'N3', explanation: `${what}, but ${here} (${wantBits}-bit)` };
      }
      if (binary.arch !== undefined && binary.arch !== runtime.arch) {
        return {
          failureId: 'N4',
          explanation: `${what}: built for ${binary.arch}, but ${here} (dlopen's "No such file or directory" is misleading: the file exists)`,
        };
      }
      if (binary.libc === 'musl' && runtime.libc === 'glibc') return { failureId: 'N5', explanation: `${what}: built for musl (Alpine), but ${here}` };
      if (binary.libc === 'glibc' && runtime.libc === 'musl') return { failureId: 'N6', explanation: `${what}: built for glibc, but ${here}` };
    }
  }
  const found = matchFailure(error.message.split(/\r?\n/), { fatalOnly: true });
  const nativeIds = new Set(['N1', 'N2', 'N3', 'N4', 'N5', 'N6', 'N7', 'N8', 'native-dlopen']);
  if (found !== null && nativeIds.has(found.failure.id)) {
    return { failureId: found.failure.id, explanation: firstLine(error.message) };
  }
  if (error.code === 'ERR_DLOPEN_FAILED') return { failureId: 'native-dlopen', explanation: firstLine(error.message) };
  return { failureId: null, explanation: firstLine(error.message) };
}

function firstLine(text: string): string {
  return text.replace(/\r?\n[\s\S]*$/, '');
}

/** Everything the verdict depends on (all gathered before; the verdict itself is pure). */
export interface BcryptNodeFacts {
  report: NodeProbeReport;
  declared: { bcrypt: boolean; bcryptjs: boolean };
  /** BCRYPT_FALLBACK (or config bcrypt.fallback) lets the app run on bcryptjs. */
  fallbackAllowed: boolean;
  /** The header of the binding that failed to load, when there is one to read. */
  binary: NativeBinaryInfo | null;
  /** The app's directory, to show paths relative to it. */
  appCwd: string;
}

/** The binary a failed load names: node-gyp-build's choice, else a `.node` path in the message. */
export function failedBindingPath(library: NodeLibraryReport): string | null {
  if (typeof library.binding === 'string') return library.binding;
  const match = /(\/[^\s:'"]+\.node)\b/.exec(library.loadError?.message ?? '');
  return match?.[1] ?? null;
}

function shortPath(path: string, appCwd: string): string {
  const rel = relative(appCwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The self-test's findings as detail lines, and the problem it found if any. */
function selfTestVerdict(lib: NodeLibraryReport): { lines: string[]; problem: CheckOutcome | null } {
  const lines: string[] = [];
  let problem: CheckOutcome | null = null;
  const name = lib.name;
  if (lib.roundTripError !== undefined || lib.roundTrip !== true) {
    const why = lib.roundTripError?.message ?? 'verify gave the wrong answer';
    problem = {
      status: 'fail',
      summary: `${name} loads but its hash/verify round trip fails: ${firstLine(why)}`,
      fix: `Reinstall it with the node that runs the server: \`npm rebuild ${name}\` (or \`npm ci\`).`,
    };
  } else {
    lines.push(`self-test: hash + verify at cost 4 ok (${lib.prefix ?? '?'}…), wrong password rejected`);
  }
  if (lib.knownAnswer === true) lines.push('known-answer vector ("U*U", $2a$05$) ok');
  else if (problem === null) {
    problem = {
      status: 'fail',
      summary: `${name} computes a wrong hash for a known-answer vector: a broken build`,
      details: lib.knownAnswerError === undefined ? [] : [lib.knownAnswerError.message],
      fix: `Reinstall it: \`npm rebuild ${name}\` (or \`npm ci\`).`,
    };
  }
  if (lib.over72 === 'truncates') {
    lines.push('72-byte limit: longer passwords are cut to 72 bytes silently; reject > 72 UTF-8 bytes at the API edge');
  } else if (lib.over72 === 'raises') {
    lines.push(`72-byte limit: passwords over 72 bytes throw (${lib.over72Error?.message ?? 'error'}); reject them at the API edge`);
  } else if (lib.over72 === 'distinct') {
    lines.push('72-byte limit: not applied (bytes after 72 count) — unusual for bcrypt');
  }
  if (lib.accepts2y === false) lines.push('$2y$ (PHP) hashes do not verify: rewrite the prefix to $2b$ before comparing');
  else if (lib.accepts2y === true) lines.push('$2y$ (PHP) hashes verify');
  return { lines, problem };
}

/** What a native failure's verdict says about the bcryptjs fallback, and the lines gathered so far. */
interface FallbackState {
  jsWorks: boolean;
  jsVersion: string | null;
  fallbackAllowed: boolean;
  fallbackLine: string;
  details: string[];
}

/** A native failure: fail, or warn when the app can run on bcryptjs. */
function nativeProblem(fallback: FallbackState, failureId: string | null, summary: string, extra: string[]): CheckOutcome {
  const { jsWorks, jsVersion, fallbackAllowed } = fallback;
  const entry = failureId === null ? undefined : failureById(failureId);
  let fix = entry === undefined ? 'Reinstall dependencies with the node that runs the server: `npm ci` (or `npm rebuild bcrypt`).' : renderFix(entry.fix, { module: 'bcrypt' });
  const all = [...extra, ...fallback.details, fallback.fallbackLine];
  if (jsWorks && fallbackAllowed) {
    return {
      status: 'warn',
      summary: `${summary}; the app will run on bcryptjs (BCRYPT_FALLBACK), slower`,
      details: all,
      fix,
      ...(failureId === null ? {} : { failureId }),
    };
  }
  if (jsWorks) fix += ` Meanwhile BCRYPT_FALLBACK=true lets the app run on bcryptjs ${jsVersion ?? ''} (slower).`.replace('  ', ' ');
  return { status: 'fail', summary, details: all, fix, ...(failureId === null ? {} : { failureId }) };
}

/** An app with bcryptjs and no native bcrypt (none declared): bcryptjs's own verdict. */
function assessBcryptjsOnly(facts: BcryptNodeFacts): CheckOutcome {
  const js = facts.report.bcryptjs;
  if (!js.loaded) {
    const why = js.loadError?.message ?? js.resolveError?.message ?? 'not installed';
    return {
      status: 'fail',
      summary: `bcryptjs cannot be loaded: ${firstLine(why)}`,
      fix: 'Install dependencies in the app directory: `npm install`.',
      failureId: 'module-not-found-node',
    };
  }
  const verdict = selfTestVerdict(js);
  const lines = [`bcryptjs ${js.version ?? '?'} from ${js.dir === null ? '?' : shortPath(js.dir, facts.appCwd)} (pure JavaScript, no native binding)`, ...verdict.lines];
  if (verdict.problem !== null) return { ...verdict.problem, details: lines };
  return { status: 'ok', summary: `bcryptjs ${js.version ?? ''} works (pure JavaScript; no native bcrypt)`.replace('  ', ' '), details: lines };
}

/** A native bcrypt that resolves but does not load: why (the binary, the runtime), and the fix. */
function nativeLoadFailure(facts: BcryptNodeFacts, fallback: FallbackState): CheckOutcome {
  const native = facts.report.bcrypt;
  const error = native.loadError ?? { code: null, message: 'unknown error' };
  const bindingPath = failedBindingPath(native);
  const bindingName = bindingPath === null ? null : shortPath(bindingPath, facts.appCwd);
  const diagnosis = classifyNativeLoad(error, facts.binary, bindingName, facts.report);
  const entry = diagnosis.failureId === null ? undefined : failureById(diagnosis.failureId);
  const extra = [`error: ${firstLine(error.message)}${error.code === null ? '' : ` (${error.code})`}`];
  if (diagnosis.explanation !== firstLine(error.message)) extra.push(diagnosis.explanation);
  // The header's verdict already describes the binary; otherwise show what it is anyway.
  if (bindingName !== null && facts.binary !== null && !diagnosis.explanation.includes(describeBinaryInWords(facts.binary))) {
    extra.push(`binary: ${bindingName}, ${facts.binary.size} bytes, ${describeBinaryInWords(facts.binary)}`);
  }
  const title = entry?.title ?? 'The native bcrypt binding cannot be loaded';
  return nativeProblem(fallback, diagnosis.failureId, `bcrypt cannot load: ${lowerFirst(title)}${diagnosis.failureId === null ? '' : ` (${diagnosis.failureId})`}`, extra);
}

/** The verdict for the facts. Pure. */
export function assessBcryptNode(facts: BcryptNodeFacts): CheckOutcome {
  const { report, declared, fallbackAllowed } = facts;
  const native = report.bcrypt;
  const js = report.bcryptjs;
  const details: string[] = [];
  // bcryptjs gets the full self-test only when the native bcrypt does not load; otherwise the
  // cross-check (each verifies the other's hash) is what shows it works.
  const jsWorks = js.loaded && ((js.roundTrip === true && js.knownAnswer === true) || report.crossCheck === true);
  const fallbackWords = fallbackAllowed ? 'allowed by BCRYPT_FALLBACK' : 'not allowed (BCRYPT_FALLBACK is off)';
  const fallbackLine = js.loaded
    ? `bcryptjs ${js.version ?? ''} is installed as a fallback: ${jsWorks ? 'works' : 'BROKEN'}, ${fallbackWords}`.replace('  ', ' ')
    : 'no bcryptjs fallback installed';
  const fallback: FallbackState = { jsWorks, jsVersion: js.version ?? null, fallbackAllowed, fallbackLine, details };

  if (native.resolved === null) {
    if (declared.bcrypt) {
      return nativeProblem(fallback, 'N9', `bcrypt is listed in package.json but not installed (Cannot find module 'bcrypt')`, [`resolved from: ${facts.appCwd}`]);
    }
    return assessBcryptjsOnly(facts);
  }

  details.push(`bcrypt ${native.version ?? '?'} from ${shortPath(native.dir ?? native.resolved, facts.appCwd)}`);
  details.push(`node ${report.node} (ABI ${report.modules}, N-API ${report.napi ?? 'none'}) on ${report.platform} ${report.arch}${report.libc === null ? '' : ` ${report.libc}`}`);
  if (!native.loaded) return nativeLoadFailure(facts, fallback);

  if (typeof native.binding === 'string') details.push(`binding: ${shortPath(native.binding, facts.appCwd)}`);
  const verdict = selfTestVerdict(native);
  details.push(...verdict.lines, fallbackLine);
  if (js.loaded) {
    if (report.crossCheck === true) details.push('bcrypt and bcryptjs verify each other\'s hashes');
    else if (report.crossCheck === false || report.crossCheckError !== undefined) details.push('bcrypt and bcryptjs do NOT verify each other\'s hashes');
  }
  if (verdict.problem !== null) return { ...verdict.problem, details };
  return {
    status: 'ok',
    summary: `bcrypt ${native.version ?? ''} loads and hashes correctly in the app's node ${report.node}`.replace('  ', ' '),
    details,
  };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Whether BCRYPT_FALLBACK is on in the app's environment or config. */
export function fallbackAllowed(ctx: Pick<DoctorContext, 'app' | 'loaded'>): boolean {
  if (ctx.loaded?.config.bcrypt.fallback === true) return true;
  const raw = (ctx.app.env['BCRYPT_FALLBACK'] ?? ctx.app.env['NAIJA_SUP_BCRYPT_FALLBACK'] ?? '').trim().toLowerCase();
  return raw === 'true' || raw === '1' || raw === 'yes';
}

export const bcryptNodeCheck: Check = {
  id: 'bcrypt-node',
  title: 'bcrypt (Node)',
  async run(ctx: DoctorContext): Promise<CheckOutcome> {
    const declared = declaredBcrypt(ctx.app.cwd);
    const uses = declared.bcrypt || declared.bcryptjs || resolvesFrom(ctx.app.cwd, 'bcrypt') || resolvesFrom(ctx.app.cwd, 'bcryptjs');
    if (!uses) return { status: 'skip', summary: 'the app does not use bcrypt or bcryptjs' };
    const run = await ctx.nodeProbe();
    if (run.kind !== 'ok') return probeFailureOutcome(run, "the app's node");
    const native = run.report.bcrypt;
    const bindingPath = native.loaded ? null : failedBindingPath(native);
    return assessBcryptNode({
      report: run.report,
      declared,
      fallbackAllowed: fallbackAllowed(ctx),
      binary: bindingPath === null ? null : readNativeBinary(bindingPath),
      appCwd: ctx.app.cwd,
    });
  },
};
