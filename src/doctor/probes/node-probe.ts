/**
 * The Node probe: a CommonJS script run as `<app's node> -e <script>` in the app's directory
 * (research/failures-and-ports.md §1b, "Non-destructive Node probe"). It reports the runtime (version,
 * ABI, N-API, platform, arch, libc), then for `bcrypt` and `bcryptjs`: where they resolve from, whether
 * they load (the error's code and message when not), and a self-test: a hash/verify round trip at
 * cost 4, a known-answer vector, the 72-byte behaviour and `$2y$` compatibility (for bcryptjs only
 * when the native bcrypt does not load; otherwise a cross-check of each other's hashes).
 *
 * It only `require`s: nothing is written, installed or rebuilt. It asks node-gyp-build (bcrypt ≥ 6)
 * which binary it loads; for a binding that fails to load, doctor reads that file's header.
 *
 * The script is a string constant so that it ships inside dist/ with no extra file.
 */
import { PROBE_MARKER, runProbe, type ProbeRun } from '../probe-run.js';

/** An error as the probe reports it. */
export interface ProbeError {
  code: string | null;
  message: string;
}

/** One library's findings. */
export interface NodeLibraryReport {
  name: 'bcrypt' | 'bcryptjs';
  /** require.resolve() from the app's directory, or null. */
  resolved: string | null;
  resolveError?: ProbeError;
  /** The package directory. */
  dir: string | null;
  /** package.json version. */
  version: string | null;
  loaded: boolean;
  loadError?: ProbeError;
  /** The binary node-gyp-build loads (bcrypt ≥ 6); absent for other loaders. */
  binding?: string | null;
  bindingError?: ProbeError;
  /** A hash of the self-test password at cost 4 (for the cross-library check). */
  hash?: string;
  /** The first 7 characters of that hash: '$2b$04$' expected. */
  prefix?: string;
  roundTrip?: boolean;
  roundTripError?: ProbeError;
  knownAnswer?: boolean;
  knownAnswerError?: ProbeError;
  /** Whether a `$2y$` (PHP) variant of a valid hash verifies. */
  accepts2y?: boolean;
  /** What happens to a 73-byte password: cut to 72, treated as distinct, or rejected. */
  over72?: 'truncates' | 'distinct' | 'raises';
  over72Error?: ProbeError;
}

export interface NodeProbeReport {
  node: string;
  /** NODE_MODULE_VERSION (ABI): 115 for Node 20. */
  modules: string;
  napi: string | null;
  platform: string;
  arch: string;
  execPath: string;
  /** 'glibc' | 'musl' on Linux, null elsewhere. */
  libc: string | null;
  /** glibc version (from process.report), null when not glibc. */
  glibc: string | null;
  bcrypt: NodeLibraryReport;
  bcryptjs: NodeLibraryReport;
  /** bcryptjs verifies bcrypt's hash and the reverse (only when both load). */
  crossCheck?: boolean;
  crossCheckError?: ProbeError;
}

/** The password the self-test hashes; the same as the example API's start-up self-test. */
export const SELF_TEST_PASSWORD = 'naija-sup-selftest';

/**
 * A known-answer vector from OpenWall's crypt_blowfish tests: bcrypt("U*U") with this salt at cost 5.
 * Verified with Node bcrypt 6, bcryptjs 3 and Debian's python3-bcrypt.
 */
export const KNOWN_ANSWER = {
  password: 'U*U',
  salt: '$2a$05$CCCCCCCCCCCCCCCCCCCCC.',
  hash: '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
} as const;

/** The probe script (CommonJS, runs under `node -e`; must work on any Node ≥ 14). */
export const NODE_PROBE_SCRIPT = `'use strict';
const path = require('path');
const fs = require('fs');
const { createRequire } = require('module');
const out = { node: process.versions.node, modules: process.versions.modules, napi: process.versions.napi || null,
  platform: process.platform, arch: process.arch, execPath: process.execPath, libc: null, glibc: null };
try {
  if (process.report) { process.report.excludeNetwork = true; }
  const header = process.report.getReport().header;
  out.glibc = header.glibcVersionRuntime || null;
  out.libc = out.glibc ? 'glibc' : (process.platform === 'linux' ? 'musl' : null);
} catch (e) { /* no process.report: libc stays unknown */ }
const appRequire = createRequire(path.join(process.cwd(), 'naija-sup-doctor-probe.js'));
const errInfo = (e) => ({ code: e && e.code !== undefined ? String(e.code) : null,
  message: String(e && e.message !== undefined ? e.message : e).slice(0, 2000) });
const PW = ${JSON.stringify(SELF_TEST_PASSWORD)};
const KAT = ${JSON.stringify([KNOWN_ANSWER.password, KNOWN_ANSWER.salt, KNOWN_ANSWER.hash])};
function selfTest(lib, r) {
  try {
    const h = lib.hashSync(PW, 4);
    r.hash = h;
    r.prefix = h.slice(0, 7);
    r.roundTrip = lib.compareSync(PW, h) === true && lib.compareSync('wrong', h) === false;
    try { r.accepts2y = lib.compareSync(PW, '$2y$' + h.slice(4)) === true; } catch (e) { r.accepts2y = false; }
  } catch (e) { r.roundTripError = errInfo(e); }
  try { r.knownAnswer = lib.hashSync(KAT[0], KAT[1]) === KAT[2] && lib.compareSync(KAT[0], KAT[2]) === true; }
  catch (e) { r.knownAnswerError = errInfo(e); }
  try {
    const s = lib.genSaltSync(4);
    r.over72 = lib.hashSync('x'.repeat(73), s) === lib.hashSync('x'.repeat(72), s) ? 'truncates' : 'distinct';
  } catch (e) { r.over72 = 'raises'; r.over72Error = errInfo(e); }
}
function packageDir(resolved, name) {
  const marker = path.sep + 'node_modules' + path.sep + name + path.sep;
  const at = resolved.lastIndexOf(marker);
  return at === -1 ? path.dirname(resolved) : resolved.slice(0, at + marker.length - 1);
}
function probe(name, fullSelfTest) {
  const r = { name: name, resolved: null, dir: null, version: null, loaded: false };
  try { r.resolved = appRequire.resolve(name); } catch (e) { r.resolveError = errInfo(e); return { r: r, lib: null }; }
  r.dir = packageDir(r.resolved, name);
  try { r.version = JSON.parse(fs.readFileSync(path.join(r.dir, 'package.json'), 'utf8')).version || null; } catch (e) { /* unknown */ }
  let lib = null;
  try { lib = appRequire(name); r.loaded = true; } catch (e) { r.loadError = errInfo(e); }
  if (lib && fullSelfTest) selfTest(lib, r);
  return { r: r, lib: lib };
}
const b = probe('bcrypt', true);
out.bcrypt = b.r;
if (b.r.dir) {
  try {
    const ngb = createRequire(path.join(b.r.dir, 'package.json')).resolve('node-gyp-build');
    out.bcrypt.binding = require(ngb).path(b.r.dir);
  } catch (e) { out.bcrypt.bindingError = errInfo(e); }
}
// bcryptjs is pure JavaScript and slow on a cold JIT (tens of ms per hash): when the native
// bcrypt works, only the cross-check below runs; the full self-test is for when bcryptjs is in use.
const j = probe('bcryptjs', !b.lib);
out.bcryptjs = j.r;
if (b.lib && j.lib && b.r.hash) {
  try { out.crossCheck = j.lib.compareSync(PW, b.r.hash) === true && b.lib.compareSync(PW, j.lib.hashSync(PW, 4)) === true; }
  catch (e) { out.crossCheckError = errInfo(e); }
}
process.stdout.write(${JSON.stringify(PROBE_MARKER)} + JSON.stringify(out) + '\\n');
`;

export interface NodeProbeOptions {
  /** The app's node executable. */
  node: string;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Runs the Node probe with the app's node in the app's directory. */
export function runNodeProbe(options: NodeProbeOptions): Promise<ProbeRun<NodeProbeReport>> {
  return runProbe<NodeProbeReport>({
    file: options.node,
    args: ['-e', NODE_PROBE_SCRIPT],
    cwd: options.cwd,
    env: options.env,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
}
