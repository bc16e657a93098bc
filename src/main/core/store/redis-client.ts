import { Redis } from 'ioredis'

/**
 * The Redis client crawldeck's stores use: it never queues commands while disconnected (a command
 * fails at once and the caller falls back: the monitor keeps its pending state, the cache misses),
 * retries a command once, and reconnects forever, gently, since Redis coming back is exactly what
 * is waited for. Errors surface through the failed commands; without a listener ioredis would log
 * each retry. Connects on the first command.
 */
export function quietRedisClient(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(200 * times, 2000),
  })
  redis.on('error', () => undefined)
  return redis
}
