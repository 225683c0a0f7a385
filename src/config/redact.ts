/**
 * One redaction rule for every output (issue 15): `config`, `status`, `/health`, `/metrics`, the log
 * files, the foreground output, `start -d` errors. PM2's `jlist` printed a secret set at start
 * twice (docs research, pm2.md); anything naija-sup prints must be safe to paste into an issue.
 *
 * - URL userinfo is always hidden, wherever a URL appears ("postgres://[redacted]@db/app").
 * - An environment value is hidden when its name contains one of {@link SECRET_NAME_WORDS} or one
 *   of the config's `redact` entries (any case).
 * - A {@link Redactor} also knows the secret *values* (of those variables, and the userinfo of
 *   every URL in the env and in `dependsOn`), and hides them in free text: a server that prints
 *   its DATABASE_URL's password does not get it into the log files or `/health`.
 */
import type { ResolvedConfig } from './types.js';

/** What a redacted value is printed as. */
export const REDACTED = '[redacted]';

/** Name fragments that mark an environment variable as secret (matched case-insensitively). */
export const SECRET_NAME_WORDS: readonly string[] = [
  'PASS', 'SECRET', 'TOKEN', 'KEY', 'AUTH', 'CREDENTIAL', 'DSN', 'PRIVATE', 'COOKIE', 'SESSION', '_SK',
];

/**
 * A secret value shorter than this is not searched for in free text: hiding every "true" or "dev"
 * in the server's output would make the logs unreadable, and such a value guards nothing. It is
 * still hidden wherever it is printed as the value of its variable.
 */
export const MIN_SECRET_VALUE_LENGTH = 6;

/**
 * `scheme://userinfo@`: the userinfo stops at the first character a URL authority cannot hold
 * before the `@` (so "http://host/path?next=a:b@c" is left alone) or that ends a URL in prose.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>`\\]+@/gi;

/**
 * Whether an environment variable's name suggests a secret: it contains one of
 * {@link SECRET_NAME_WORDS} or of `extra` (the config's `redact` list), in any case. Errs on the
 * side of hiding: "MONKEY" is hidden too.
 */
export function isSecretName(name: string, extra: readonly string[] = []): boolean {
  const upper = name.toUpperCase();
  return SECRET_NAME_WORDS.some((w) => upper.includes(w)) || extra.some((w) => w !== '' && upper.includes(w.toUpperCase()));
}

/** `text` with the userinfo of every URL in it replaced by "[redacted]". */
export function redactUrlsIn(text: string): string {
  return text.includes('://') ? text.replace(URL_USERINFO, `$1${REDACTED}@`) : text;
}

/**
 * A URL with its userinfo replaced by "[redacted]" ("http://[redacted]@db/"); unchanged when it
 * has none. A dependency's `http` URL may carry credentials, and a user name can be a token
 * ("https://ghp_…@github.com"), so the whole userinfo goes. Not through `new URL().href`: that
 * would also normalise the rest of the URL the user wrote.
 */
export function redactUrl(url: string): string {
  return redactUrlsIn(url);
}

/**
 * A copy of `env` where the value of every secret-looking name is "[redacted]" and every other
 * value has its URLs' userinfo hidden (a DATABASE_URL keeps its host, loses its password).
 */
export function redactEnv(env: Readonly<Record<string, string>>, extra: readonly string[] = []): Record<string, string> {
  // fromEntries defines properties, so an env key named "__proto__" stays a plain key.
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, isSecretName(name, extra) ? REDACTED : redactUrlsIn(value)]));
}

/** The config's extra secret names (`redact`); a hand-built config may lack the key. */
function extraNames(config: ResolvedConfig): readonly string[] {
  return Array.isArray(config.redact) ? config.redact : [];
}

/**
 * A copy of a resolved configuration safe to print: secret-looking `env` values, URL userinfo in
 * the command, in env values and in `dependsOn` URLs, the paths of webhook URLs and the status
 * token redacted (what `naija-sup config` shows).
 */
export function redactConfig(config: ResolvedConfig): ResolvedConfig {
  return {
    ...config,
    command: config.command.map(redactUrlsIn),
    env: redactEnv(config.env, extraNames(config)),
    dependsOn: config.dependsOn.map((d) => (d.http === null ? d : { ...d, http: redactUrl(d.http) })),
    status: { ...config.status, token: config.status.token === null ? null : REDACTED },
    alerts: { ...config.alerts, webhook: config.alerts.webhook.map(redactWebhook) },
  };
}

/** Hides the known secrets in text and in every string of a JSON-like value. */
export interface Redactor {
  text(text: string): string;
  /** A copy of `value` with {@link Redactor.text} applied to every string in it (keys included). */
  deep<T>(value: T): T;
}

/** The userinfo of every URL in `text`, and its password part alone. */
function userinfoParts(text: string): string[] {
  const parts: string[] = [];
  for (const match of text.matchAll(URL_USERINFO)) {
    const userinfo = match[0].slice(match[1]?.length ?? 0, -1);
    const colon = userinfo.indexOf(':');
    const found = colon >= 0 ? [userinfo, userinfo.slice(colon + 1)] : [userinfo];
    // A server may print the password percent-decoded, as its driver sees it.
    parts.push(...found, ...found.map(decodeSafely));
  }
  return parts;
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Values too trivial to hunt for in free text (see {@link MIN_SECRET_VALUE_LENGTH}). */
function worthHiding(value: string): boolean {
  return value.length >= MIN_SECRET_VALUE_LENGTH && !/^(\d+|true|false|yes|no)$/i.test(value);
}

export interface RedactorSources {
  /** Environments whose secret-named values (and URL userinfo) must never be printed. */
  envs?: ReadonlyArray<Readonly<Record<string, string | undefined>>>;
  /** URLs whose userinfo must never be printed (dependsOn). */
  urls?: readonly string[];
  /** The config's `redact` names. */
  extraNames?: readonly string[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A redactor for these secrets; URL userinfo is hidden whatever the sources. */
export function createRedactor(sources: RedactorSources): Redactor {
  const values = new Set<string>();
  const extra = sources.extraNames ?? [];
  for (const env of sources.envs ?? []) {
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) continue;
      if (isSecretName(name, extra)) values.add(value);
      for (const part of userinfoParts(value)) values.add(part);
    }
  }
  for (const url of sources.urls ?? []) for (const part of userinfoParts(url)) values.add(part);
  // Longest first, so a password inside a longer secret does not leave the rest showing.
  const known = [...values].filter(worthHiding).sort((a, b) => b.length - a.length);
  const pattern = known.length === 0 ? null : new RegExp(known.map(escapeRegExp).join('|'), 'g');
  const text = (input: string): string => redactUrlsIn(pattern === null ? input : input.replace(pattern, REDACTED));
  const deep = <T>(value: T): T => deepMap(value, text) as T;
  return { text, deep };
}

/**
 * The redactor of a running app: the env and dependsOn of its configs (every one it ran with: a
 * reload must not un-hide the previous secrets) and the environment its instances inherit.
 */
export function redactorFor(configs: ResolvedConfig | readonly ResolvedConfig[], baseEnv: Readonly<Record<string, string | undefined>> = {}): Redactor {
  const all: readonly ResolvedConfig[] = Array.isArray(configs) ? configs : [configs as ResolvedConfig];
  return createRedactor({
    envs: [baseEnv, ...all.map((c) => c.env)],
    urls: all.flatMap((c) => c.dependsOn.flatMap((d) => (d.http === null ? [] : [d.http]))),
    extraNames: all.flatMap(extraNames),
  });
}

/** Bounded like the config loader's walk: event and snapshot objects are shallow. */
const MAX_DEPTH = 32;

function deepMap(value: unknown, text: (s: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return text(value);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => deepMap(v, text, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  // fromEntries defines properties, so a key named "__proto__" stays a key.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), deepMap(v, text, depth + 1)]));
}

/**
 * A webhook URL with everything after its host redacted: a Slack or Teams incoming-webhook URL is a
 * secret in its path, not in a password.
 */
export function redactWebhook(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^/?#@]*@)?([^/?#]*)(.*)$/i.exec(url);
  if (m === null) return REDACTED;
  const rest = m[3] ?? '';
  return `${m[1] ?? ''}${m[2] ?? ''}${rest === '' || rest === '/' ? rest : `/${REDACTED}`}`;
}
