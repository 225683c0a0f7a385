/**
 * The JSON Schema (draft 2020-12) of a config file, generated from the schema tree. The file
 * naija-sup.schema.json at the repository root is this output; test/config/json-schema.test.ts
 * fails when they differ (regenerate with `UPDATE_SCHEMA=1 npx vitest run test/config/json-schema.test.ts`).
 */
import { MAX_DURATION_MS } from './duration.js';
import { configSchema, type AnySection, type JsonSchema, type LeafNode } from './schema.js';

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

function sectionSchema(node: AnySection, root: boolean): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  if (root) properties['$schema'] = { description: 'The JSON Schema this file follows, for editors; naija-sup ignores it.', type: 'string' };
  for (const [key, child] of Object.entries(node.children)) {
    properties[key] = child.kind === 'leaf' ? leafSchema(child) : sectionSchema(child, false);
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
    },
  };
}

/** The schema as the file holds it: two-space JSON with a final newline. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
