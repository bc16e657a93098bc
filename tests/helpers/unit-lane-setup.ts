// Set-up file of the unit lane (vitest.unit.config.ts): see unit-lane-guard.ts.
import { installUnitLaneGuard } from './unit-lane-guard.js'

installUnitLaneGuard()
