// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', '**/node_modules/', 'coverage/', 'reports/', '.stryker-tmp/', 'test/fixtures/**/node_modules/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly',
        setImmediate: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly',
        TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', structuredClone: 'readonly',
        __dirname: 'readonly', require: 'readonly', module: 'writable',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The warm-standby gate runs inside the user's Node server, before its code, as CommonJS.
    // bin/naija-sup.js is CommonJS too (bin/package.json): the quick forms skip Node's ESM loader.
    // The build's training run of the start bundle runs it as the bin does.
    files: ['bin/standby-gate.cjs', 'bin/naija-sup.js', 'scripts/code-cache.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // toISOString's first call maps ~830 KiB more of the node binary into the process, which the
    // resident supervisor would hold for days: src/iso-time.ts writes the same text (issue 19).
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.property.name='toISOString']", message: 'Use isoTime() from src/iso-time.ts.' }],
    },
  },
  {
    // The core is a library: it returns results and emits events. Only src/cli/ prints, colours,
    // spins or exits (DESIGN.md "Code layout").
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-console': 'error',
      'no-restricted-imports': ['error', {
        paths: [
          { name: 'commander', message: 'Only src/cli/ may use commander.' },
          { name: 'chalk', message: 'Only src/cli/ may colour output.' },
          { name: 'ora', message: 'Only src/cli/ may spin.' },
        ],
      }],
      'no-restricted-properties': ['error',
        { object: 'process', property: 'exit', message: 'The core never exits; return a result or throw a NaijaSupError.' },
        { object: 'process', property: 'exitCode', message: 'The core never sets the exit status; src/cli/ does.' },
      ],
    },
  },
);
