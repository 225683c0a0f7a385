/**
 * A tiny JSON Schema validator for the subset DOCTOR_RESULTS_JSON_SCHEMA uses: type (incl. arrays of
 * types, "integer", "null"), enum, required, properties, additionalProperties: false, items,
 * minLength, minimum. Returns every violation with its JSON path. (No new dependency for a test.)
 */
type Schema = Record<string, unknown>;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(value: unknown, wanted: string): boolean {
  const actual = typeOf(value);
  return actual === wanted || (wanted === 'number' && actual === 'integer');
}

export function validate(schema: Schema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  const known = new Set(['$schema', '$id', 'title', 'description', 'type', 'enum', 'required', 'properties', 'additionalProperties', 'items', 'minLength', 'minimum']);
  for (const key of Object.keys(schema)) if (!known.has(key)) errors.push(`${path}: the validator does not support "${key}"`);
  if (schema['type'] !== undefined) {
    const types = Array.isArray(schema['type']) ? (schema['type'] as string[]) : [schema['type'] as string];
    if (!types.some((t) => typeMatches(value, t))) {
      errors.push(`${path}: expected ${types.join(' or ')}, got ${typeOf(value)}`);
      return errors;
    }
  }
  if (Array.isArray(schema['enum']) && !(schema['enum'] as unknown[]).includes(value)) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema['enum'])}`);
  }
  if (typeof value === 'string' && typeof schema['minLength'] === 'number' && value.length < schema['minLength']) {
    errors.push(`${path}: shorter than ${schema['minLength']}`);
  }
  if (typeof value === 'number' && typeof schema['minimum'] === 'number' && value < schema['minimum']) {
    errors.push(`${path}: below ${schema['minimum']}`);
  }
  if (Array.isArray(value) && schema['items'] !== undefined) {
    value.forEach((item, index) => errors.push(...validate(schema['items'] as Schema, item, `${path}[${index}]`)));
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const key of (schema['required'] ?? []) as string[]) if (!(key in object)) errors.push(`${path}: missing "${key}"`);
    for (const [key, item] of Object.entries(object)) {
      const sub = properties[key];
      if (sub !== undefined) errors.push(...validate(sub, item, `${path}.${key}`));
      else if (schema['additionalProperties'] === false) errors.push(`${path}: unexpected "${key}"`);
    }
  }
  return errors;
}
