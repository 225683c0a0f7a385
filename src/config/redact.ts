/**
 * Secret-looking environment values are never printed. PM2's `jlist` printed a secret set at start
 * twice (docs research, pm2.md); `naija-sup config` must be safe to paste into an issue.
 */
import type { ResolvedConfig } from './types.js';

/** What a redacted value is printed as. */
export const REDACTED = '[redacted]';

const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|KEY|CREDENTIAL/i;

/**
 * Whether an environment variable's name suggests a secret (contains SECRET, TOKEN, PASSWORD,
 * PASSWD, KEY or CREDENTIAL, in any case). Errs on the side of hiding: "MONKEY" is hidden too.
 */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A copy of `env` with the value of every secret-looking name replaced by "[redacted]". */
export function redactEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) out[name] = isSecretName(name) ? REDACTED : value;
  return out;
}

/**
 * A URL with its password replaced by "[redacted]" ("http://user:[redacted]@db/"); unchanged when
 * it has none or does not parse. A dependency's `http` URL may carry credentials.
 */
export function redactUrl(url: string): string {
  // Not through `new URL().href`: that would also normalise the rest of the URL the user wrote.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, `$1:${REDACTED}@`);
}

/**
 * A copy of a resolved configuration safe to print: secret-looking `env` values, passwords in
 * `dependsOn` and webhook URLs, and the status token redacted (what `naija-sup config` shows).
 */
export function redactConfig(config: ResolvedConfig): ResolvedConfig {
  return {
    ...config,
    env: redactEnv(config.env),
    dependsOn: config.dependsOn.map((d) => (d.http === null ? d : { ...d, http: redactUrl(d.http) })),
    status: { ...config.status, token: config.status.token === null ? null : REDACTED },
    alerts: { ...config.alerts, webhook: config.alerts.webhook.map(redactWebhook) },
  };
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
