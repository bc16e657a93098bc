import type { TimelineTick } from '../../../shared/monitor-types'
import { fmtTime } from './format'

/**
 * The resource timeline's charts: what each shows (CHARTS), its axes (an ECharts canvas under
 * the lines, redrawn only when a count scale changes), its time labels (HTML) and its tooltip's
 * content. The lines and areas themselves are timeline-paths.ts.
 */

const CYAN = '#3fe0d0'
const PINK = '#ff4fa3'
const VIOLET = '#a98bff'
const AMBER = '#ffb347'

export type ChartKey = 'memory' | 'cpu' | 'requests' | 'browsers'

interface SeriesSpec {
  name: string
  color: string
  value: (p: TimelineTick) => number
  area?: boolean
  /** Counts are drawn as steps (a count holds until the next point); measurements go straight from point to point. */
  steps?: boolean
}

export interface ChartSpec {
  key: ChartKey
  title: string
  unit: string
  max?: number
  stacked?: boolean
  series: SeriesSpec[]
}

export const CHARTS: readonly ChartSpec[] = [
  { key: 'memory', title: 'memory %', unit: ' %', max: 100, series: [{ name: 'memory', color: CYAN, value: (p) => p.memory, area: true }] },
  { key: 'cpu', title: 'cpu %', unit: ' %', max: 100, series: [{ name: 'cpu', color: PINK, value: (p) => p.cpu, area: true }] },
  { key: 'requests', title: 'requests / 5 s', unit: '', series: [{ name: 'requests', color: AMBER, value: (p) => p.requests, area: true, steps: true }] },
  {
    key: 'browsers',
    title: 'browsers by tier',
    unit: '',
    stacked: true,
    series: [
      { name: 'permanent', color: VIOLET, value: (p) => p.browsers.permanent, steps: true },
      { name: 'hot', color: PINK, value: (p) => p.browsers.hot, steps: true },
      { name: 'cold', color: CYAN, value: (p) => p.browsers.cold, steps: true },
    ],
  },
]

/** Where one chart's plot sits inside the shared canvas, in px from its top-left corner. */
export interface SlotRect {
  left: number
  top: number
  width: number
  height: number
}

/** Margins between a chart's slot and its plot: room for the y labels (left) and the time labels (bottom). */
export const MARGIN = { left: 40, right: 18, top: 12, bottom: 22 }

/**
 * The value axes. Percentages on a fixed 0-100 by 20; counts on a range and step we work out from
 * the data (timelineScales), so ECharts does not search a nice scale on each redraw.
 */
function yAxes(): Record<string, unknown>[] {
  return CHARTS.map((spec, i) => ({
    type: 'value',
    gridIndex: i,
    min: 0,
    max: spec.max,
    interval: spec.max === undefined ? undefined : spec.max / 5,
    // Labels and grid lines only: the time axis' line is the plot's bottom edge.
    axisLine: { show: false },
    axisTick: { show: false },
    splitLine: { show: true, lineStyle: { color: '#121b26' } },
    axisLabel: { show: true, color: '#4d5d70', fontSize: 10, fontFamily: 'monospace' },
  }))
}

/**
 * The canvas under the timeline: the y labels and grid lines of the four charts, no series. They
 * change only when a count chart's scale does, so a new point redraws neither them nor their
 * labels (about half of all the labels; building and painting labels was most of the axis work).
 * It gets the same layout (timelineLayout) and is sent timelineScales() when that changes.
 */
export function timelineAxesLook(): Record<string, unknown> {
  return {
    animation: false,
    silent: true,
    grid: CHARTS.map(() => ({ outerBoundsMode: 'none' })),
    // Only the time axes' line: it does not move with the data (the minute labels are HTML).
    xAxis: CHARTS.map((_, i) => ({
      type: 'value',
      gridIndex: i,
      min: 0,
      max: 1,
      axisLine: { lineStyle: { color: '#1d2a38' } },
      axisLabel: { show: false },
      axisTick: { show: false },
      splitLine: { show: false },
    })),
    yAxis: yAxes(),
  }
}

/** Where a chart's plot lies in the timeline's canvases: its slot (laid out by CSS) less the label margins. */
export function plotOf(slot: SlotRect): { left: number; top: number; width: number; height: number } {
  return {
    left: slot.left + MARGIN.left,
    top: slot.top + MARGIN.top,
    width: Math.max(0, slot.width - MARGIN.left - MARGIN.right),
    height: Math.max(0, slot.height - MARGIN.top - MARGIN.bottom),
  }
}

/** The axes canvas' four grids, one on each plot. */
export function timelineLayout(slots: readonly SlotRect[]): Record<string, unknown> {
  return { grid: slots.map(plotOf) }
}

const MINUTE = 60_000

/** The timeline's resolution: a time axis spans at least this much, so one point is not a zero-width range. */
const STEP = 5_000

/**
 * A time axis' range, from the first point to the last (at least one 5 s step), and its labels:
 * every whole minute in it (whole local minutes too: every time zone's offset is whole minutes).
 * No points: no range (ECharts then fits whatever there is) and no labels.
 */
export function timeRange(points: readonly TimelineTick[]): { min?: number; max?: number; minutes: number[] } {
  if (points.length === 0) return { min: undefined, max: undefined, minutes: [] }
  const min = points[0]!.timestamp
  const max = Math.max(points[points.length - 1]!.timestamp, min + STEP)
  const minutes: number[] = []
  for (let t = Math.ceil(min / MINUTE) * MINUTE; t <= max; t += MINUTE) minutes.push(t)
  return { min, max, minutes }
}

/**
 * A count axis' top and step: about five steps of 1, 2 or 5 times a power of ten (never under 1:
 * counts are whole), the top the first step at or above the largest value, and at least one step.
 */
export function countScale(largest: number): { max: number; interval: number } {
  const top = Number.isFinite(largest) && largest > 0 ? largest : 0
  const raw = Math.max(1, top / 5)
  const pow = 10 ** Math.floor(Math.log10(raw))
  const interval = [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= raw - 1e-9)!
  return { max: Math.max(interval, Math.ceil(top / interval - 1e-9) * interval), interval }
}

const minuteLabels = new Map<number, string>()
/** A time label, local HH:MM; one string per minute, kept (the window shows five). */
export function fmtMinute(t: number): string {
  let label = minuteLabels.get(t)
  if (label === undefined) {
    if (minuteLabels.size > 64) minuteLabels.clear()
    label = fmtTime(t).slice(0, 5)
    minuteLabels.set(t, label)
  }
  return label
}

/** One minute label under a time axis: its text, and where it sits as a fraction of the plot's width. */
export interface TimeLabel {
  t: number
  text: string
  at: number
}

/** The time axes' labels (the same for the four charts): every whole minute in the range. */
export function timeLabels(points: readonly TimelineTick[]): TimeLabel[] {
  const { min, max, minutes } = timeRange(points)
  if (min === undefined || max === undefined) return []
  return minutes.map((t) => ({ t, text: fmtMinute(t), at: (t - min) / (max - min) }))
}

/**
 * The y scales of the four charts: nothing for the percentages (fixed in the look), a top and a
 * step for the counts, from their largest value (the stacked tiers: their largest sum).
 */
export function timelineScales(points: readonly TimelineTick[]): { yAxis: Array<{ max?: number; interval?: number }> } {
  return {
    yAxis: CHARTS.map((spec) => {
      if (spec.max !== undefined) return {}
      const at = (p: TimelineTick) => (spec.stacked ? spec.series.reduce((sum, s) => sum + s.value(p), 0) : Math.max(...spec.series.map((s) => s.value(p))))
      return countScale(points.reduce((m, p) => Math.max(m, at(p)), 0))
    }),
  }
}

/** One line of a chart's tooltip: a series, its colour and its value with the chart's unit. */
export interface TooltipLine {
  name: string
  color: string
  text: string
}

/**
 * What the tooltip of chart `chart` shows at `at` (a fraction of the time range, 0 = the first
 * point): the nearest point's time and each of the chart's series (a tier's own count, not the
 * stacked sum), and where that point lies. Plain strings: the tooltip renders them as text.
 */
export function tooltipAt(points: readonly TimelineTick[], chart: number, at: number): { time: string; at: number; lines: TooltipLine[] } | null {
  const spec = CHARTS[chart]
  const { min, max } = timeRange(points)
  if (!spec || min === undefined || max === undefined || !Number.isFinite(at)) return null
  const t = min + Math.min(1, Math.max(0, at)) * (max - min)
  let nearest = points[0]!
  for (const p of points) if (Math.abs(p.timestamp - t) < Math.abs(nearest.timestamp - t)) nearest = p
  return {
    time: fmtTime(nearest.timestamp),
    // Where that point is, as a fraction of the range: the pointer line is drawn there.
    at: (nearest.timestamp - min) / (max - min),
    lines: spec.series.map((s) => ({ name: s.name, color: s.color, text: `${fmtValue(s.value(nearest))}${spec.unit}` })),
  }
}

/** Counts as they are; percentages to one decimal. */
function fmtValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1)
}
