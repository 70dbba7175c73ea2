// ESLint flat config. TypeScript (src/, workers/, test/) gets typescript-eslint's type-aware
// recommended rules through the TypeScript project service (tsconfig.json covers all three); the
// plain .js/.mjs of bin/, scripts/ and bench/ have no types to check and get the JS recommended set.
// Formatting is Prettier's job (npm run format); the one layout rule here is max-len, because
// Prettier does not break strings or comments.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/', 'build/', 'native/build/', 'node_modules/', 'bench/node_modules/', 'bench/results/'],
  },
  {
    files: ['**/*.{js,mjs,ts}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true }],
    },
  },
  {
    // The product logs through its logger (src/logger.ts), never straight to the console.
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // A committed .only would silently skip the rest of a file in CI.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['test', 'describe', 'it', 'suite'].map((object) => ({
          object,
          property: 'only',
          message: 'Do not commit .only.',
        })),
      ],
    },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // One program for everything (test/tsconfig.json includes src and workers): built once, not per tsconfig.
      parserOptions: { project: ['./test/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits; a top-level call is
      // not a floating promise. Everything else must be awaited or marked `void` with a reason.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after'] },
          ],
        },
      ],
    },
  },
);
