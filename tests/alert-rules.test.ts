import { describe, expect, it } from 'vitest'
import { AlertSettingsPatchSchema, DEFAULT_ALERT_SETTINGS, mergeAlertSettings, type AlertSettingsPatch } from '../src/shared/alert-settings.js'
import type { AlertRecord } from '../src/shared/monitor-alerts.js'
import { alertBody } from '../src/main/core/alerts/delivery.js'
import {
  departures,
  errorRatePercent,
  INITIAL_STATE,
  limitsOf,
  p95,
  stepRule,
  type RuleLimits,
  type RuleState,
  type RuleTransition,
} from '../src/main/core/alerts/rules.js'

/** The alert rules' state machine and readings, pure, over a clock moved by hand. */

const LIMITS: RuleLimits = { enabled: true, threshold: 90, hysteresis: 5, for_seconds: 30, resolve_after_seconds: 10 }

/** Feeds (ms since start, value) readings through a rule; returns the transitions with when they happened. */
function run(readings: Array<[number, number | null]>, limits: RuleLimits = LIMITS): { transitions: Array<[number, RuleTransition]>; state: RuleState } {
  let state: RuleState = { ...INITIAL_STATE }
  const transitions: Array<[number, RuleTransition]> = []
  for (const [at, value] of readings) {
    const step = stepRule(state, value, limits, 1_000_000 + at)
    state = step.state
    if (step.transition) transitions.push([at, step.transition])
  }
  return { transitions, state }
}

/** One reading a second from `from` to `to` ms, all `value`. */
const steady = (from: number, to: number, value: number | null): Array<[number, number | null]> =>
  Array.from({ length: Math.floor((to - from) / 1000) + 1 }, (_, i) => [from + i * 1000, value])

describe('alert rule state machine', () => {
  it('fires once, after the condition held for `for_seconds`, and not again while firing', () => {
    const { transitions, state } = run(steady(0, 120_000, 95))
    expect(transitions).toHaveLength(1)
    const [at, t] = transitions[0]!
    expect(at).toBe(30_000)
    expect(t).toMatchObject({ kind: 'fired', value: 95, started_at: 1_000_000, fired_at: 1_030_000 })
    expect(state.phase).toBe('firing')
  })

  it('a condition that breaks before `for_seconds` starts over and never fires', () => {
    const readings = [...steady(0, 29_000, 95), [29_500, 80] as [number, number], ...steady(30_000, 58_000, 95)]
    expect(run(readings).transitions).toHaveLength(0)
  })

  it('hysteresis: wobbling just under the threshold keeps it firing; it resolves once, below threshold − hysteresis for the hold time', () => {
    const readings: Array<[number, number | null]> = [
      ...steady(0, 30_000, 95),
      // 86-89: under the threshold, above threshold − hysteresis (85): still firing, no event.
      ...steady(31_000, 60_000, 87),
      ...steady(61_000, 64_000, 91),
      // Below 85, but back up before the 10 s hold: no resolve.
      ...steady(65_000, 70_000, 80),
      [71_000, 92],
      // Below 85 for 10 s: resolved, once.
      ...steady(72_000, 200_000, 70),
    ]
    const { transitions, state } = run(readings)
    expect(transitions.map(([at, t]) => [at, t.kind])).toEqual([
      [30_000, 'fired'],
      [82_000, 'resolved'],
    ])
    expect(transitions[1]![1]).toMatchObject({ kind: 'resolved', value: 70, peak: 95, fired_value: 95, fired_at: 1_030_000, resolved_at: 1_082_000 })
    expect(state.phase).toBe('ok')
  })

  it('a second episode fires and resolves again', () => {
    const limits = { ...LIMITS, for_seconds: 0, resolve_after_seconds: 0 }
    const { transitions } = run([...steady(0, 3000, 95), ...steady(4000, 6000, 10), ...steady(7000, 9000, 99), [10_000, 0]], limits)
    expect(transitions.map(([at, t]) => [at, t.kind])).toEqual([
      [0, 'fired'],
      [4000, 'resolved'],
      [7000, 'fired'],
      [10_000, 'resolved'],
    ])
  })

  it('nothing to measure (null) counts as clear; switching a firing rule off resolves it once', () => {
    const limits = { ...LIMITS, for_seconds: 0, resolve_after_seconds: 0 }
    expect(
      run(
        [
          [0, null],
          [1000, null],
        ],
        limits,
      ).transitions,
    ).toHaveLength(0)
    let state: RuleState = { ...INITIAL_STATE }
    state = stepRule(state, 95, limits, 0).state
    const off = stepRule(state, 95, { ...limits, enabled: false }, 1000)
    expect(off.transition).toMatchObject({ kind: 'resolved' })
    expect(stepRule(off.state, 95, { ...limits, enabled: false }, 2000).transition).toBeNull()
  })

  it('state rules fire on 1 and resolve on 0', () => {
    const limits = limitsOf('permanent_browser_down', DEFAULT_ALERT_SETTINGS.rules)
    expect(limits).toMatchObject({ threshold: 1, hysteresis: 0, for_seconds: 15 })
    const { transitions } = run([...steady(0, 20_000, 1), ...steady(21_000, 40_000, 0)], limits)
    expect(transitions.map(([at, t]) => [at, t.kind])).toEqual([
      [15_000, 'fired'],
      [26_000, 'resolved'],
    ])
  })
})

describe('alert readings', () => {
  it('error rate over the last N outcomes, none below the minimum', () => {
    const outcomes = [...Array(40).fill(true), ...Array(10).fill(false)] as boolean[]
    expect(errorRatePercent(outcomes, 50, 10)).toBe(20)
    expect(errorRatePercent(outcomes, 10, 10)).toBe(100)
    expect(errorRatePercent(outcomes.slice(0, 9), 50, 10)).toBeNull()
  })

  it('p95 by nearest rank', () => {
    expect(p95([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1000], 1)).toBe(19)
    expect(p95([5], 1)).toBe(5)
    expect(p95([5], 2)).toBeNull()
  })

  it('a fleet member whose registration outlived its TTL is gone uncleanly; one removed sooner left cleanly', () => {
    const seen = new Map([
      ['crashed', { heartbeat_at: 0, ttl_seconds: 15 }],
      ['drained', { heartbeat_at: 10_000, ttl_seconds: 15 }],
      ['alive', { heartbeat_at: 14_000, ttl_seconds: 15 }],
    ])
    expect(departures(seen, new Set(['alive']), 15_000)).toEqual({ expired: ['crashed'], left: ['drained'] })
  })
})

describe('alert settings', () => {
  it('a patch changes only what it names; a hysteresis at or above the threshold is refused with its path', () => {
    const patch = AlertSettingsPatchSchema.parse({ rules: { memory_high: { threshold: 50 } } }) as AlertSettingsPatch
    const { value, issues } = mergeAlertSettings(DEFAULT_ALERT_SETTINGS, patch)
    expect(issues).toEqual([])
    expect(value.rules.memory_high).toEqual({ ...DEFAULT_ALERT_SETTINGS.rules.memory_high, threshold: 50 })
    expect(value.rules.error_rate).toEqual(DEFAULT_ALERT_SETTINGS.rules.error_rate)
    const bad = mergeAlertSettings(DEFAULT_ALERT_SETTINGS, { rules: { memory_high: { threshold: 5 } } })
    expect(bad.issues).toEqual([{ path: 'alerts.rules.memory_high.hysteresis', message: expect.stringContaining('below the threshold') }])
  })

  it('every rule is on by default', () => {
    for (const rule of Object.values(DEFAULT_ALERT_SETTINGS.rules)) expect(rule.enabled).toBe(true)
  })

  it('webhooks: http(s) only, known formats, no unknown keys', () => {
    expect(AlertSettingsPatchSchema.safeParse({ webhooks: [{ url: 'ftp://x/y' }] }).success).toBe(false)
    expect(AlertSettingsPatchSchema.safeParse({ webhooks: [{ url: 'https://x/y', format: 'teams' }] }).success).toBe(false)
    expect(AlertSettingsPatchSchema.safeParse({ rules: { memory_high: { treshold: 5 } } }).success).toBe(false)
    expect(AlertSettingsPatchSchema.parse({ webhooks: [{ url: 'https://x/y' }] }).webhooks?.[0]?.format).toBe('json')
  })
})

describe('alert bodies', () => {
  const record: AlertRecord = {
    id: 'alr_1',
    alert: 'memory_high',
    severity: 'warning',
    status: 'firing',
    value: 93.5,
    peak: 93.5,
    last_value: 93.5,
    threshold: 90,
    unit: '%',
    started_at: Date.UTC(2026, 0, 1, 0, 0, 0),
    fired_at: Date.UTC(2026, 0, 1, 0, 0, 30),
    resolved_at: null,
    instance: 'host-1',
    summary: 'memory use 93.5 % is at or above 90 % for 30 s',
  }

  it('generic JSON carries alert, status, value, threshold, times, instance and summary', () => {
    expect(alertBody('json', record)).toMatchObject({
      alert: 'memory_high',
      status: 'firing',
      value: 93.5,
      threshold: 90,
      started_at: '2026-01-01T00:00:00.000Z',
      resolved_at: null,
      instance: 'host-1',
      summary: record.summary,
    })
  })

  it('Slack gets text (+ blocks), Discord content (+ embeds)', () => {
    const slack = alertBody('slack', record) as { text: string; blocks: unknown[] }
    expect(slack.text).toContain('FIRING memory_high')
    expect(slack.blocks.length).toBeGreaterThan(0)
    const discord = alertBody('discord', { ...record, status: 'resolved', resolved_at: record.fired_at + 60_000, last_value: 70 }) as {
      content: string
      embeds: Array<{ color: number }>
    }
    expect(discord.content).toContain('RESOLVED memory_high')
    expect(discord.embeds[0]!.color).toBe(0x5cb85c)
  })
})
