import { defineConfig } from 'vitest/config'

// Integration tests drive real Chromium processes; on a 2-core machine more than two
// files at once only makes every test slower and flakier.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
})
