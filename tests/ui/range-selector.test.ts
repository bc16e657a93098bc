import { describe, expect, it } from 'vitest'
import {
  HISTORY_METRICS,
  RANGES,
  historyCanvasHeight,
  historyChartOption,
  resolutionLabel,
  segments,
  timeAxisLabel,
  type HistoryData,
} from '../../src/renderer/src/lib/history-chart.js'
import type { TimelineResponse } from '../../src/shared/monitor-types.js'

/*
 * The long-range timeline's chart option (lib/history-chart.ts): nulls stay nulls and the lines
 * break there, one zoom drives every time axis, the slider only at desktop widths. The range
 * selector itself, against the real service in Chromium: range-selector.e2e.test.ts.
 */

const T0 = Date.UTC(2026, 0, 1)

function response(metric: TimelineResponse['metric'], values: TimelineResponse['values'], res = 60): TimelineResponse {
  const timestamps = values.map((_, i) => T0 / 1000 + i * res)
  return { metric, window: `${values.length * res}s`, resolution_seconds: res, timestamps, timestamps_ms: timestamps.map((t) => t * 1000), values }
}

function data(res = 60): HistoryData {
  return {
    memory: response('memory', [10, 20, null, null, 30], res),
    cpu: response('cpu', [1, null, 2, 3, 4], res),
    requests: response('requests', [0, 5, null, 1, 0], res),
    browsers: response('browsers', [{ permanent: 1, hot: 2, cold: 0 }, null, null, { permanent: 1, hot: 0, cold: 3 }, { permanent: 1, hot: 1, cold: 1 }], res),
  }
}

type Series = { type: string; name: string; data: Array<[number, number | null]>; connectNulls: boolean; xAxisIndex: number; stack?: string }

describe('history chart option', () => {
  it('keeps nulls as gaps: every line is drawn with connectNulls off, null points where nothing was recorded', () => {
    const option = historyChartOption(data(), { columns: 4, slider: true })
    const series = option.series as Series[]
    expect(series.map((s) => s.name)).toEqual(['memory', 'cpu', 'requests', 'permanent', 'hot', 'cold'])
    for (const s of series) {
      expect(s.type).toBe('line')
      expect(s.connectNulls).toBe(false)
    }
    expect(series[0]!.data).toEqual([
      [T0, 10],
      [T0 + 60_000, 20],
      [T0 + 120_000, null],
      [T0 + 180_000, null],
      [T0 + 240_000, 30],
    ])
    // A tier of a missing bucket is missing too, not 0.
    expect(series[4]!.data.map(([, v]) => v)).toEqual([2, null, null, 0, 1])
    // The tiers stack on their own chart only.
    expect(new Set(series.slice(3).map((s) => s.stack))).toEqual(new Set(['stack-3']))
    expect(series[0]!.stack).toBeUndefined()
  })

  it('zooms every chart together; the slider only where there is room for it', () => {
    const wide = historyChartOption(data(), { columns: 4, slider: true })
    const zooms = wide.dataZoom as Array<{ type: string; xAxisIndex: number[] }>
    expect(zooms.map((z) => z.type)).toEqual(['inside', 'slider'])
    for (const z of zooms) expect(z.xAxisIndex).toEqual([0, 1, 2, 3])
    const phone = historyChartOption(data(), { columns: 1, slider: false })
    expect((phone.dataZoom as Array<{ type: string }>).map((z) => z.type)).toEqual(['inside'])
    // Stacked on a phone: four rows of cells, and no room kept for a slider.
    expect(historyCanvasHeight({ columns: 1, slider: false })).toBe(4 * historyCanvasHeight({ columns: 4, slider: false }))
    const tops = (phone.grid as Array<{ top: number }>).map((g) => g.top)
    expect(new Set(tops).size).toBe(4)
    expect(new Set((wide.grid as Array<{ top: number }>).map((g) => g.top)).size).toBe(1)
  })

  it('names the counts by their resolution, and spans the time axes over the whole window', () => {
    const hourly = historyChartOption(data(3600), { columns: 2, slider: true })
    expect((hourly.title as Array<{ text: string }>).map((t) => t.text)).toContain('REQUESTS / 1 H')
    expect((historyChartOption(data(), { columns: 2, slider: true }).title as Array<{ text: string }>).map((t) => t.text)).toContain('REQUESTS / 1 MIN')
    for (const x of hourly.xAxis as Array<{ min: number; max: number; type: string }>) {
      expect(x).toMatchObject({ type: 'time', min: T0, max: T0 + 4 * 3_600_000 })
    }
    expect(resolutionLabel(5)).toBe('5 s')
    expect(resolutionLabel(60)).toBe('1 min')
    expect(resolutionLabel(3600)).toBe('1 h')
  })

  it('counts the stretches a line is drawn in', () => {
    expect(segments([1, 2, 3])).toBe(1)
    expect(segments([null, 1, null, null, 2, 3, null])).toBe(2)
    expect(segments([null, null])).toBe(0)
    expect(segments([])).toBe(0)
  })

  it('labels a midnight tick with its date and any other with its time', () => {
    const midnight = new Date(2026, 4, 7, 0, 0).getTime()
    expect(timeAxisLabel(midnight)).toBe('05-07')
    expect(timeAxisLabel(new Date(2026, 4, 7, 13, 45).getTime())).toBe('13:45')
  })

  it('offers live and the four named ranges, and fetches the four charted metrics', () => {
    expect(RANGES.map((r) => [r.key, r.window])).toEqual([
      ['live', null],
      ['1h', '1h'],
      ['24h', '24h'],
      ['7d', '7d'],
      ['30d', '30d'],
    ])
    expect([...HISTORY_METRICS]).toEqual(['memory', 'cpu', 'requests', 'browsers'])
  })
})
