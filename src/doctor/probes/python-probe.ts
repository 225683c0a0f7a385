/**
 * The Python probe: a `-c` script run with the app's own interpreter in the app's directory
 * (research/failures-and-ports.md §1a, "Non-destructive Python probe"). It reports:
 * - versions from importlib.metadata (bcrypt, passlib, libpass): what pip installed;
 * - bcrypt itself: import, `__version__`, whether `__about__` exists (gone since 4.1), a round trip
 *   at cost 4, a known-answer vector, the 73-byte behaviour (≥ 5 raises) and `$2y$`;
 * - passlib: `get_backend()` and a CryptContext round trip, with passlib's log records captured, so
 *   the harmless "(trapped) error reading bcrypt version" (P1) is seen as a warning, not a crash.
 *
 * Nothing is written: the interpreter runs with PYTHONDONTWRITEBYTECODE=1 (no __pycache__).
 * The script is a string constant so that it ships inside dist/ with no extra file.
 */
import { PROBE_MARKER, runProbe, type ProbeRun } from '../probe-run.js';
import { KNOWN_ANSWER, SELF_TEST_PASSWORD } from './node-probe.js';

/** An exception as the probe reports it: its (qualified) type and message. */
export interface PythonError {
  type: string;
  message: string;
}

export interface PythonProbeReport {
  python: string;
  executable: string;
  prefix: string;
  /** importlib.metadata versions; null when not installed. */
  versions: { bcrypt: string | null; passlib: string | null; libpass: string | null };
  bcrypt: {
    imported: boolean;
    error?: PythonError;
    file?: string | null;
    version?: string | null;
    /** False from 4.1 on: what passlib 1.7.4 trips over (P1). */
    hasAbout?: boolean;
    prefix?: string;
    roundTrip?: boolean;
    roundTripError?: PythonError;
    accepts2y?: boolean;
    knownAnswer?: boolean;
    knownAnswerError?: PythonError;
    over72?: 'truncates' | 'distinct' | 'raises' | 'error';
    over72Error?: PythonError;
  };
  passlib: {
    imported: boolean;
    error?: PythonError;
    file?: string | null;
    version?: string | null;
    /** passlib's WARNING+ log records during backend load and the round trip. */
    log?: Array<{ level: string; logger: string; message: string; exception?: PythonError }>;
    backend?: string;
    backendError?: PythonError;
    roundTrip?: boolean;
    roundTripError?: PythonError;
    /** The last lines of the round trip's traceback. */
    traceback?: string[];
  };
}

/** The probe script (Python 3.8+: importlib.metadata). */
export const PYTHON_PROBE_SCRIPT = `
import json, logging, sys, traceback
out = {"python": sys.version.split()[0], "executable": sys.executable, "prefix": sys.prefix}
def err(e):
    t = type(e)
    name = t.__name__ if t.__module__ == "builtins" else t.__module__ + "." + t.__name__
    return {"type": name, "message": str(e)[:2000]}
try:
    from importlib import metadata as md
except Exception:
    md = None
def ver(name):
    try:
        return md.version(name) if md else None
    except Exception:
        return None
out["versions"] = {"bcrypt": ver("bcrypt"), "passlib": ver("passlib"), "libpass": ver("libpass")}
PW = ${JSON.stringify(SELF_TEST_PASSWORD)}.encode()
KAT = (${JSON.stringify(KNOWN_ANSWER.password)}.encode(), ${JSON.stringify(KNOWN_ANSWER.salt)}.encode(), ${JSON.stringify(KNOWN_ANSWER.hash)}.encode())
b = {"imported": False}
try:
    import bcrypt
    b = {"imported": True, "file": getattr(bcrypt, "__file__", None), "version": getattr(bcrypt, "__version__", None),
         "hasAbout": hasattr(bcrypt, "__about__")}
    try:
        h = bcrypt.hashpw(PW, bcrypt.gensalt(4))
        b["prefix"] = h[:7].decode()
        b["roundTrip"] = bool(bcrypt.checkpw(PW, h)) and not bcrypt.checkpw(b"wrong", h)
        try:
            b["accepts2y"] = bool(bcrypt.checkpw(PW, b"$2y$" + h[4:]))
        except Exception:
            b["accepts2y"] = False
    except Exception as e:
        b["roundTripError"] = err(e)
    try:
        b["knownAnswer"] = bcrypt.hashpw(KAT[0], KAT[1]) == KAT[2]
    except Exception as e:
        b["knownAnswerError"] = err(e)
    try:
        s = bcrypt.gensalt(4)
        b["over72"] = "truncates" if bcrypt.hashpw(b"x" * 73, s) == bcrypt.hashpw(b"x" * 72, s) else "distinct"
    except ValueError as e:
        b["over72"] = "raises"
        b["over72Error"] = err(e)
    except Exception as e:
        b["over72"] = "error"
        b["over72Error"] = err(e)
except Exception as e:
    b["error"] = err(e)
out["bcrypt"] = b
p = {"imported": False}
try:
    import passlib
    p = {"imported": True, "file": getattr(passlib, "__file__", None), "version": getattr(passlib, "__version__", None), "log": []}
    class Capture(logging.Handler):
        def emit(self, record):
            entry = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
            if record.exc_info and record.exc_info[1] is not None:
                entry["exception"] = err(record.exc_info[1])
            p["log"].append(entry)
    logger = logging.getLogger("passlib")
    logger.addHandler(Capture(logging.WARNING))
    logger.propagate = False
    try:
        from passlib.hash import bcrypt as handler
        try:
            p["backend"] = handler.get_backend()
        except Exception as e:
            p["backendError"] = err(e)
        from passlib.context import CryptContext
        ctx = CryptContext(schemes=["bcrypt"], bcrypt__rounds=4)
        h = ctx.hash(PW.decode())
        p["roundTrip"] = bool(ctx.verify(PW.decode(), h)) and not ctx.verify("wrong", h)
    except Exception as e:
        p["roundTripError"] = err(e)
        p["traceback"] = traceback.format_exc().splitlines()[-6:]
except Exception as e:
    p["error"] = err(e)
out["passlib"] = p
sys.stdout.write(${JSON.stringify(PROBE_MARKER)} + json.dumps(out) + "\\n")
`;

export interface PythonProbeOptions {
  python: string;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Runs the Python probe with the app's interpreter in the app's directory. */
export function runPythonProbe(options: PythonProbeOptions): Promise<ProbeRun<PythonProbeReport>> {
  return runProbe<PythonProbeReport>({
    file: options.python,
    args: ['-c', PYTHON_PROBE_SCRIPT],
    cwd: options.cwd,
    // Read-only: no __pycache__ next to the app's (or its packages') files.
    env: { ...options.env, PYTHONDONTWRITEBYTECODE: '1' },
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
}
