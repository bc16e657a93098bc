/**
 * The fleet as GET /monitor/fleet shows it: every instance that shares this one's Redis (and key
 * prefix) and has sent a heartbeat within its TTL. Without Redis the fleet is this instance alone.
 */

export interface FleetInstance {
  /** Unique per process start: host name, PID and a random part. */
  id: string
  /**
   * The instance's stable name (instance_name, else `<hostname>:<port>`), the same after a restart:
   * the key of its monitor history in Redis and the `instance` label of /metrics. Absent in records
   * of older versions.
   */
  name?: string
  /** host:port the instance serves on (fleet_address, else its listening address); null before its HTTP door is up. */
  address: string | null
  /** `http://<address>`: its API, with the dashboard at /dashboard. */
  url: string | null
  hostname: string
  pid: number
  version: string
  /** Epoch ms. */
  started_at: number
  /** Epoch ms of the heartbeat this record comes from (now, for the instance answering). */
  heartbeat_at: number
  ttl_seconds: number
  pool: { browsers: number; permanent: number; hot: number; cold: number }
  /** Pages being crawled, requests waiting, and the page limit now. */
  load: { active: number; queued: number; limit: number; queue_limit: number }
  health: { cpu_percent: number; memory_percent: number }
  /** Crawl requests finished since start, and in the last minute. */
  requests: { completed: number; errors: number; per_minute: number }
  /** The job queue's counts as this instance sees them (queued, active, completed, ...); null without jobs. */
  jobs: Record<string, number> | null
}

export interface FleetMember extends FleetInstance {
  /** This is the instance that answered the request. */
  self: boolean
  /** Milliseconds since its heartbeat, by the answering instance's clock. */
  heartbeat_age_ms: number
}

export interface FleetResponse {
  /** The id of the instance that answered. */
  self: string
  /** 'redis': instances registered in the shared Redis; 'local': no redis_url, a fleet of one. */
  backend: 'redis' | 'local'
  ttl_seconds: number
  /** This instance first, then the others by id. */
  instances: FleetMember[]
  /** Why only this instance is listed though Redis is configured (Redis unreachable), else null. */
  error: string | null
}
