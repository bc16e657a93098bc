import type { ServiceImpl } from '../../../shared/contract.js'
import type { FleetRegistry } from '../fleet/registry.js'

/** GET /monitor/fleet: the live instances sharing this one's Redis, this one marked. */
export function createFleetService(fleet: FleetRegistry): Pick<ServiceImpl, 'monitorFleet'> {
  return {
    monitorFleet: () => fleet.list(),
  }
}
