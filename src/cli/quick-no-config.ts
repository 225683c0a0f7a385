/**
 * Stands in for src/config/load.ts in the CommonJS quick bundle (scripts/bundle.mjs): the quick
 * forms that run from it name their app (quick-forms.ts `standalone`), so they never read a config
 * file, and the loader's code (with the schema, a third of the bundle) would only be parsed for
 * nothing on every `status` and `stop`. Reaching it is a bug (InternalError: "this is a bug").
 */
import { InternalError } from '../errors.js';

function unreachable(): never {
  throw new InternalError('the quick bundle (status/stop/probe with --name) tried to read a config file');
}

export const loadConfig = unreachable;
export const readPackageName = unreachable;
