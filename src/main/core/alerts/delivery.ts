import type { AlertWebhook, AlertWebhookFormat } from '../../../shared/alert-settings.js'
import type { AlertRecord } from '../../../shared/monitor-alerts.js'
import type { WebhookDelivery } from '../jobs/webhooks.js'

/*
 * Alert bodies for webhooks: crawldeck's own JSON, or what Slack's and Discord's incoming webhooks
 * accept, all POSTed (signed, retried, address-checked) by the job webhooks' sender.
 */

export const ALERT_WEBHOOK_EVENT = 'alert'

/** crawldeck's own body ('json'); `started_at` and `resolved_at` are ISO-8601 UTC. */
export interface AlertWebhookBody {
  alert: string
  status: 'firing' | 'resolved'
  severity: string
  value: number | null
  threshold: number
  unit: string
  started_at: string
  fired_at: string
  resolved_at: string | null
  instance: string
  summary: string
  id: string
}

export function jsonBody(r: AlertRecord): AlertWebhookBody {
  return {
    alert: r.alert,
    status: r.status,
    severity: r.severity,
    value: r.status === 'firing' ? r.value : r.last_value,
    threshold: r.threshold,
    unit: r.unit,
    started_at: new Date(r.started_at).toISOString(),
    fired_at: new Date(r.fired_at).toISOString(),
    resolved_at: r.resolved_at === null ? null : new Date(r.resolved_at).toISOString(),
    instance: r.instance,
    summary: r.summary,
    id: r.id,
  }
}

function headline(r: AlertRecord): string {
  return r.status === 'firing' ? `FIRING ${r.alert} (${r.severity})` : `RESOLVED ${r.alert}`
}

/** Slack's incoming webhooks: `text` (shown in notifications) plus one section block. */
export function slackBody(r: AlertRecord): { text: string; blocks: unknown[] } {
  const text = `${headline(r)}: ${r.summary}`
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${headline(r)}*\n${r.summary}` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `instance \`${r.instance}\` · since ${new Date(r.started_at).toISOString()}` }],
      },
    ],
  }
}

/** Discord's webhooks: `content` plus one embed (red while firing, green once resolved). */
export function discordBody(r: AlertRecord): { content: string; embeds: unknown[] } {
  return {
    content: `${headline(r)}: ${r.summary}`.slice(0, 2000),
    embeds: [
      {
        title: headline(r),
        description: r.summary.slice(0, 4096),
        color: r.status === 'firing' ? 0xd9534f : 0x5cb85c,
        timestamp: new Date(r.resolved_at ?? r.fired_at).toISOString(),
        fields: [
          { name: 'value', value: `${r.status === 'firing' ? r.value : (r.last_value ?? '-')} ${r.unit}`.trim(), inline: true },
          { name: 'threshold', value: `${r.threshold} ${r.unit}`.trim(), inline: true },
          { name: 'instance', value: r.instance, inline: false },
        ],
      },
    ],
  }
}

export function alertBody(format: AlertWebhookFormat, r: AlertRecord): unknown {
  return format === 'slack' ? slackBody(r) : format === 'discord' ? discordBody(r) : jsonBody(r)
}

export interface AlertPoster {
  sendJson(target: { webhook_url: string }, body: unknown, meta: { ref: string; event: string }): Promise<WebhookDelivery>
}

/** Sends `r` to every target; resolves when each delivery has ended (delivered or given up). */
export function deliverAlert(poster: AlertPoster, targets: readonly AlertWebhook[], r: AlertRecord): Promise<WebhookDelivery[]> {
  return Promise.all(
    targets.map((t) =>
      poster.sendJson({ webhook_url: t.url }, alertBody(t.format, r), { ref: `alert:${r.alert}:${r.status}`, event: `${ALERT_WEBHOOK_EVENT}.${r.status}` }),
    ),
  )
}
