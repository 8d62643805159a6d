// Lint rules for the package, its tests, example and bench: ESLint's and typescript-eslint's recommended sets, type-checked.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test-output/', 'coverage/'] },
  {
    files: ['**/*.{js,cjs,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // tsconfig.check.json is the one that covers src, test, example and bench.
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Refusing control characters in subjects, prefixes and keys is part of this package's job.
      'no-control-regex': 'off',
      // `_name` marks a parameter a signature requires but the body does not use (Express handlers, hooks).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read supertest's `res.body`, typed `any` by @types/supertest; asserting on it is the point, so the
    // any-propagation rules would only force casts. `any` written by hand is still refused (no-explicit-any).
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // An async authorize hook or fixture without an await is deliberate: it is what the route must accept.
      '@typescript-eslint/require-await': 'off',
    },
  },
)
