// Lint rules: typescript-eslint's recommended set, plus the room rule from ARCHITECTURE.md:
// other rooms are imported through their index.ts only.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'thingcore-data/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '^\\.\\./(?:\\.\\./)*(mqtt|transport|store|identity|registry|policy|shadow|rules|tagging|api|core|cli)/(?!index\\.js$).+',
          message: 'Import another room through its index.ts (ARCHITECTURE.md: one door per room).',
        }],
      }],
    },
  },
);
