import { Gauge, type Registry } from 'prom-client'
import { ALERT_RULE_IDS } from '../../../shared/alert-settings.js'
import type { AlertEngine } from './engine.js'

/** crawldeck_alerts_firing{alert}: 1 while the rule fires on this instance, for Prometheus alerting (docs/prometheus/). */
export function registerAlertMetrics(registry: Registry, engine: Pick<AlertEngine, 'firing'>): void {
  new Gauge({
    name: 'crawldeck_alerts_firing',
    help: "1 while the alert rule fires on this instance (the engine's own rules, docs/alerts.md), else 0",
    labelNames: ['alert'] as const,
    registers: [registry],
    collect() {
      const firing = engine.firing()
      for (const id of ALERT_RULE_IDS) this.set({ alert: id }, firing[id] ? 1 : 0)
    },
  })
}
