// Lint rules for the whole tree: ESLint's and typescript-eslint's recommended sets, Vue's, and
// eslint-config-prettier last so that nothing here argues with the formatter (Prettier owns layout).
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import vue from 'eslint-plugin-vue'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-artifacts/**', '.crawldeck/**', '.scratch/**', 'resources/**', 'tests/desktop/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] } },
  },
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Tests and the page functions handle values of unknown shape on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  prettier,
  {
    // After eslint-config-prettier, which turns it off: Prettier wraps code at 160 but not comments.
    // Messages stay whole (greppable).
    rules: { 'max-len': ['error', { code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }] },
  },
)
