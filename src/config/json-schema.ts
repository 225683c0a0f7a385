/**
 * The JSON Schema (draft 2020-12) of a config file, generated from the schema tree. The file
 * naija-sup.schema.json at the repository root is this output; test/config/json-schema.test.ts
 * fails when they differ (regenerate with `UPDATE_SCHEMA=1 npx vitest run test/config/json-schema.test.ts`).
 */
import { MAX_DURATION_MS } from './duration.js';
import { configSchema, type AliasNode, type AnySection, type JsonSchema, type LeafNode } from './schema.js';
import { MAX_SIZE_BYTES } from './size.js';

/** Where the schema is published (the package ships the file; unpkg serves it). */
export const SCHEMA_ID = 'https://unpkg.com/naija-sup/naija-sup.schema.json';

function leafSchema(node: LeafNode): JsonSchema {
  const schema: JsonSchema = { description: node.description, ...node.jsonSchema };
  if (node.fields !== undefined) {
    const properties: Record<string, JsonSchema> = {};
    for (const [key, field] of Object.entries(node.fields)) properties[key] = leafSchema(field);
    schema['properties'] = properties;
    schema['additionalProperties'] = false;
  }
  if (node.defaultLabel !== undefined) schema['description'] = `${node.description} Default: ${node.defaultLabel.replaceAll('`', '')}.`;
  else if (node.default.kind === 'value') schema['default'] = node.toInput(node.default.value);
  else schema['description'] = `${node.description} Default: ${node.default.text.replaceAll('`', '')}.`;
  return schema;
}

/** An alias's fields are its siblings' file forms, without their defaults (a missing field leaves the sibling alone). */
function aliasSchema(node: AliasNode, section: AnySection, at: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const key of node.keys) {
    const sibling = section.children[key];
    if (sibling?.kind !== 'leaf') throw new Error(`schema bug: alias ${at} names "${key}", which is not a sibling key`);
    properties[key] = { description: `Sets \`${sectionPath(at)}.${key}\`, and wins over it.`, ...sibling.jsonSchema };
  }
  return { description: node.description, type: 'object', properties, additionalProperties: false };
}

/** "health.startup" → "health". */
function sectionPath(at: string): string {
  return at.split('.').slice(0, -1).join('.');
}

function sectionSchema(node: AnySection, root: boolean, at = ''): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  if (root) properties['$schema'] = { description: 'The JSON Schema this file follows, for editors; naija-sup ignores it.', type: 'string' };
  for (const [key, child] of Object.entries(node.children)) {
    const childAt = at === '' ? key : `${at}.${key}`;
    if (child.kind === 'leaf') properties[key] = leafSchema(child);
    else if (child.kind === 'alias') properties[key] = aliasSchema(child, node, childAt);
    else properties[key] = sectionSchema(child, false, childAt);
  }
  return { description: node.description, type: 'object', properties, additionalProperties: false };
}

/** The JSON Schema of a naija-sup config file (or of the "naija-sup" key in package.json). */
export function buildJsonSchema(): JsonSchema {
  const { description, ...body } = sectionSchema(configSchema, true);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'naija-sup configuration',
    description,
    ...body,
    $defs: {
      duration: {
        description: 'Integer milliseconds, or a number with a unit: "500ms", "5s", "1.5s", "2m", "1h".',
        anyOf: [
          { type: 'integer', minimum: 0, maximum: MAX_DURATION_MS },
          { type: 'string', pattern: '^\\d+(\\.\\d+)?\\s*(ms|s|m|h)$' },
        ],
      },
      size: {
        description: 'Integer bytes, or a number with a binary unit (1 KB = 1024 B), in any case: "512KB", "10MB", "1.5GB", "100B".',
        anyOf: [
          { type: 'integer', minimum: 1, maximum: MAX_SIZE_BYTES },
          { type: 'string', pattern: '^\\d+(\\.\\d+)?\\s*[KkMmGg]?[Bb]$' },
        ],
      },
    },
  };
}

/** The schema as the file holds it: two-space JSON with a final newline. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
