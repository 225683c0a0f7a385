#!/usr/bin/env node
// The CLI. CommonJS on purpose (bin/package.json says so; issue 19): the quick forms
// (`status --name N`, `stop --name N`, `probe --name N`, `--version`; src/cli/quick-forms.ts) run
// from the CommonJS quick bundle without ever starting Node's ESM loader, which would cost them
// ~5 ms and every stop waits for them. Everything else runs from the ESM bundle, with its lazy
// chunks. Both are built by `npm run build` (scripts/bundle.mjs); a build from before the quick
// bundle existed runs everything from the ESM bundle.
'use strict';

const argv = process.argv.slice(2);
const form = recognise(argv);
const exitStatus = form !== null && form.standalone
  ? require('../dist/quick/run.cjs').runQuickForm(form.form)
  : import('../dist/bundle/main.js').then((main) => main.run(argv), notBuilt);
exitStatus.then((status) => { process.exitCode = status; });

/** A checkout that was never built (or a broken install) gets a message and a fix, not a stack trace. */
function notBuilt(error) {
  if (error.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/bundle/main.js')) throw error;
  process.stderr.write('naija-sup: its CLI bundle (dist/bundle/main.js) is missing (E_INTERNAL)\n  fix: run "npm run build" in the package\'s folder, or reinstall naija-sup\n');
  return 70;
}

/** The quick form of `argv` and whether it runs standalone; null without a quick bundle. */
function recognise(args) {
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
