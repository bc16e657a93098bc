import { describe, expect, it } from 'vitest'
import { fmtTime } from '../../src/renderer/src/lib/format.js'
import {
  CHARTS,
  MARGIN,
  countScale,
  fmtMinute,
  plotOf,
  timeLabels,
  timeRange,
  timelineAxesLook,
  timelineLayout,
  timelineScales,
  tooltipAt,
} from '../../src/renderer/src/lib/timeline-options.js'
import { timelinePaths, yMax } from '../../src/renderer/src/lib/timeline-paths.js'
import type { TimelineTick } from '../../src/shared/monitor-types.js'

const points: TimelineTick[] = [
  { timestamp: 1_700_000_000_000, memory: 41, cpu: 12, requests: 3, browsers: { permanent: 1, hot: 2, cold: 3 } },
  { timestamp: 1_700_000_005_000, memory: 42, cpu: 14, requests: 0, browsers: { permanent: 1, hot: 2, cold: 4 } },
]

describe('timeline chart options', () => {
  it("draws every series as a line in its chart's plot: time across the range, value up from the axis", () => {
    const slots = [0, 1, 2, 3].map((i) => ({ left: i * 310, top: 20, width: 300, height: 150 }))
    const { graphic } = timelinePaths(points, slots) as {
      graphic: Array<{ id: string; type: string; shape: { points: number[][] }; style: Record<string, unknown> }>
    }
    const line = (k: number) => graphic.find((g) => g.id === `line-${k}`)!
    const area = (k: number) => graphic.find((g) => g.id === `area-${k}`)!
    // Six tracks (memory, cpu, requests, three tiers), an area and a line each; areas first (drawn under).
    expect(graphic.map((g) => g.id)).toEqual([0, 1, 2, 3, 4, 5].map((k) => `area-${k}`).concat([0, 1, 2, 3, 4, 5].map((k) => `line-${k}`)))
    const plot = plotOf(slots[0]!)
    const y = (chart: number, v: number, top: number) => plotOf(slots[chart]!).top + plotOf(slots[chart]!).height - (v / top) * plotOf(slots[chart]!).height
    // memory: straight from point to point, 0-100 axis.
    expect(line(0).shape.points).toEqual([
      [plot.left, y(0, 41, 100)],
      [plot.left + plot.width, y(0, 42, 100)],
    ])
    expect(line(0).type).toBe('polyline')
    expect(line(0).style).toMatchObject({ stroke: CHARTS[0]!.series[0]!.color, shadowBlur: 10 })
    // its area closes down to the axis under the line's ends.
    expect(area(0).shape.points).toEqual([...line(0).shape.points, [plot.left + plot.width, plot.top + plot.height], [plot.left, plot.top + plot.height]])
    // requests: a step (the count holds until the next point), on its own count scale (3 -> top 3).
    const r = plotOf(slots[2]!)
    expect(yMax(timelineScales(points))[2]).toBe(countScale(3).max)
    expect(line(2).shape.points).toEqual([
      [r.left, y(2, 3, 3)],
      [r.left + r.width, y(2, 3, 3)],
      [r.left + r.width, y(2, 0, 3)],
    ])
    // browsers: the tiers stacked (1, 1+2, 1+2+3 then 1+2+4), each area between its line and the one under it.
    const top = yMax(timelineScales(points))[3]!
    expect(top).toBe(countScale(7).max)
    const b = plotOf(slots[3]!)
    const tier = (v0: number, v1: number) => [
      [b.left, y(3, v0, top)],
      [b.left + b.width, y(3, v0, top)],
      [b.left + b.width, y(3, v1, top)],
    ]
    expect(line(3).shape.points).toEqual(tier(1, 1))
    expect(line(4).shape.points).toEqual(tier(3, 3))
    expect(line(5).shape.points).toEqual(tier(6, 7))
    expect(area(4).shape.points).toEqual([...line(4).shape.points, ...line(3).shape.points.slice().reverse()])
    expect(area(3).shape.points.slice(-2)).toEqual([
      [b.left + b.width, b.top + b.height],
      [b.left, b.top + b.height],
    ])
    // Every area is faint, the stacked tiers' less so.
    expect(area(1).style.opacity).toBeLessThan(area(4).style.opacity as number)
  })

  it('keeps every line inside its plot (values past a fixed axis are clamped) and draws nothing without points or room', () => {
    const slots = [0, 1, 2, 3].map((i) => ({ left: i * 310, top: 20, width: 300, height: 150 }))
    const wild = points.map((p) => ({ ...p, cpu: 250, memory: -5 }))
    const { graphic } = timelinePaths(wild, slots) as { graphic: Array<{ id: string; shape: { points: number[][] } }> }
    for (const g of graphic) {
      const chart = [0, 1, 2, 3, 3, 3][Number(g.id.split('-')[1])]!
      const p = plotOf(slots[chart]!)
      for (const [x, y] of g.shape.points) {
        expect(x).toBeGreaterThanOrEqual(p.left)
        expect(x).toBeLessThanOrEqual(p.left + p.width)
        expect(y).toBeGreaterThanOrEqual(p.top)
        expect(y).toBeLessThanOrEqual(p.top + p.height)
      }
    }
    const empty = (v: Record<string, unknown>) => (v.graphic as Array<{ shape: { points: unknown[] } }>).every((g) => g.shape.points.length === 0)
    expect(empty(timelinePaths([], slots))).toBe(true)
    expect(empty(timelinePaths(points, []))).toBe(true)
  })

  it("gives the axes canvas the count charts' scales, the same the lines are drawn on", () => {
    const data = timelineScales(points)
    // memory and cpu: fixed in the look; requests: largest 3; browsers: largest stack 1 + 2 + 4.
    expect(data.yAxis).toEqual([{}, {}, countScale(3), countScale(7)])
    expect(yMax(timelineScales(points))).toEqual([100, 100, countScale(3).max, countScale(7).max])
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

  it("places the HTML minute labels at their minute's fraction of the time range", () => {
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

  it("draws the y labels and grid lines, and the time axes' line, on the canvas underneath", () => {
    type Axis = { gridIndex: number; show: boolean; min?: number; max?: number; interval?: number; axisLabel: { show: boolean }; splitLine: { show: boolean } }
    const under = timelineAxesLook() as { yAxis: Axis[]; xAxis: Array<{ show?: boolean; axisLabel: { show: boolean } }>; series?: unknown; grid: unknown[] }
    expect(under.grid).toHaveLength(CHARTS.length)
    expect(under.series).toBeUndefined()
    // The time axes' line only: their labels are HTML (timeLabels).
    expect(under.xAxis.every((a) => a.show !== false && a.axisLabel.show === false)).toBe(true)
    expect(under.yAxis.every((a) => a.axisLabel.show && a.splitLine.show)).toBe(true)
    const scale = (a: Axis) => [a.gridIndex, a.min, a.max, a.interval]
    expect(under.yAxis.map(scale)).toEqual(CHARTS.map((c, i) => [i, 0, c.max, c.max === undefined ? undefined : c.max / 5]))
  })

  it("puts each chart's plot inside its slot, label margins left, never at a negative size", () => {
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

  it('puts each plot where timeline-paths draws it: the slot less the label margins', () => {
    const slot = { left: 310, top: 20, width: 300, height: 150 }
    expect(plotOf(slot)).toEqual({
      left: 310 + MARGIN.left,
      top: 20 + MARGIN.top,
      width: 300 - MARGIN.left - MARGIN.right,
      height: 150 - MARGIN.top - MARGIN.bottom,
    })
    expect((timelineLayout([slot]) as { grid: unknown[] }).grid).toEqual([plotOf(slot)])
  })

  it("tooltip: the nearest point's time and the chart's own series, each with the chart's unit", () => {
    expect(tooltipAt(points, 1, 0.2)).toEqual({
      time: fmtTime(points[0]!.timestamp),
      at: 0,
      lines: [{ name: 'cpu', color: CHARTS[1]!.series[0]!.color, text: '12 %' }],
    })
    expect(tooltipAt(points, 2, 0.8)).toMatchObject({ time: fmtTime(points[1]!.timestamp), at: 1, lines: [{ name: 'requests', text: '0' }] })
    // A tier's own count, not the stacked sum.
    expect(tooltipAt(points, 3, 1)!.lines.map((l) => `${l.name}: ${l.text}`)).toEqual(['permanent: 1', 'hot: 2', 'cold: 4'])
    // Measurements to one decimal; outside the range: the end points; nothing to show: null.
    expect(tooltipAt([{ ...points[0]!, memory: 41.2345 }], 0, -3)!.lines[0]!.text).toBe('41.2 %')
    expect(tooltipAt(points, 0, 9)!.at).toBe(1)
    expect(tooltipAt([], 0, 0.5)).toBeNull()
    expect(tooltipAt(points, 7, 0.5)).toBeNull()
    expect(tooltipAt(points, 0, Number.NaN)).toBeNull()
  })
})
