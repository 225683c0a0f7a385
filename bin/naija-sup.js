#!/usr/bin/env node
// The CLI runs from its bundle (scripts/bundle.mjs; `npm run build` makes it).
import { run } from '../dist/bundle/main.js';

process.exitCode = await run(process.argv.slice(2));
