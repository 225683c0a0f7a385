/**
 * The configuration reference (markdown), generated from the schema tree. README.md holds this
 * text between `<!-- config-reference:start -->` and `<!-- config-reference:end -->`;
 * test/config/reference.test.ts fails when they differ.
 */
import { configLeaves, envTwinName, type LeafNode } from './schema.js';

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function code(text: string): string {
  return `\`${text}\``;
}

function defaultCell(node: LeafNode): string {
  if (node.defaultLabel !== undefined) return node.defaultLabel;
  if (node.default.kind === 'computed') return node.default.text;
  return code(JSON.stringify(node.toInput(node.default.value)));
}

function envCell(dotPath: string, node: LeafNode): string {
  const twin = code(envTwinName(dotPath)) + (node.envForm === undefined ? '' : ` (${node.envForm})`);
  const legacy = node.legacyEnv.map((v) => code(v.name) + (v.note === undefined ? '' : ` (${v.note})`));
  return [twin, ...legacy].join(', ');
}

function row(key: string, node: LeafNode, env: string): string {
  return `| ${[code(key), node.typeText, defaultCell(node), env, node.description].map(cell).join(' | ')} |`;
}

/**
 * The configuration reference as markdown: a table of every key (type, default, environment
 * variables, description) and the rules that apply to all of them.
 */
export function renderConfigReference(): string {
  const lines = ['| key | type | default | env | description |', '|---|---|---|---|---|'];
  for (const { path, node } of configLeaves) {
    lines.push(row(path, node, envCell(path, node)));
    for (const [key, field] of Object.entries(node.fields ?? {})) {
      lines.push(row(`${path}.${key}`, field, `in ${code(envTwinName(path))}`));
    }
  }
  lines.push(
    '',
    'Precedence: flags > environment > config file > defaults. A `duration` is integer milliseconds or a',
    'number with a unit (`"500ms"`, `"5s"`, `"1.5s"`, `"2m"`, `"1h"`). In the environment, a `NAIJA_SUP_*`',
    'variable wins over its legacy name, an empty value counts as unset, booleans are `true`/`false`, `1`/`0`',
    'or `yes`/`no`, and digits alone in a duration variable are milliseconds (seconds for the legacy',
    '`GRACEFUL_TIMEOUT` and `HEALTH_CHECK_TIMEOUT`).',
  );
  return `${lines.join('\n')}\n`;
}
