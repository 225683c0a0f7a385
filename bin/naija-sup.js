#!/usr/bin/env node
// The CLI. CommonJS on purpose (bin/package.json says so; issue 19): the quick forms
// (`status --name N`, `stop --name N`, `probe --name N`, `--version`; src/cli/quick-forms.ts) run
// from the CommonJS quick bundle without ever starting Node's ESM loader, which would cost them
// ~5 ms and every stop waits for them. Everything else runs from the ESM bundle, with its lazy
// chunks. Both are built by `npm run build` (scripts/bundle.mjs).
'use strict';

const argv = process.argv.slice(2);
const { quickForm, standalone } = require('../dist/quick/forms.cjs');
const form = quickForm(argv);
const exitStatus = form !== null && standalone(form)
  ? require('../dist/quick/run.cjs').runQuickForm(form)
  : import('../dist/bundle/main.js').then((main) => main.run(argv));
exitStatus.then((status) => { process.exitCode = status; });
