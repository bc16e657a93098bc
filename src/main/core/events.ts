import { EventEmitter } from 'node:events'
import type { AlertRecord } from '../../shared/monitor-alerts.js'
import type { RequestContentFilter, RequestExtraction } from '../../shared/monitor-types.js'
import type { LimitReason } from './admission/limiter.js'

/**
 * Every change in the engine is one typed event. The monitor listens here;
 * the pool and the crawler never know who is listening.
 */
export type BrowserTier = 'permanent' | 'hot' | 'cold'
export type CloseReason = 'idle' | 'retired' | 'killed' | 'crashed' | 'restarted' | 'cleanup' | 'shutdown'
export type RequestPhase = 'queued' | 'acquiring' | 'navigating' | 'extracting'
/** Why a named session ended: its idle TTL, an operator's close, its browser going away, or shutdown. */
export type SessionCloseReason = 'expired' | 'closed' | 'browser_gone' | 'shutdown' | 'timeout'

export interface EngineEvents {
  'browser:launching': { sig: string; tier: BrowserTier }
  'browser:launched': { id: string; sig: string; tier: BrowserTier; pid: number | null; launch_ms: number }
  'browser:launch_failed': { sig: string; tier: BrowserTier; error: string }
  'browser:promoted': { id: string; sig: string; from: BrowserTier; to: BrowserTier; uses: number }
  'browser:retired': { id: string; sig: string; tier: BrowserTier; pages_served: number; reason: 'pages' | 'restart' }
  'browser:closed': { id: string; sig: string; tier: BrowserTier; reason: CloseReason; idle_seconds: number; ttl_seconds: number | null; leases: number }
  'browser:crashed': { id: string; sig: string; tier: BrowserTier; leases: number }
  /** An operator restart: the fresh browser is up and takes new leases; the old one drains. */
  'browser:restarted': { old_id: string; new_id: string; sig: string; tier: BrowserTier }
  /** An operator's forced cleanup of idle cold browsers. */
  'browser:cleanup': { closed: string[]; spared_busy: string[] }
  'lease:acquired': { id: string; sig: string; request_id: string | null; pool_hit: boolean; wait_ms: number; leases: number }
  'lease:released': { id: string; sig: string; request_id: string | null; leases: number }
  'janitor:run': {
    memory_percent: number
    pressure: 'LOW' | 'MEDIUM' | 'HIGH'
    interval_seconds: number
    cold_ttl_seconds: number
    hot_ttl_seconds: number
    closed: number
  }
  /** A named session (crawler_config.session_id) opened its page on a browser it holds a lease on. */
  'session:opened': { session_id: string; browser_id: string; sig: string }
  'session:closed': { session_id: string; browser_id: string; sig: string; reason: SessionCloseReason; requests: number; age_seconds: number }
  /**
   * Pages open, callers waiting, or the page limit moved. `reason` and `change` are set when the
   * adaptive limit moved (admission/limiter.ts says why it does), null otherwise.
   */
  'admission:changed': {
    active: number
    queued: number
    limit: number
    queue_limit: number
    max_limit: number
    reason: LimitReason | null
    change: { at: number; from: number; to: number; reason: LimitReason; detail: string } | null
  }
  'admission:rejected': { queued: number; retry_after_seconds: number }
  'request:started': { id: string; endpoint: string; url: string; urls: number; config_sig: string; start_time: number }
  'request:phase': { id: string; phase: RequestPhase }
  'request:finished': {
    id: string
    endpoint: string
    url: string
    config_sig: string
    start_time: number
    end_time: number
    elapsed_ms: number
    success: boolean
    status_code: number
    error: string | null
    stack: string | null
    aborted: boolean
    pool_hit: boolean | null
    /** Every URL of the request was answered from the result cache. */
    cache_hit: boolean
    queue_wait_ms: number | null
    browser_sig: string | null
    /** What ran on the request's pages beyond the crawl (types in monitor-types.ts); absent or null: none. */
    extraction?: RequestExtraction | null
    content_filter?: RequestContentFilter | null
  }
  /** One POST of a job's webhook (redirect hops included); retry_in_ms null when it is the last. */
  'webhook:attempt': {
    delivery_id: string
    task_id: string
    url: string
    attempt: number
    status_code: number | null
    error: string | null
    duration_ms: number
    retry_in_ms: number | null
  }
  'webhook:delivered': WebhookDeliveryEvent
  /** Given up: attempts spent, a 4xx, or refused (status 'refused', no attempt made). */
  'webhook:failed': WebhookDeliveryEvent
  /** An alert rule's episode began (core/alerts/engine.ts): once per episode. */
  'alert:fired': AlertRecord
  /** That episode ended: once, after the value stayed below threshold − hysteresis for the hold time. */
  'alert:resolved': AlertRecord
}

/** A webhook delivery's end (the shape of WebhookDelivery in core/jobs/webhooks.ts). */
export interface WebhookDeliveryEvent {
  id: string
  task_id: string
  url: string
  status: 'delivered' | 'failed' | 'refused'
  attempts: number
  last_status_code: number | null
  last_error: string | null
  started_at: number
  finished_at: number
  duration_ms: number
}

export type EngineEventName = keyof EngineEvents

/** A typed wrapper over EventEmitter: listeners get exactly the payload their event declares. */
export class EngineEventBus {
  private readonly emitter = new EventEmitter()

  constructor() {
    // The monitor, SSE fan-out and metrics all listen; that is not a leak.
    this.emitter.setMaxListeners(100)
  }

  emit<K extends EngineEventName>(name: K, payload: EngineEvents[K]): void {
    // A listener that throws must never break the engine path that emitted the event.
    for (const listener of this.emitter.listeners(name)) {
      try {
        ;(listener as (p: EngineEvents[K]) => void)(payload)
      } catch (err) {
        this.emitter.emit('listener_error', { event: name, error: err })
      }
    }
  }

  on<K extends EngineEventName>(name: K, listener: (payload: EngineEvents[K]) => void): () => void {
    this.emitter.on(name, listener)
    return () => this.emitter.off(name, listener)
  }

  onListenerError(listener: (info: { event: string; error: unknown }) => void): void {
    this.emitter.on('listener_error', listener)
  }
}
