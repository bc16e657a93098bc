import type { Config } from '../config.js'
import type { HistoryStore } from './history-store.js'
import { LmdbHistoryStore } from './lmdb-history-store.js'
import { RedisHistoryStore } from './redis-history-store.js'

/**
 * LMDB in <data_dir>/history, or Redis when redis_url is set (as the monitor's own store). In Redis
 * the history is per instance, never merged (a fleet's instances keep their own; the fleet view
 * sums live numbers, not history), under `instance`: the instance's stable name (fleet/instance.ts
 * instanceName(): instance_name, else host:port), not the fleet id, which is new at each start.
 */
export function openHistoryStore(config: Pick<Config, 'redis_url' | 'redis_prefix' | 'data_dir'>, instance: string): HistoryStore {
  return config.redis_url ? new RedisHistoryStore(config.redis_url, config.redis_prefix, instance) : new LmdbHistoryStore(config.data_dir)
}
