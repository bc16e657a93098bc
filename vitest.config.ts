import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

// Integration tests drive real Chromium processes; on a 2-core machine more than two
// files at once only makes every test slower and flakier.
// Tests run under node; renderer component tests opt into happy-dom with a
// `// @vitest-environment happy-dom` comment, and the Vue plugin compiles their .vue files.
// bench/tests holds the benchmarks' own tests (tests/ never imports bench/). The quick lane without
// Chromium or Redis is vitest.unit.config.ts (`npm run test:unit`).
export default defineConfig({
  plugins: [vue()],
  test: {
    include: ['tests/**/*.test.ts', 'bench/**/*.test.ts'],
    environment: 'node',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
})
