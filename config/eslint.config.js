// Lint for what the type checker does not catch: promises nobody awaits or handles, and
// unused code. Run from the project root: npm run lint (eslint -c config/eslint.config.js).
// Type-aware rules read each file's nearest tsconfig.json (the server's, test/, src/web/).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig(
  { ignores: ['dist/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      // scripts/ has no tsconfig of its own: test/tsconfig.json type-checks it.
      parserOptions: { projectService: { allowDefaultProject: ['scripts/*.ts'], defaultProject: 'test/tsconfig.json' }, tsconfigRootDir: projectRoot },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise must be awaited, returned, or given a handled .catch; `void` marks a
      // deliberate drop (with a comment saying why).
      '@typescript-eslint/no-floating-promises': 'error',
      // No promise where a plain value or a void callback is expected (an async EventEmitter
      // listener or an `if (promise)`).
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-unused-expressions': 'error',
    },
  },
);
