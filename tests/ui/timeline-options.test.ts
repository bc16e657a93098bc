import { describe, expect, it } from 'vitest'
import { fmtTime } from '../../src/renderer/src/lib/format.js'
import {
  CHARTS,
  countScale,
  fmtMinute,
  timeLabels,
  timeRange,
  timelineAxesLook,
  timelineData,
  timelineLayout,
  timelineLook,
  timelineScales,
  tooltipHtml,
} from '../../src/renderer/src/lib/timeline-options.js'
import type { TimelineTick } from '../../src/shared/monitor-types.js'

const HOSTILE = '<img src=x onerror=alert(1)>'
const points: TimelineTick[] = [
  { timestamp: 1_700_000_000_000, memory: 41, cpu: 12, requests: 3, browsers: { permanent: 1, hot: 2, cold: 3 } },
  { timestamp: 1_700_000_005_000, memory: 42, cpu: 14, requests: 0, browsers: { permanent: 1, hot: 2, cold: 4 } },
]

describe('timeline chart options', () => {
  it('sends only the series data on an update: [time, value] pairs per series, every chart in order', () => {
    const at = (i: number) => points[i]!.timestamp
    expect(timelineData(points)).toMatchObject({
      series: [
        { data: [[at(0), 41], [at(1), 42]] }, // memory
        { data: [[at(0), 12], [at(1), 14]] }, // cpu
        { data: [[at(0), 3], [at(1), 0]] }, // requests
        { data: [[at(0), 1], [at(1), 1]] }, // browsers: permanent, hot, cold
        { data: [[at(0), 2], [at(1), 2]] },
        { data: [[at(0), 3], [at(1), 4]] },
      ],
    })
  })

  it('sends with the data each chart\'s time range and the count charts\' scales; no label for ECharts to lay out', () => {
    const data = timelineData(points) as { xAxis: unknown[]; yAxis: unknown[] }
    const x = { min: points[0]!.timestamp, max: points[1]!.timestamp }
    expect(data.xAxis).toEqual(CHARTS.map(() => x))
    // memory and cpu: fixed in the look; requests: largest 3; browsers: largest stack 1 + 2 + 4.
    expect(data.yAxis).toEqual([{}, {}, countScale(3), countScale(7)])
    expect(timelineScales(points)).toEqual({ yAxis: data.yAxis })
    expect(countScale(7)).toEqual({ max: 8, interval: 2 })
  })

  it('labels the time axes on the whole minutes between the first point and the last, ends included', () => {
    const min = 1_700_000_030_000 // 22:13:50 UTC
    const at = (t: number) => ({ ...points[0]!, timestamp: t })
    expect(timeRange([at(min), at(min + 180_000)])).toEqual({ min, max: min + 180_000, minutes: [min + 10_000, min + 70_000, min + 130_000] })
    expect(timeRange([at(min + 10_000), at(min + 70_000)]).minutes).toEqual([min + 10_000, min + 70_000])
    expect(timeRange([at(min), at(min + 5_000)]).minutes).toEqual([])
    expect(timeRange([])).toEqual({ min: undefined, max: undefined, minutes: [] })
    // One point: a range one 5 s step wide, not zero.
    expect(timeRange([at(min + 10_000)])).toEqual({ min: min + 10_000, max: min + 15_000, minutes: [min + 10_000] })
    expect(fmtMinute(min + 10_000)).toBe(fmtTime(min + 10_000).slice(0, 5))
    expect(fmtMinute(min + 10_000)).toMatch(/^\d\d:\d\d$/)
  })

  it('places the HTML minute labels at their minute\'s fraction of the time range', () => {
    const min = 1_700_000_030_000 // 22:13:50 UTC: the whole minutes of the range are 10 s, 70 s and 130 s in
    const at = (t: number) => ({ ...points[0]!, timestamp: t })
    expect(timeLabels([at(min), at(min + 180_000)])).toEqual([
      { t: min + 10_000, text: fmtMinute(min + 10_000), at: 10 / 180 },
      { t: min + 70_000, text: fmtMinute(min + 70_000), at: 70 / 180 },
      { t: min + 130_000, text: fmtMinute(min + 130_000), at: 130 / 180 },
    ])
    expect(timeLabels([])).toEqual([])
    // One point: its own minute, at the start of a range one step wide.
    expect(timeLabels([at(min + 10_000)])).toEqual([{ t: min + 10_000, text: fmtMinute(min + 10_000), at: 0 }])
  })

  it('scales the count charts in about five steps of 1, 2 or 5 times a power of ten, never under 1', () => {
    expect(countScale(0)).toEqual({ max: 1, interval: 1 })
    expect(countScale(Number.NaN)).toEqual({ max: 1, interval: 1 })
    expect(countScale(1)).toEqual({ max: 1, interval: 1 })
    expect(countScale(4)).toEqual({ max: 4, interval: 1 })
    expect(countScale(5)).toEqual({ max: 5, interval: 1 })
    expect(countScale(6)).toEqual({ max: 6, interval: 2 })
    expect(countScale(50)).toEqual({ max: 50, interval: 10 })
    expect(countScale(51)).toEqual({ max: 60, interval: 20 })
    expect(countScale(230)).toEqual({ max: 250, interval: 50 })
    expect(countScale(1000)).toEqual({ max: 1000, interval: 200 })
    for (let v = 0; v <= 2000; v += 7) {
      const { max, interval } = countScale(v)
      expect(max).toBeGreaterThanOrEqual(v)
      expect(max / interval).toBeLessThanOrEqual(6)
      expect(Number.isInteger(max / interval)).toBe(true)
      expect(interval).toBeGreaterThanOrEqual(1)
    }
  })

  it('draws the y labels and grid lines on the canvas underneath only, with the same scales', () => {
    type Axis = { gridIndex: number; show: boolean; min?: number; max?: number; interval?: number; axisLabel: { show: boolean }; splitLine: { show: boolean } }
    const top = timelineLook() as { yAxis: Axis[] }
    const under = timelineAxesLook() as { yAxis: Axis[]; xAxis: Array<{ show?: boolean; axisLabel: { show: boolean } }>; series?: unknown; grid: unknown[] }
    expect(under.grid).toHaveLength(CHARTS.length)
    expect(under.series).toBeUndefined()
    // The time axes' line only: their labels are HTML (timeLabels).
    expect(under.xAxis.every((a) => a.show !== false && a.axisLabel.show === false)).toBe(true)
    expect(top.yAxis.every((a) => !a.show && !a.axisLabel.show && !a.splitLine.show)).toBe(true)
    expect(under.yAxis.every((a) => a.show && a.axisLabel.show && a.splitLine.show)).toBe(true)
    const scale = (a: Axis) => [a.gridIndex, a.min, a.max, a.interval]
    expect(under.yAxis.map(scale)).toEqual(top.yAxis.map(scale))
    expect(top.yAxis.map(scale)).toEqual(CHARTS.map((c, i) => [i, 0, c.max, c.max === undefined ? undefined : c.max / 5]))
  })

  it('keeps the look (glow, colours, time axes, stacked tiers) in the options set once: one grid per chart', () => {
    type Look = {
      grid: unknown[]
      xAxis: Array<{ type: string; gridIndex: number; show: boolean }>
      yAxis: Array<{ gridIndex: number; max?: number }>
      series: Array<{ name: string; xAxisIndex: number; yAxisIndex: number; stack?: string; data: unknown[]; lineStyle: { shadowBlur: number; color: string } }>
    }
    const look = timelineLook() as Look
    expect(look.grid).toHaveLength(CHARTS.length)
    expect(look.xAxis.map((a) => [a.type, a.gridIndex, a.show])).toEqual(CHARTS.map((_, i) => ['value', i, false]))
    expect(look.yAxis.map((a) => [a.gridIndex, a.max])).toEqual(CHARTS.map((c, i) => [i, c.max]))
    const expected = CHARTS.flatMap((c, i) => c.series.map((s) => ({ name: s.name, color: s.color, axis: i, stacked: Boolean(c.stacked) })))
    expect(look.series).toHaveLength(expected.length)
    look.series.forEach((s, k) => {
      const e = expected[k]!
      expect([s.name, s.xAxisIndex, s.yAxisIndex, s.lineStyle.color]).toEqual([e.name, e.axis, e.axis, e.color])
      expect(s.lineStyle.shadowBlur).toBeGreaterThan(0)
      expect(s.data).toEqual([])
      // The browsers' tiers stack on each other, nothing else stacks.
      expect(Boolean(s.stack)).toBe(e.stacked)
    })
    expect(new Set(look.series.filter((s) => s.stack).map((s) => s.stack)).size).toBe(1)
  })

  it('puts each chart\'s plot inside its slot, label margins left, never at a negative size', () => {
    const layout = timelineLayout([
      { left: 0, top: 20, width: 300, height: 150 },
      { left: 310, top: 20, width: 300, height: 150 },
      { left: 0, top: 200, width: 10, height: 10 },
    ]) as { grid: Array<{ left: number; top: number; width: number; height: number }> }
    expect(layout.grid).toHaveLength(3)
    const [a, b, tiny] = layout.grid
    expect(a!.left).toBeGreaterThan(0)
    expect(a!.left + a!.width).toBeLessThan(300)
    expect(a!.top).toBeGreaterThan(20)
    expect(a!.top + a!.height).toBeLessThan(170)
    expect(b!.left - a!.left).toBe(310)
    expect(b!.width).toBe(a!.width)
    expect(tiny).toMatchObject({ width: 0, height: 0 })
  })

  it('puts the tooltip in the chart\'s own element (so ECharts never reads that element\'s computed style on a redraw)', () => {
    const tooltip = (timelineLook() as { tooltip: { appendTo?: (dom: unknown) => unknown } }).tooltip
    const dom = {}
    expect(tooltip.appendTo?.(dom)).toBe(dom)
  })

  it('gives the tooltip the unit of the chart it is for', () => {
    const formatter = (timelineLook() as { tooltip: { formatter: (p: unknown) => string } }).tooltip.formatter
    const series = CHARTS.flatMap((c) => c.series.map((s) => ({ chart: c.key, name: s.name })))
    const param = (name: string) => ({ axisValue: points[0]!.timestamp, seriesIndex: series.findIndex((s) => s.name === name), seriesName: name, value: [points[0]!.timestamp, 7] })
    expect(formatter([param('cpu')])).toContain('cpu: <b>7</b> %')
    expect(formatter([param('requests')])).toContain('requests: <b>7</b>')
    expect(formatter([param('requests')])).not.toContain('%')
    const tiers = formatter(['permanent', 'hot', 'cold'].map(param))
    expect(tiers.split('<br>')).toHaveLength(4)
  })

  it('escapes everything in the tooltip HTML, the time heading included', () => {
    const html = tooltipHtml([{ axisValue: points[0]!.timestamp, seriesName: HOSTILE, value: [points[0]!.timestamp, HOSTILE], color: `red">${HOSTILE}` }], ' %')
    expect(html).not.toContain('<img')
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(html.startsWith(fmtTime(points[0]!.timestamp))).toBe(true)
    expect(tooltipHtml({ axisValue: 'x', seriesName: 'cpu', value: [0, 5] }, ' %')).toContain('cpu: <b>5</b> %')
  })
})
