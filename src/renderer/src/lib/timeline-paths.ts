import type { TimelineTick } from '../../../shared/monitor-types'
import { CHARTS, plotOf, timeRange, timelineScales, type SlotRect } from './timeline-options'

/**
 * The timeline's lines and areas as ECharts graphic elements in canvas pixels, worked out here
 * from the points, the slots' rectangles and the y scales. ECharts' line series did the same
 * through its whole pipeline on every new point (option merge, data stores, coordinate
 * systems, stacking, visual encoding: ~8 ms on this machine, 2x the paint itself); the graphic
 * component only updates the shapes by id and paints them. The y axes and their labels stay
 * ECharts axes on the canvas underneath (timelineAxesLook), with the same scales (yMax).
 */

/** One line (and the area under it) of one chart, in the order they are drawn. */
interface Track {
  chart: number
  color: string
  /** The value drawn: a tier's running sum on a stacked chart. */
  value: (p: TimelineTick) => number
  /** Counts are drawn as steps ('end': the value holds until the next point), measurements straight. */
  step: boolean
  /** The track this one's area reaches down to (the tier under it on a stacked chart), or -1: the axis. */
  below: number
  areaOpacity: number
}

const TRACKS: readonly Track[] = CHARTS.flatMap((spec, chart) => {
  // Index of this chart's first track among all tracks: a stacked tier's area reaches down to the tier before it.
  const first = CHARTS.slice(0, chart).reduce((n, c) => n + c.series.length, 0)
  return spec.series.map((s, k) => {
    const upTo = spec.series.slice(0, k + 1)
    return {
      chart,
      color: s.color,
      value: spec.stacked ? (p: TimelineTick) => upTo.reduce((sum, u) => sum + u.value(p), 0) : s.value,
      step: s.steps === true,
      below: spec.stacked && k > 0 ? first + k - 1 : -1,
      areaOpacity: spec.stacked ? 0.25 : s.area ? 0.08 : 0,
    }
  })
})

/** The top of each chart's y axis, from the timelineScales() the axes canvas is drawn with. */
export function yMax(scales: ReturnType<typeof timelineScales>): number[] {
  return CHARTS.map((spec, i) => spec.max ?? scales.yAxis[i]!.max!)
}

/**
 * The elements' looks (set in full with every update: ECharts resets the style of an element
 * merged without one). Areas under lines; silent, so the canvas never handles the pointer for
 * them (the tooltip is ours, TimelineCharts.vue).
 */
const AREA_LOOK = TRACKS.map((t, i) => ({ id: `area-${i}`, type: 'polygon', silent: true, z: 1, style: { fill: t.color, opacity: t.areaOpacity } }))
// The neon glow: the line's own colour, blurred.
const LINE_LOOK = TRACKS.map((t, i) => ({
  id: `line-${i}`,
  type: 'polyline',
  silent: true,
  z: 2,
  style: { stroke: t.color, lineWidth: 2, lineJoin: 'round', fill: null, shadowColor: t.color, shadowBlur: 10 },
}))

/** The chart's own options: no animation (a new point replaces the shapes at once). */
export function timelinePathsLook(): Record<string, unknown> {
  return { animation: false }
}

/** Every element with its shape: what an update sends. No points or no room: empty shapes. */
export function timelinePaths(points: readonly TimelineTick[], slots: readonly SlotRect[], scales = timelineScales(points)): Record<string, unknown> {
  const { min, max } = timeRange(points)
  const tops = yMax(scales)
  const lines: number[][][] = TRACKS.map((t) => {
    const slot = slots[t.chart]
    if (!slot || min === undefined || max === undefined) return []
    const plot = plotOf(slot)
    const top = tops[t.chart]!
    const out: number[][] = []
    for (const p of points) {
      const x = plot.left + ((p.timestamp - min) / (max - min)) * plot.width
      // Clamped into the plot: a value above a fixed 100 % axis does not draw over the next chart.
      const v = Math.min(top, Math.max(0, t.value(p)))
      const y = plot.top + plot.height - (v / top) * plot.height
      if (t.step && out.length > 0) out.push([x, out[out.length - 1]![1]!])
      out.push([x, y])
    }
    return out
  })
  const areas = TRACKS.map((t, i) => {
    const line = lines[i]!
    if (line.length === 0 || t.areaOpacity === 0) return []
    if (t.below >= 0) return [...line, ...lines[t.below]!.slice().reverse()]
    const plot = plotOf(slots[t.chart]!)
    const base = plot.top + plot.height
    return [...line, [line[line.length - 1]![0]!, base], [line[0]![0]!, base]]
  })
  return {
    graphic: [...areas.map((points, i) => ({ ...AREA_LOOK[i], shape: { points } })), ...lines.map((points, i) => ({ ...LINE_LOOK[i], shape: { points } }))],
  }
}
