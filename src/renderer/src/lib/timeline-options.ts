import type { TimelineTick } from '../../../shared/monitor-types'
import { escapeHtml, fmtTime } from './format'

/**
 * ECharts options of the resource timeline, split in three: the look (axes, colours, glow,
 * tooltip), set once when the chart is created; the layout (where each chart's grid sits), set
 * when the page is resized; and the data, the only part sent on each update.
 * A merge of just `series[].data` spares ECharts re-merging and re-checking
 * every style on every tick.
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
  /** Smooth only continuous measurements; counts are drawn as steps so nothing overshoots. */
  smooth?: boolean
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
  { key: 'memory', title: 'memory %', unit: ' %', max: 100, series: [{ name: 'memory', color: CYAN, value: (p) => p.memory, area: true, smooth: true }] },
  { key: 'cpu', title: 'cpu %', unit: ' %', max: 100, series: [{ name: 'cpu', color: PINK, value: (p) => p.cpu, area: true, smooth: true }] },
  { key: 'requests', title: 'requests / 5 s', unit: '', series: [{ name: 'requests', color: AMBER, value: (p) => p.requests, area: true }] },
  {
    key: 'browsers',
    title: 'browsers by tier',
    unit: '',
    stacked: true,
    series: [
      { name: 'permanent', color: VIOLET, value: (p) => p.browsers.permanent },
      { name: 'hot', color: PINK, value: (p) => p.browsers.hot },
      { name: 'cold', color: CYAN, value: (p) => p.browsers.cold },
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

/** Every series of every chart, in the order they are given to ECharts (series index → chart). */
const SERIES = CHARTS.flatMap((spec) => spec.series.map((s) => ({ spec, s })))

/**
 * The look of the whole timeline, without data and without positions: one ECharts instance
 * drawing the four charts as four grids, so an update is one setOption and one canvas paint
 * instead of four (bench/dashboard.ts: the four separate instances cost about 1.6x the work).
 */
export function timelineLook(): Record<string, unknown> {
  return {
    animation: false,
    // Fixed margins (timelineLayout) hold the labels; 'none' spares ECharts estimating every label's box on each
    // update to fit them (ECharts 6's outer-bounds layout, ~a third of the axis work here).
    grid: CHARTS.map(() => ({ outerBoundsMode: 'none' })),
    tooltip: {
      trigger: 'axis',
      backgroundColor: 'rgba(7,10,15,0.95)',
      borderColor: '#2a3d52',
      textStyle: { color: '#d3dde8', fontFamily: 'monospace', fontSize: 11 },
      // Everything that reaches this HTML string is escaped. The hovered grid's series say which unit.
      formatter: (params: unknown) => tooltipHtml(params, unitOf(params)),
      // The tooltip box goes in the chart's own element, named here: without a container ECharts
      // reads the chart element's computed 'position' on every redraw (getComputedStyle), which
      // forces a style recalculation of whatever Vue just changed on the page (~1 ms, more on the
      // Browsers tab). The element is absolutely positioned (TimelineCharts.vue), so nothing moves.
      appendTo: (chartDom: HTMLElement) => chartDom,
    },
    // Time runs on plain value axes (epoch ms) whose range we give with the data (timelineData),
    // and nothing of them is drawn on this canvas: their line lies on the canvas underneath and
    // their minute labels are HTML (timeLabels), so ECharts neither works out nor paints a label
    // on a new point (that was ~2 ms of each redraw: tick/label layout and text painting).
    xAxis: CHARTS.map((_, i) => ({ type: 'value', gridIndex: i, show: false, scale: true })),
    // The y axes place the points but are not drawn here: their labels and grid lines are
    // drawn by the canvas underneath (timelineAxesLook), which is redrawn only when a scale changes.
    yAxis: yAxes(false),
    series: SERIES.map(({ spec, s }) => {
      const i = CHARTS.indexOf(spec)
      return {
        name: s.name,
        type: 'line',
        xAxisIndex: i,
        yAxisIndex: i,
        data: [],
        stack: spec.stacked ? spec.key : undefined,
        smooth: s.smooth ? 0.25 : false,
        smoothMonotone: 'x',
        step: s.smooth ? undefined : 'end',
        showSymbol: false,
        lineStyle: { color: s.color, width: 2, shadowColor: s.color, shadowBlur: 10 },
        itemStyle: { color: s.color },
        areaStyle: s.area || spec.stacked ? { color: s.color, opacity: spec.stacked ? 0.25 : 0.08 } : undefined,
      }
    }),
  }
}

/**
 * The value axes. Percentages on a fixed 0-100 by 20; counts on a range and step we work out from
 * the data (timelineScales), so ECharts does not search a nice scale on each redraw.
 */
function yAxes(drawn: boolean): Record<string, unknown>[] {
  return CHARTS.map((spec, i) => ({
    type: 'value',
    gridIndex: i,
    show: drawn,
    min: 0,
    max: spec.max,
    interval: spec.max === undefined ? undefined : spec.max / 5,
    // Hidden as they were next to a time axis: with a value x axis ECharts would draw them.
    axisLine: { show: false },
    axisTick: { show: false },
    splitLine: { show: drawn, lineStyle: { color: '#121b26' } },
    axisLabel: { show: drawn, color: '#4d5d70', fontSize: 10, fontFamily: 'monospace' },
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
    yAxis: yAxes(true),
  }
}

/** The four plots' positions: each chart's slot (laid out by CSS) less the label margins. */
export function timelineLayout(slots: readonly SlotRect[]): Record<string, unknown> {
  return {
    grid: slots.map((r) => ({
      left: r.left + MARGIN.left,
      top: r.top + MARGIN.top,
      width: Math.max(0, r.width - MARGIN.left - MARGIN.right),
      height: Math.max(0, r.height - MARGIN.top - MARGIN.bottom),
    })),
  }
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
 * Only what changes on an update: each series' [time, value] pairs, all charts' series in order;
 * the time range; the top and step of the count charts.
 */
export function timelineData(points: readonly TimelineTick[]): Record<string, unknown> {
  const { min, max } = timeRange(points)
  return {
    xAxis: CHARTS.map(() => ({ min, max })),
    ...timelineScales(points),
    series: SERIES.map(({ s }) => ({ data: points.map((p) => [p.timestamp, s.value(p)]) })),
  }
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

/** The unit of the chart a tooltip is for, from its first series' index. */
function unitOf(params: unknown): string {
  const first = (Array.isArray(params) ? params[0] : params) as { seriesIndex?: unknown } | undefined
  const i = typeof first?.seriesIndex === 'number' ? first.seriesIndex : -1
  return SERIES[i]?.spec.unit ?? ''
}

interface TooltipParam {
  axisValue?: unknown
  seriesName?: string
  value?: unknown
  color?: unknown
}

/** The tooltip's HTML: the point's time, then one line per series. Everything in it is escaped. */
export function tooltipHtml(params: unknown, unit: string): string {
  const list = (Array.isArray(params) ? params : [params]) as TooltipParam[]
  const at = Number(list[0]?.axisValue)
  const head = escapeHtml(Number.isFinite(at) ? fmtTime(at) : '')
  const lines = list.map((p) => {
    const value = Array.isArray(p.value) ? p.value[1] : p.value
    const color = typeof p.color === 'string' ? p.color : CYAN
    return `<span style="color:${escapeHtml(color)}">●</span> ${escapeHtml(p.seriesName ?? '')}: <b>${escapeHtml(value ?? '')}</b>${escapeHtml(unit)}`
  })
  return [head, ...lines].join('<br>')
}
