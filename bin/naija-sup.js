#!/usr/bin/env node
// The CLI. CommonJS on purpose (bin/package.json says so; issue 19): the quick forms
// (`status --name N`, `stop --name N`, `probe --name N`, `--version`; src/cli/quick-forms.ts) run
// from the CommonJS quick bundle without ever starting Node's ESM loader, which would cost them
// ~5 ms and every stop waits for them. Everything else runs from the ESM bundle, with its lazy
// chunks. Both are built by `npm run build` (scripts/bundle.mjs); a build from before the quick
// bundle existed runs everything from the ESM bundle.
'use strict';

const argv = process.argv.slice(2);
const form = quickForm(argv);
const exitStatus = form !== null && form.standalone
  ? require('../dist/quick/run.cjs').runQuickForm(form.form)
  : import('../dist/bundle/main.js').then((main) => main.run(argv));
exitStatus.then((status) => { process.exitCode = status; });

/** The quick form of `argv` and whether it runs standalone; null without a quick bundle. */
function quickForm(args) {
  let forms;
  try {
    forms = require('../dist/quick/forms.cjs');
  } catch (error) {
    if (error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/quick/forms.cjs')) return null;
    throw error;
  }
  const found = forms.quickForm(args);
  return found === null ? null : { form: found, standalone: forms.standalone(found) };
}
