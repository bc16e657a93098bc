import type { ServiceImpl } from '../../../shared/contract.js'
import type { ResultCache } from '../cache/result-cache.js'

/** POST /monitor/actions/cache_clear: every entry of the result cache removed, counted. */
export function createCacheService(cache: ResultCache): Pick<ServiceImpl, 'monitorCacheClear'> {
  return {
    async monitorCacheClear() {
      const cleared = await cache.clear()
      return { success: true, cleared_entries: cleared.entries, cleared_bytes: cleared.bytes }
    },
  }
}
