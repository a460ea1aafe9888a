// ESLint with typescript-eslint's type-aware recommended rules; formatting is Prettier's job.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'data/', '.cache/', 'deploy/', 'dist/', 'dist.new/', '**/*.cjs', '**/*.mjs', 'bin/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Fastify plugins, route handlers and CLI commands are async by contract, awaited or not.
      '@typescript-eslint/require-await': 'off',
      // `(await result.json()) as Row[]` infers json<T>() from the assertion, so the rule calls the
      // assertion unnecessary, and its fix would leave the rows typed any.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Tests and benchmarks read JSON answers and engine rows as they come (any); their assertions type them.
    files: ['test/**/*.ts', 'bench/**/*.ts', 'fixtures/**/*.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The page's native ES modules: browser JavaScript typed with JSDoc against the server's schemas
    // (services/api/web/tsconfig.json, which the project service finds). tsc checks every name
    // against the DOM library, so no-undef (which knows no browser globals here) is off.
    files: ['services/api/web/assets/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
