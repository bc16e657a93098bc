import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { FleetInstance } from '../../../shared/monitor-fleet.js'
import type { Admission } from '../admission.js'
import type { EngineEventBus } from '../events.js'
import type { Monitor } from '../monitor/monitor.js'
import type { BrowserPool } from '../pool/pool.js'

/** An id unique to this process start: readable (host, PID) and unique among runtimes of one process. */
export function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`
}

/**
 * This instance's stable name: what it is called across restarts (its monitor history in Redis is
 * kept under it, /metrics labels its series with it), unlike its fleet id, unique per start.
 */
export function instanceName(config: { instance_name: string | null; port: number }): string {
  return config.instance_name ?? `${hostname()}:${config.port}`
}

/** What a fleet member reads of the job queue, when the runtime has one. */
export type JobCountsReader = () => unknown

export interface InstanceStateDeps {
  id: string
  /** The stable name (instanceName()). */
  name: string
  version: string
  startedAt: number
  ttlSeconds: number
  events: EngineEventBus
  pool: BrowserPool
  admission: Admission
  monitor: Monitor
}

/**
 * This instance as the fleet sees it, read fresh for each heartbeat: pool, load, health, recent
 * throughput and, when a job queue is wired in, its counts.
 */
export class InstanceState {
  address: string | null = null
  /** Set once the runtime's job queue exists (it is built after the fleet). */
  readJobs: JobCountsReader | null = null
  private completed = 0
  private errors = 0
  /** Requests finished per second of the last minute, in a ring indexed by second (bounded whatever the traffic). */
  private readonly perSecond = new Array<number>(60).fill(0)
  private readonly secondOf = new Array<number>(60).fill(-1)
  private readonly off: () => void

  constructor(private readonly deps: InstanceStateDeps) {
    this.off = deps.events.on('request:finished', (r) => {
      this.completed++
      if (!r.success) this.errors++
      const second = Math.floor(Date.now() / 1000)
      const i = second % 60
      if (this.secondOf[i] !== second) {
        this.secondOf[i] = second
        this.perSecond[i] = 0
      }
      this.perSecond[i]!++
    })
  }

  async read(): Promise<FleetInstance> {
    const { pool, admission, monitor } = this.deps
    const now = Date.now()
    const second = Math.floor(now / 1000)
    let lastMinute = 0
    for (let i = 0; i < 60; i++) if ((this.secondOf[i] as number) > second - 60) lastMinute += this.perSecond[i] as number
    const tiers = pool.tierCounts()
    const host = monitor.hostReadings()
    return {
      id: this.deps.id,
      name: this.deps.name,
      address: this.address,
      url: this.address === null ? null : `http://${this.address}`,
      hostname: hostname(),
      pid: process.pid,
      version: this.deps.version,
      started_at: this.deps.startedAt,
      heartbeat_at: now,
      ttl_seconds: this.deps.ttlSeconds,
      pool: { browsers: tiers.permanent + tiers.hot + tiers.cold, ...tiers },
      load: { active: admission.activeCount, queued: admission.queuedCount, ...admission.capacity },
      health: { cpu_percent: host.cpu_percent, memory_percent: host.memory_percent },
      requests: { completed: this.completed, errors: this.errors, per_minute: lastMinute },
      jobs: await this.jobs(),
    }
  }

  stop(): void {
    this.off()
  }

  /** Only the numeric counts: the job queue's reader is another module's, and may change shape. */
  private async jobs(): Promise<Record<string, number> | null> {
    if (this.readJobs === null) return null
    try {
      const counts = (await this.readJobs()) as Record<string, unknown> | null | undefined
      if (counts === null || typeof counts !== 'object') return null
      return Object.fromEntries(Object.entries(counts).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])))
    } catch {
      return null
    }
  }
}

/** host:port others reach an instance at, from the URL its HTTP door listens on. */
export function addressOf(listeningUrl: string): string {
  const u = new URL(listeningUrl)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  // Bound to every interface: the address says nothing to others; the host name does.
  if (host === '0.0.0.0' || host === '::') return `${hostname()}:${u.port}`
  return u.host
}
