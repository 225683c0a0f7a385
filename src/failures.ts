/**
 * The one table of known failures, shared by crash classification (src/supervisor/classify.ts) and
 * doctor. Each entry names a cause, the exact texts that betray it, and a one-line fix.
 *
 * The texts are copied from research/failures-and-ports.md, where each was reproduced on Debian 12
 * with Node 20.20 or Debian's Python 3.11 (N1–N9 are the Node bcrypt failures, P1–P4 the Python
 * passlib/bcrypt ones). Order matters: the first entry with a matching line wins, so specific
 * entries come before general ones (a missing `bcrypt_lib.node` is a native-module failure, not
 * an ordinary "module not found"; `invalid ELF header` before the generic ERR_DLOPEN_FAILED).
 */

/** What went wrong, in the words the event, the log, `status` and doctor use. */
export type FailureCause = 'port-in-use' | 'permission-denied' | 'native-module' | 'module-not-found';

export interface KnownFailure {
  /** Stable id: scripts and docs refer to it ('port-in-use-node', 'N1'…'N9', 'P1'…'P3'). */
  id: string;
  cause: FailureCause;
  /** 'warning': harmless noise that also shows in healthy logs; crash classification skips it. */
  severity: 'fatal' | 'warning';
  /** Tested against single output lines. A first capture group, if any, names the module. */
  patterns: readonly RegExp[];
  title: string;
  /** One line. Placeholders: {port} ("port 8000", or "the port"), {module} (a module name). */
  fix: string;
}

export const KNOWN_FAILURES: readonly KnownFailure[] = [
  // ── The port is taken ──────────────────────────────────────────────────────────────────────────
  {
    id: 'port-in-use-node',
    cause: 'port-in-use',
    severity: 'fatal',
    // `Error: listen EADDRINUSE: address already in use :::39500` (code 'EADDRINUSE', errno -98).
    patterns: [/listen EADDRINUSE: address already in use/, /\bcode: 'EADDRINUSE'/],
    title: 'The port is already in use (Node EADDRINUSE)',
    fix: 'Another process listens on {port}: run `naija-sup doctor` to name it, stop it, or start with --kill-existing if it is a stale server.',
  },
  {
    id: 'port-in-use-python',
    cause: 'port-in-use',
    severity: 'fatal',
    patterns: [
      // uvicorn on Linux: `ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 39500): address already in use`
      // stdlib http.server / socketserver: `OSError: [Errno 98] Address already in use`
      // macOS (the seed project): `[Errno 48] error while attempting to bind on address ('0.0.0.0', 8000): address already in use`
      /\[Errno (?:98|48)\][^\n]*address already in use/i,
      // Windows: `[WinError 10048]` / `[Errno 10048]`
      /\[(?:WinError|Errno) 10048\]/,
    ],
    title: 'The port is already in use (Python bind error)',
    fix: 'Another process listens on {port}: run `naija-sup doctor` to name it, stop it, or start with --kill-existing if it is a stale server.',
  },
  // ── Binding needs privileges ───────────────────────────────────────────────────────────────────
  {
    id: 'permission-denied-node',
    cause: 'permission-denied',
    severity: 'fatal',
    // `Error: listen EACCES: permission denied 0.0.0.0:80`
    patterns: [/listen EACCES: permission denied/],
    title: 'Not allowed to bind the port (Node EACCES)',
    fix: 'Ports below 1024 need privileges: use a port ≥ 1024 (e.g. 8000) behind a reverse proxy, or grant CAP_NET_BIND_SERVICE to the runtime.',
  },
  {
    id: 'permission-denied-python',
    cause: 'permission-denied',
    severity: 'fatal',
    // uvicorn: `[Errno 13] error while attempting to bind on address ('0.0.0.0', 80): permission denied`
    patterns: [/\[Errno 13\] error while attempting to bind on address[^\n]*permission denied/i],
    title: 'Not allowed to bind the port (Python Errno 13)',
    fix: 'Ports below 1024 need privileges: use a port ≥ 1024 (e.g. 8000) behind a reverse proxy, or grant CAP_NET_BIND_SERVICE to the runtime.',
  },
  // ── Node native modules (bcrypt and friends) ──────────────────────────────────────────────────
  {
    id: 'N1',
    cause: 'native-module',
    severity: 'fatal',
    // `Error: The module '.../bcrypt_lib.node' was compiled against a different Node.js version using
    // NODE_MODULE_VERSION 64. This version of Node.js requires NODE_MODULE_VERSION 72. …`
    // Older form: `Error: Module version mismatch. Expected 48, got 47.`
    patterns: [/NODE_MODULE_VERSION \d+/, /Module version mismatch\. Expected \d+, got \d+/],
    title: 'A native module was built for another Node.js version',
    fix: 'Rebuild it with the node that runs the server: `npm rebuild {module}` (or upgrade to an N-API version such as bcrypt ≥ 5).',
  },
  {
    id: 'N2',
    cause: 'native-module',
    severity: 'fatal',
    // `Error: .../bcrypt_lib.node: invalid ELF header` — a macOS or Windows binary on Linux.
    patterns: [/invalid ELF header/],
    title: 'A native module binary is for another operating system',
    fix: 'Do not copy node_modules between systems (add it to .dockerignore); reinstall on this machine: `npm ci`.',
  },
  {
    id: 'N3',
    cause: 'native-module',
    severity: 'fatal',
    // `...: wrong ELF class: ELFCLASS32` — a 32-bit binary on a 64-bit system.
    patterns: [/wrong ELF class: ELFCLASS(?:32|64)/],
    title: 'A native module binary is for another word size (32/64-bit)',
    fix: 'Reinstall on this machine (`npm ci`) so the binary matches its architecture.',
  },
  {
    id: 'N5',
    cause: 'native-module',
    severity: 'fatal',
    // `libc.musl-x86_64.so.1: cannot open shared object file: No such file or directory`
    // (listed before N4: same message tail, but this one names the musl libc)
    patterns: [/libc\.musl-[\w-]+\.so\.1: cannot open shared object file/],
    title: 'A native module was built for musl (Alpine) but this system uses glibc',
    fix: 'Reinstall on this machine (`npm ci`), not in an Alpine image.',
  },
  {
    id: 'N4',
    cause: 'native-module',
    severity: 'fatal',
    // `.../bcrypt.glibc.node: cannot open shared object file: No such file or directory` although the
    // file exists: the binary is for another CPU architecture.
    patterns: [/\.node: cannot open shared object file/],
    title: 'A native module binary is for another CPU architecture',
    fix: 'Reinstall on this machine (`npm ci`); `naija-sup doctor` reads the binary to show which architecture it was built for.',
  },
  {
    id: 'N6',
    cause: 'native-module',
    severity: 'fatal',
    // `Error relocating .../bcrypt_lib.node: __snprintf_chk: symbol not found`,
    // `Error loading shared library ld-linux-x86-64.so.2` — a glibc binary on musl.
    patterns: [/Error relocating [^\n]*\.node: [^\n]*symbol not found/, /Error loading shared library ld-linux/],
    title: 'A native module was built for glibc but this system uses musl (Alpine)',
    fix: 'Build the module on Alpine itself (install python3, make, g++ and run `npm rebuild {module}`), or use a glibc base image.',
  },
  {
    id: 'N8',
    cause: 'native-module',
    severity: 'fatal',
    // bcrypt 6 (node-gyp-build) without a matching prebuild:
    // `No native build was found for platform=linux arch=x64 runtime=node abi=115 uv=1 libc=glibc node=20.20.2`
    patterns: [/No native build was found for platform=\S+ arch=\S+/],
    title: 'No prebuilt native binary for this platform',
    fix: 'Build it here: `npm rebuild {module}` (needs python3, make and g++), or switch to a pure-JS package (bcryptjs for bcrypt).',
  },
  {
    id: 'N7',
    cause: 'native-module',
    severity: 'fatal',
    // `Cannot find module '.../node_modules/bcrypt/lib/binding/napi-v3/bcrypt_lib.node'` — the install
    // script never ran (--ignore-scripts, a strict allow-scripts policy) or the download failed.
    patterns: [/Cannot find module '([^']*\.node)'/],
    title: 'A native module binary was never built or downloaded',
    fix: 'Let the install script run and rebuild: `npm rebuild {module}` (needs python3, make and g++), or upgrade (bcrypt 6 bundles prebuilds), or use bcryptjs.',
  },
  {
    id: 'native-bindings',
    cause: 'native-module',
    severity: 'fatal',
    // The `bindings` loader (used by better-sqlite3, sqlite3 and others) found no .node file where
    // a build would put one. Node prints this as the first line of a ~26-line error: one
    // ` → <path>` per place tried, the stack, then a `tries: [...]` array:
    // `Error: Could not locate the bindings file. Tried:` / ` → /app/node_modules/sqlite3/build/node_sqlite3.node`
    patterns: [/Could not locate the bindings file/],
    title: 'A native module binary was never built',
    fix: 'Let the install script run and rebuild: `npm rebuild {module}` (needs python3, make and g++), or reinstall with `npm ci` on this machine.',
  },
  {
    id: 'native-dlopen',
    cause: 'native-module',
    severity: 'fatal',
    // The generic code behind N2–N6 when the message itself is not one we know.
    patterns: [/ERR_DLOPEN_FAILED/],
    title: 'A native module could not be loaded (ERR_DLOPEN_FAILED)',
    fix: 'Reinstall dependencies on this machine with the node that runs the server (`npm ci` or `npm rebuild`); `naija-sup doctor` names the module.',
  },
  {
    id: 'N9',
    cause: 'module-not-found',
    severity: 'fatal',
    // `Error: Cannot find module 'bcrypt'` — not installed at all.
    patterns: [/Cannot find module '(bcrypt)'/],
    title: 'bcrypt is not installed',
    fix: 'Install dependencies in the app directory: `npm install` (or `npm install bcrypt`).',
  },
  // ── Missing modules ────────────────────────────────────────────────────────────────────────────
  {
    id: 'module-not-found-node',
    cause: 'module-not-found',
    severity: 'fatal',
    // CommonJS: `Error: Cannot find module 'express'`
    // ESM: `Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/server.mjs`
    patterns: [/Cannot find module '([^']+)'/, /Cannot find package '([^']+)' imported from/],
    title: 'A Node module is missing',
    fix: 'Install dependencies in the app directory (`npm install`) or fix the import of `{module}`.',
  },
  {
    id: 'module-not-found-python',
    cause: 'module-not-found',
    severity: 'fatal',
    // `ModuleNotFoundError: No module named 'fastapi'`
    patterns: [/ModuleNotFoundError: No module named '([^']+)'/],
    title: 'A Python module is missing',
    fix: "Install `{module}` into the environment of the interpreter naija-sup runs (activate the app's venv, then pip install).",
  },
  // ── Python passlib + bcrypt ───────────────────────────────────────────────────────────────────
  {
    id: 'P2',
    // bcrypt is the native module; passlib is the layer that breaks on it. The id tells them apart.
    cause: 'native-module',
    severity: 'fatal',
    // passlib 1.7.4 + bcrypt ≥ 5: every hash fails, even for a short password:
    // `ValueError: password cannot be longer than 72 bytes, truncate manually if necessary (e.g. my_password[:72])`
    // (P4, app code hashing a > 72-byte password with bcrypt ≥ 5, prints the same line; doctor tells them apart.)
    patterns: [/password cannot be longer than 72 bytes, truncate manually if necessary/],
    title: 'passlib 1.7.4 cannot use bcrypt ≥ 5',
    fix: 'Pin `bcrypt<5` (4.0.1 is silent), or move to libpass ≥ 1.9.2, or call bcrypt directly.',
  },
  {
    id: 'P3',
    // No importable bcrypt at all.
    cause: 'module-not-found',
    severity: 'fatal',
    // `passlib.exc.MissingBackendError: bcrypt: no backends available -- recommend you install one (e.g. 'pip install bcrypt')`
    patterns: [/MissingBackendError: bcrypt: no backends available/],
    title: 'passlib finds no bcrypt backend',
    fix: 'Install bcrypt into the app\'s environment: `pip install "bcrypt<5"`.',
  },
  {
    id: 'P1',
    cause: 'native-module',
    severity: 'warning',
    // passlib 1.7.4 + bcrypt 4.1–4.3: `(trapped) error reading bcrypt version`, then
    // `AttributeError: module 'bcrypt' has no attribute '__about__'`. Cosmetic: hashing still works.
    patterns: [/\(trapped\) error reading bcrypt version/, /module 'bcrypt' has no attribute '__about__'/],
    title: 'passlib cannot read the bcrypt version (harmless warning)',
    fix: 'Pin `bcrypt==4.0.1` to silence it, or move to libpass, or raise the `passlib.handlers.bcrypt` log level.',
  },
  {
    id: 'P4',
    cause: 'native-module',
    // Listed as a warning so crash classification never picks it: its text is P2's, and P2 (above)
    // wins for a crash. doctor tells them apart by behaviour: bcrypt ≥ 5 used directly (no passlib)
    // raises only for passwords over 72 bytes, so the app answers 500 to long passwords.
    severity: 'warning',
    patterns: [/password cannot be longer than 72 bytes, truncate manually if necessary/],
    title: 'bcrypt ≥ 5 rejects passwords over 72 bytes',
    fix: 'Validate the password length (≤ 72 UTF-8 bytes) at the API edge and answer 400, instead of letting bcrypt raise.',
  },
];

/** A known failure found in some output. */
export interface FailureMatch {
  failure: KnownFailure;
  /** The line that matched. */
  line: string;
  /** The module named by the line, when the pattern captures one ('express', 'fastapi', 'bcrypt'…). */
  module?: string;
}

export interface MatchOptions {
  /** Skip 'warning' entries (crash classification does: they show in healthy logs too). */
  fatalOnly?: boolean;
  /** Table to use; defaults to {@link KNOWN_FAILURES}. */
  table?: readonly KnownFailure[];
}

/**
 * The first entry of the table (in table order) that matches any of `lines`; null when none does.
 * Table order, not line order, decides: specific causes outrank general ones wherever they appear.
 */
export function matchFailure(lines: readonly string[] | string, options: MatchOptions = {}): FailureMatch | null {
  const list = typeof lines === 'string' ? lines.split(/\r?\n/) : lines;
  for (const failure of options.table ?? KNOWN_FAILURES) {
    if (options.fatalOnly === true && failure.severity !== 'fatal') continue;
    for (const [index, line] of list.entries()) {
      for (const pattern of failure.patterns) {
        const found = pattern.exec(line);
        if (found === null) continue;
        // Node wraps long messages ("The module '…/bcrypt_lib.node' / was compiled against … /
        // NODE_MODULE_VERSION 64"), so the module may be named a few lines away.
        const module = moduleFrom(found[1], line) ?? nearbyPackage(list, index);
        return module === undefined ? { failure, line } : { failure, line, module };
      }
    }
  }
  return null;
}

/** Fills a fix's {port} and {module} placeholders. */
export function renderFix(fix: string, values: { port?: number | undefined; module?: string | undefined } = {}): string {
  return fix
    .replaceAll('{port}', values.port === undefined ? 'the port' : `port ${values.port}`)
    .replaceAll('{module}', values.module ?? 'the module');
}

/** Looks up an entry by id. */
export function failureById(id: string): KnownFailure | undefined {
  return KNOWN_FAILURES.find((failure) => failure.id === id);
}

/** A node_modules package named within three lines of `index` (the nearest first). */
function nearbyPackage(lines: readonly string[], index: number): string | undefined {
  for (let distance = 1; distance <= 3; distance += 1) {
    for (const at of [index - distance, index + distance]) {
      const line = lines[at];
      const found = line === undefined ? null : NODE_MODULES_PACKAGE.exec(line);
      if (found?.[1] !== undefined) return found[1];
    }
  }
  return undefined;
}

const NODE_MODULES_PACKAGE = /node_modules\/((?:@[^/\s'"]+\/)?[^/\s'"]+)/;

/** The package name for a captured module, or for a `.node` path inside node_modules. */
function moduleFrom(captured: string | undefined, line: string): string | undefined {
  const source = captured ?? line;
  const inNodeModules = NODE_MODULES_PACKAGE.exec(source);
  if (inNodeModules?.[1] !== undefined) return inNodeModules[1];
  if (captured === undefined || captured.endsWith('.node')) return undefined;
  return captured;
}
