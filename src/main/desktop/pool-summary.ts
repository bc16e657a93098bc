import type { MonitorHealth } from '../../shared/monitor-types.js'

/** What the tray shows about the pool, read from the monitor's once-a-second health. */
export interface PoolSummary {
  permanent: number
  hot: number
  cold: number
  /** Pages being crawled right now. */
  active: number
  memory_percent: number
}

export function poolSummaryFrom(health: MonitorHealth): PoolSummary {
  return {
    permanent: health.pool.permanent.active ? 1 : 0,
    hot: health.pool.hot.count,
    cold: health.pool.cold.count,
    active: health.queue.active,
    memory_percent: health.container.memory_percent,
  }
}

export function formatPoolSummary(s: PoolSummary): string {
  return `crawldeck — ${s.permanent} permanent · ${s.hot} hot · ${s.cold} cold · ${s.active} active · mem ${Math.round(s.memory_percent)} %`
}
