import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'cli/',
      'azure-pipelines/AcrImportV1/*.js',
      'lib/',
      'build/',
      'node_modules/',
      'coverage/',
      'out/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The engine is shared by the Action, the CLI and the Azure Pipelines task: it must not know its host.
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@actions/*'], message: 'The engine must not depend on @actions/*; use a port.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'The engine takes its config and ports from the adapter.' },
      ],
      'no-console': 'error',
    },
  },
  {
    // The shared host runner serves every host, and the CLI and the Azure Pipelines task must run without GitHub:
    // only src/hosts/action/ may use @actions/*. The runner, like the engine, gets its environment from the host.
    files: ['src/hosts/common/**/*.ts', 'src/hosts/cli/**/*.ts', 'src/hosts/pipelines/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@actions/*'],
              message: 'Only the GitHub host (src/hosts/action/) may depend on @actions/*.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/hosts/common/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'The host runner takes its environment from the host.' },
      ],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'jest.config.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
