/**
 * `bcrypt-python`: passlib and bcrypt in the app's own Python (research failures-and-ports.md §1a).
 *
 * - P1 (warn): passlib 1.7.4 + bcrypt 4.1–4.3 → "(trapped) error reading bcrypt version", harmless.
 * - P2 (fail): passlib 1.7.4 + bcrypt ≥ 5 → "password cannot be longer than 72 bytes" on EVERY hash.
 * - P3 (fail): no bcrypt backend at all → MissingBackendError; (warn) when passlib silently falls
 *   back to os_crypt, which Python 3.13 removed.
 * The probe's observed behaviour decides; versions back it up (and explain it). The fixes name the
 * nuance the seed project missed: only bcrypt 4.0.1 is silent, 4.1–4.3 still warn, 5.x breaks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failureById, renderFix } from '../../failures.js';
import { commandInterpreter, findAppPython, type PythonCandidate } from '../executables.js';
import { parseVersion } from '../engines.js';
import { runPythonProbe, type PythonError, type PythonProbeReport } from '../probes/python-probe.js';
import { probeFailureOutcome } from './probe-failure.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';

/** A requirement on bcrypt, passlib or libpass found in the app's files. */
export interface Requirement {
  name: 'bcrypt' | 'passlib' | 'libpass';
  /** The specifier as written: "==4.1.2", ">=1.7", "" for none. */
  spec: string;
  /** "requirements.txt", "pyproject.toml"… */
  file: string;
}

const REQUIREMENT_FILES = ['requirements.txt', 'requirements.in', 'requirements-prod.txt', 'pyproject.toml', 'Pipfile', 'setup.cfg'];

/** The bcrypt/passlib/libpass requirements named in the app's requirement files. */
export function readRequirements(appCwd: string): Requirement[] {
  const found: Requirement[] = [];
  for (const file of REQUIREMENT_FILES) {
    let text: string;
    try {
      text = readFileSync(join(appCwd, file), 'utf8');
    } catch {
      continue;
    }
    for (const rawLine of text.split(/\r?\n/)) {
      const line = rawLine.replace(/(^|\s)#.*$/, '');
      // requirements.txt / PEP 508 strings in pyproject ("passlib[bcrypt]==1.7.4") / Poetry & Pipfile (bcrypt = "^4.1").
      const pattern = /(?:^|["'\s,[])(bcrypt|passlib|libpass)(\[[^\]]*\])?\s*(?:=\s*["']([^"']*)["']|((?:[=<>!~]=?|===)\s*[\w.*]+(?:\s*,\s*(?:[=<>!~]=?)\s*[\w.*]+)*))?/gi;
      for (const match of line.matchAll(pattern)) {
        const name = (match[1] ?? '').toLowerCase() as Requirement['name'];
        const spec = (match[3] ?? match[4] ?? '').replace(/\s+/g, '');
        found.push({ name, spec, file });
      }
    }
  }
  return found;
}

function versionAtLeast(version: string | null | undefined, major: number, minor = 0): boolean {
  const parts = version === null || version === undefined ? null : parseVersion(/^\d+\.\d+$/.test(version) ? `${version}.0` : version);
  if (parts === null) return false;
  return parts[0] > major || (parts[0] === major && parts[1] >= minor);
}

const TOO_LONG = /password cannot be longer than 72 bytes/;

function isError(error: PythonError | undefined, type: RegExp | null, message: RegExp | null): boolean {
  if (error === undefined) return false;
  return (type === null || type.test(error.type)) && (message === null || message.test(error.message));
}

/** The facts the verdict depends on (all gathered before; the verdict itself is pure). */
export interface BcryptPythonFacts {
  report: PythonProbeReport;
  interpreter: PythonCandidate;
  requirements: Requirement[];
}

/** The pip command for the interpreter, with a shell-safe requirement. */
function pip(interpreter: PythonCandidate, requirement: string): string {
  return `\`${interpreter.path} -m pip install '${requirement}'\``;
}

/** The versions the verdicts name, as the probe and pip metadata report them. */
interface Versions {
  passlibVersion: string | null;
  bcryptVersion: string | null;
  /** "libpass" when the maintained fork is installed, else "passlib". */
  passlibName: string;
  /** passlib 1.7.x (not libpass): the release that breaks on bcrypt ≥ 4.1. */
  oldPasslib: boolean;
}

function versionsOf(report: PythonProbeReport): Versions {
  const libpass = report.versions.libpass;
  const passlibVersion = libpass ?? report.versions.passlib ?? report.passlib.version ?? null;
  return {
    passlibVersion,
    bcryptVersion: report.bcrypt.imported ? (report.bcrypt.version ?? report.versions.bcrypt) : null,
    passlibName: libpass !== null ? 'libpass' : 'passlib',
    oldPasslib: libpass === null && passlibVersion !== null && /^1\.7\./.test(passlibVersion),
  };
}

/** The detail lines every verdict shows: interpreter, bcrypt and passlib as found, requirements. */
function baseDetails({ report, interpreter, requirements }: BcryptPythonFacts, v: Versions): string[] {
  const b = report.bcrypt;
  const p = report.passlib;
  const details: string[] = [`python ${report.python} (${interpreter.path}, from ${interpreter.source})`];
  details.push(
    b.imported
      ? `bcrypt ${v.bcryptVersion ?? '?'}${b.hasAbout === false ? ' (no bcrypt.__about__)' : ''} from ${b.file ?? '?'}`
      : `bcrypt: not importable${b.error === undefined ? '' : ` (${b.error.type}: ${b.error.message})`}${report.versions.bcrypt === null ? '' : `; pip metadata says ${report.versions.bcrypt}`}`,
  );
  details.push(p.imported ? `${v.passlibName} ${v.passlibVersion ?? '?'}${p.backend === undefined ? '' : `, backend ${p.backend}`}` : 'passlib: not installed');
  if (b.imported) {
    if (b.over72 === 'raises') details.push('bcrypt raises on passwords over 72 bytes (bcrypt ≥ 5): reject them at the API edge (P4)');
    else if (b.over72 === 'truncates') details.push('bcrypt cuts passwords to 72 bytes silently');
    if (b.accepts2y === true) details.push('$2y$ (PHP) hashes verify (bcrypt normalises them to $2b$)');
    if (b.knownAnswer === true) details.push('known-answer vector ("U*U", $2a$05$) ok');
  }
  for (const requirement of requirements) details.push(`${requirement.file}: ${requirement.name}${requirement.spec}`);
  return details;
}

/** passlib is not importable: either a requirement is not installed, or bcrypt stands alone. */
function withoutPasslib({ report, interpreter, requirements }: BcryptPythonFacts, v: Versions, details: string[]): CheckOutcome {
  const b = report.bcrypt;
  const wantsPasslib = requirements.find((r) => r.name === 'passlib' || r.name === 'libpass');
  if (wantsPasslib !== undefined) {
    return {
      status: 'fail',
      summary: `${wantsPasslib.file} names ${wantsPasslib.name}, but ${interpreter.path} cannot import it`,
      details,
      fix: /\.(txt|in)$/.test(wantsPasslib.file)
        ? `Install the app's requirements into this interpreter: \`${interpreter.path} -m pip install -r ${wantsPasslib.file}\` (or activate the app's venv).`
        : `Install it into this interpreter: ${pip(interpreter, wantsPasslib.name === 'libpass' ? 'libpass' : 'passlib==1.7.4')} (or activate the app's venv).`,
      failureId: 'module-not-found-python',
    };
  }
  if (!b.imported) {
    if (requirements.some((r) => r.name === 'bcrypt')) {
      return {
        status: 'fail',
        summary: `the app requires bcrypt, but ${interpreter.path} cannot import it`,
        details,
        fix: `Install it into the app's environment: ${pip(interpreter, 'bcrypt<5')}.`,
        failureId: 'module-not-found-python',
      };
    }
    return { status: 'skip', summary: `neither passlib nor bcrypt is installed for ${interpreter.path}`, details };
  }
  return bcryptAlone(interpreter, report.bcrypt, v, details);
}

/** bcrypt without passlib: does it hash, and does it raise on long passwords (P4)? */
function bcryptAlone(interpreter: PythonCandidate, b: PythonProbeReport['bcrypt'], v: Versions, details: string[]): CheckOutcome {
  const { bcryptVersion } = v;
  if (b.roundTripError !== undefined || b.roundTrip !== true || b.knownAnswer !== true) {
    return {
      status: 'fail',
      summary: `bcrypt ${bcryptVersion ?? ''} imports but does not hash correctly${b.roundTripError === undefined ? '' : `: ${b.roundTripError.message}`}`.replace('  ', ' '),
      details,
      fix: `Reinstall it: ${pip(interpreter, 'bcrypt<5')} --force-reinstall.`,
    };
  }
  if (b.over72 === 'raises') {
    return {
      status: 'warn',
      summary: `bcrypt ${bcryptVersion ?? ''} works, but raises ValueError for passwords over 72 bytes: a long password becomes a 500 unless the app checks its length (P4)`.replace('  ', ' '),
      details,
      fix: failureById('P4')?.fix ?? '',
      failureId: 'P4',
    };
  }
  return { status: 'ok', summary: `bcrypt ${bcryptVersion ?? ''} works (no passlib)`.replace('  ', ' '), details };
}

/** What the passlib probe observed: P1's log line, P2's "longer than 72 bytes", P3's missing backend. */
interface PasslibSigns {
  p1Seen: boolean;
  p2Seen: boolean;
  p3Seen: boolean;
}

/** The failure table's fix for a known failure. */
function table(id: string): string {
  return failureById(id)?.fix ?? '';
}

/** The advice to change a pinned bcrypt requirement too, when the app pins one. */
function pinNote(requirements: Requirement[], target: string): string {
  const pinnedBcrypt = requirements.find((r) => r.name === 'bcrypt' && r.spec !== '');
  return pinnedBcrypt === undefined ? '' : ` and change ${pinnedBcrypt.file} (bcrypt${pinnedBcrypt.spec}) to ${target}`;
}

/** passlib imports but cannot hash: P2, P3, or another hash/verify failure. Undefined when it hashes. */
function passlibBroken({ report, interpreter, requirements }: BcryptPythonFacts, v: Versions, signs: PasslibSigns, details: string[]): CheckOutcome | undefined {
  const p = report.passlib;
  if (signs.p2Seen || (v.oldPasslib && versionAtLeast(v.bcryptVersion, 5))) {
    return {
      status: 'fail',
      summary: `${v.passlibName} ${v.passlibVersion ?? ''} cannot use bcrypt ${v.bcryptVersion ?? '≥ 5'}: every hash and verify raises "password cannot be longer than 72 bytes" (P2)`.replace('  ', ' '),
      details,
      fix: `${table('P2')} Here: ${pip(interpreter, 'bcrypt==4.0.1')}${pinNote(requirements, 'bcrypt==4.0.1')} (or ${pip(interpreter, 'bcrypt<5')}, which still logs P1, or ${pip(interpreter, 'libpass>=1.9.2')}).`,
      failureId: 'P2',
    };
  }
  if (signs.p3Seen) {
    return {
      status: 'fail',
      summary: `passlib finds no bcrypt backend: the first hash raises MissingBackendError (P3)`,
      details,
      fix: `${renderFix(table('P3'))} Here: ${pip(interpreter, 'bcrypt<5')}.`,
      failureId: 'P3',
    };
  }
  if (p.roundTripError !== undefined || p.roundTrip !== true) {
    const why = p.roundTripError === undefined ? 'verify gave the wrong answer' : `${p.roundTripError.type}: ${p.roundTripError.message}`;
    return {
      status: 'fail',
      summary: `passlib's bcrypt hash/verify fails: ${why}`,
      details,
      fix: `Reinstall bcrypt and passlib in the app's environment: ${pip(interpreter, 'bcrypt==4.0.1')} and ${pip(interpreter, 'passlib==1.7.4')} (or move to libpass).`,
    };
  }
  return undefined;
}

/** passlib hashes: ok, or a warning for P1's log line or a fallback backend that newer Pythons lack. */
function passlibWorking({ report, interpreter, requirements }: BcryptPythonFacts, v: Versions, signs: PasslibSigns, details: string[]): CheckOutcome {
  const b = report.bcrypt;
  const p = report.passlib;
  if (signs.p1Seen || (v.oldPasslib && versionAtLeast(v.bcryptVersion, 4, 1))) {
    return {
      status: 'warn',
      summary: `passlib ${v.passlibVersion ?? ''} + bcrypt ${v.bcryptVersion ?? ''}: hashing works, but passlib logs "(trapped) error reading bcrypt version" (P1, harmless)`.replace(/ {2,}/g, ' '),
      details,
      fix: `${table('P1')} Here: ${pip(interpreter, 'bcrypt==4.0.1')}${pinNote(requirements, 'bcrypt==4.0.1')} — 4.0.1 is the last silent release; 4.1–4.3 keep warning and 5.x breaks passlib 1.7.4.`,
      failureId: 'P1',
    };
  }
  if (!b.imported && p.backend !== undefined && p.backend !== 'bcrypt') {
    return {
      status: 'warn',
      summary: `bcrypt is not importable, so passlib falls back to its ${p.backend} backend (gone on Python ≥ 3.13 and macOS: MissingBackendError there)`,
      details,
      fix: `Install bcrypt into the app's environment: ${pip(interpreter, 'bcrypt==4.0.1')}.`,
      failureId: 'P3',
    };
  }
  return {
    status: 'ok',
    summary: `${v.passlibName} ${v.passlibVersion ?? ''} + bcrypt ${v.bcryptVersion ?? ''} (backend ${p.backend ?? '?'}): hash and verify work`.replace(/ {2,}/g, ' '),
    details,
  };
}

/** passlib imports: read the probe's signs, add what they show to the details, then judge. */
function withPasslib(facts: BcryptPythonFacts, v: Versions, details: string[]): CheckOutcome {
  const p = facts.report.passlib;
  const signs: PasslibSigns = {
    p1Seen: (p.log ?? []).some((entry) => /error reading bcrypt version/.test(entry.message) || /has no attribute '__about__'/.test(entry.exception?.message ?? '')),
    p2Seen: isError(p.roundTripError, null, TOO_LONG) || isError(p.backendError, null, TOO_LONG),
    p3Seen: isError(p.roundTripError, /MissingBackendError/, null) || isError(p.backendError, /MissingBackendError/, null),
  };
  if (signs.p1Seen) details.push('passlib logged: "(trapped) error reading bcrypt version" (AttributeError: module \'bcrypt\' has no attribute \'__about__\')');
  if (p.traceback !== undefined && (signs.p2Seen || signs.p3Seen)) details.push(...p.traceback.slice(-3).map((line) => `traceback: ${line.trim()}`));
  return passlibBroken(facts, v, signs, details) ?? passlibWorking(facts, v, signs, details);
}

/** The verdict for the facts. Pure. */
export function assessBcryptPython(facts: BcryptPythonFacts): CheckOutcome {
  const versions = versionsOf(facts.report);
  const details = baseDetails(facts, versions);
  return facts.report.passlib.imported ? withPasslib(facts, versions, details) : withoutPasslib(facts, versions, details);
}

/** Whether the app uses Python bcrypt/passlib: its command runs Python, or its requirement files name them. */
function appUsesPython(ctx: DoctorContext, requirements: Requirement[]): boolean {
  if (requirements.length > 0) return true;
  return commandInterpreter(ctx.app.command, ctx.app.cwd, ctx.app.env) !== null;
}

export const bcryptPythonCheck: Check = {
  id: 'bcrypt-python',
  title: 'bcrypt (Python)',
  async run(ctx: DoctorContext): Promise<CheckOutcome> {
    const requirements = readRequirements(ctx.app.cwd);
    if (!appUsesPython(ctx, requirements)) {
      return { status: 'skip', summary: 'the app does not run Python, and no requirements file names passlib or bcrypt' };
    }
    const interpreter = findAppPython(ctx.app.command, ctx.app.cwd, ctx.app.env);
    if (interpreter === null) {
      return {
        status: 'fail',
        summary: 'the app uses Python, but no interpreter was found ($VIRTUAL_ENV, .venv, venv, the command, python3 on PATH)',
        fix: 'Create the app\'s venv (`python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`) or put python3 on PATH.',
      };
    }
    const run = await runPythonProbe({
      python: interpreter.path,
      cwd: ctx.app.cwd,
      env: ctx.app.env,
      timeoutMs: ctx.probeTimeoutMs,
      signal: ctx.signal,
    });
    if (run.kind !== 'ok') return probeFailureOutcome(run, `${interpreter.path} (from ${interpreter.source})`);
    return assessBcryptPython({ report: run.report, interpreter, requirements });
  },
};
