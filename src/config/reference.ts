/**
 * The configuration reference (markdown), generated from the schema tree. README.md holds this
 * text between `<!-- config-reference:start -->` and `<!-- config-reference:end -->`;
 * test/config/reference.test.ts fails when they differ.
 */
import { FLAG_KEYS } from './resolve.js';
import { configSchema, envTwinName, type AliasNode, type AnySection, type LeafNode } from './schema.js';

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

/** An alias is written only in files: the variables of the keys it sets cover each field. */
function aliasRow(key: string, node: AliasNode): string {
  return `| ${[code(key), 'object', 'none', 'none (file only)', node.description].map(cell).join(' | ')} |`;
}

function sectionRows(section: AnySection, prefix: string, lines: string[]): void {
  for (const [key, child] of Object.entries(section.children)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (child.kind === 'section') {
      sectionRows(child, path, lines);
    } else if (child.kind === 'alias') {
      lines.push(aliasRow(path, child));
    } else {
      lines.push(row(path, child, envCell(path, child)));
      for (const [field, fieldNode] of Object.entries(child.fields ?? {})) {
        lines.push(row(`${path}.${field}`, fieldNode, `in ${code(envTwinName(path))}`));
      }
    }
  }
}

/**
 * The configuration reference as markdown: a table of every key (type, default, environment
 * variables, description) and the rules that apply to all of them.
 */
export function renderConfigReference(): string {
  const lines = ['| key | type | default | env | description |', '|---|---|---|---|---|'];
  sectionRows(configSchema, '', lines);
  lines.push(
    '',
    'Precedence: flags > environment > config file > defaults. A `duration` is integer milliseconds or a',
    'number with a unit (`"500ms"`, `"5s"`, `"1.5s"`, `"2m"`, `"1h"`). A `size` is integer bytes or a',
    'number with a binary unit, in any case (`"512KB"`, `"10MB"`, `"1GB"`; 1 KB = 1024 B). In the',
    'environment, a `NAIJA_SUP_*` variable wins over its legacy name, an empty value counts as unset,',
    'booleans are `true`/`false`, `1`/`0` or `yes`/`no`, and digits alone in a duration variable are',
    'milliseconds (seconds for the legacy `GRACEFUL_TIMEOUT`, `HEALTH_CHECK_TIMEOUT` and',
    '`DB_CONNECTION_TIMEOUT`), in a size variable bytes.',
    '',
    `Flags of \`naija-sup start\`: ${FLAG_KEYS.filter((f) => f.flag !== '--').map((f) => `${code(f.flag)} (${code(f.path)})`).join(', ')}, and the command after \`--\` (\`command\`).`,
  );
  return `${lines.join('\n')}\n`;
}
