/**
 * The entry of the CommonJS quick bundle (dist/quick/run.cjs, scripts/bundle.mjs): what
 * bin/naija-sup.js calls for a standalone quick form. Self-contained: it shares no module (and so
 * no class, such as NaijaSupError) with the ESM bundle, which never runs in the same process.
 */
import { defaultIO } from './context.js';
import type { QuickForm } from './quick-forms.js';
import { runQuick } from './quick.js';

export function runQuickForm(form: QuickForm): Promise<number> {
  return runQuick(form, defaultIO());
}
