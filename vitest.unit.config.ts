import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'
import { UNIT_TESTS } from './tests/unit-lane.js'

// `npm run test:unit`: the tests listed in tests/unit-lane.ts, none of which needs Chromium, Redis
// or a build; the set-up file fails any of them that would start one. `npm test` runs everything.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: UNIT_TESTS,
    setupFiles: ['tests/helpers/unit-lane-setup.ts'],
  },
})
