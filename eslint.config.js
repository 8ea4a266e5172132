// Flat config: typescript-eslint's type-checked rules on src/, test/ and bench/, and the
// architecture's own rules on src/: the layers (eslint/layers.mjs) and a file-length ceiling.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layersPlugin } from './eslint/layers.mjs';

/** Lines of code per file in src/ (blank lines and comments not counted): one concern a file. */
export const MAX_CODE_LINES = 300;

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { bastion: layersPlugin },
    rules: {
      'bastion/layers': 'error',
      'max-lines': ['error', { max: MAX_CODE_LINES, skipBlankLines: true, skipComments: true }],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression > MemberExpression.callee > Identifier.property[name='unsafeReveal']",
          message: 'Read a Secret through use(fn): unsafeReveal() is for tests only.',
        },
      ],
    },
  },
  {
    // Tests turn secrets into text on purpose, to prove the text is redacted, and read
    // JSON replies loosely.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
