/**
 * The JSON Schema (draft 2020-12) of `naija-sup doctor --json`: an array of check results. It is
 * the contract for scripts; a test validates real output against it.
 */
import { CHECK_IDS } from './types.js';

export const DOCTOR_RESULTS_JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://unpkg.com/naija-sup/doctor-results.schema.json',
  title: 'naija-sup doctor --json',
  description: 'The results of the doctor checks, in the order they ran.',
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'title', 'status', 'summary', 'details', 'fix', 'failureId', 'durationMs'],
    properties: {
      id: { enum: [...CHECK_IDS], description: 'The check.' },
      title: { type: 'string', minLength: 1 },
      status: { enum: ['ok', 'warn', 'fail', 'skip'] },
      summary: { type: 'string', minLength: 1, description: 'One line.' },
      details: { type: 'array', items: { type: 'string' }, description: 'Supporting facts, one per line.' },
      fix: { type: ['string', 'null'], description: 'What to do (warn and fail only); null otherwise.' },
      failureId: {
        type: ['string', 'null'],
        description: "The id of the matching known failure (src/failures.ts): 'N1'…'N9', 'P1'…'P4', 'native-dlopen'…; or an E_* code: 'E_DRAIN_RESETS' (handoff-drain), the error that stopped a measurement.",
      },
      durationMs: { type: 'integer', minimum: 0 },
    },
  },
} as const;
