// ESLint (flat config): ESLint's and typescript-eslint's recommended rules, without the type-aware ones (they need a
// type-check per run; `tsc --noEmit` does that already), minus what the code does on purpose. `npm run lint`;
// test/structure/lint.test.ts runs it with the tests.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'reports/', 'dist/', 'dist.*/', 'coverage/', '.tap/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      // Everything runs on Node; the plain .mjs files too (the sim's tools and the traffic agents run in pods).
      globals: globals.node,
    },
    rules: {
      // Decoded protobuf JSON and the Kubernetes objects the sim serves are dynamic by nature.
      '@typescript-eslint/no-explicit-any': 'off',
      // `_`-named bindings are the ones left out on purpose (`const { a: _a, ...rest } = o`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `if (x) (a = 1), (b = 2);` is how a few hot paths assign pairs.
      '@typescript-eslint/no-unused-expressions': 'off',
      // A forward declaration a closure reads before its single assignment (recursive codecs).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // tsc's noFallthroughCasesInSwitch checks this, and knows that a `never` call ends a case.
      'no-fallthrough': 'off',
      // Formatting, not a hazard: statements never start with `[` or `(` here.
      'no-unexpected-multiline': 'off',
      // Parsers and escapers match control characters on purpose; tests match aligned columns.
      'no-control-regex': 'off',
      'no-regex-spaces': 'off',
      // `let n = 0; while ((n = next()) === 0)`: the initial value documents the type and the start.
      'no-useless-assignment': 'off',
      // A generator that only throws stands in for a stream that fails at once.
      'require-yield': 'off',
      // An object literal's methods reach their owner by a name (`const dp = this`).
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['dp'] }],
    },
  },
  {
    files: ['test/**'],
    rules: {
      // Tests compare with what other implementations produce, 2^64 − 1 read as a double among them.
      'no-loss-of-precision': 'off',
    },
  },
);
