import type { TimelineTick } from '../../../shared/monitor-types'
import { escapeHtml, fmtTime } from './format'

/**
 * ECharts options of the resource timeline, split in two: the look of a chart (axes, colours,
 * glow, tooltip), set once when it is created, and its data, the only part sent on each update.
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

/** The look of one chart, without data. */
export function chartLook(spec: ChartSpec): Record<string, unknown> {
  const many = spec.series.length > 1
  return {
    animation: false,
    // Fixed margins hold the labels (right: half a time label); 'none' spares ECharts estimating every label's box on each
    // update to fit them (ECharts 6's outer-bounds layout, ~a third of the axis work here).
    grid: { left: 40, right: 18, top: many ? 26 : 12, bottom: 22, outerBoundsMode: 'none' },
    legend: many ? { top: 0, right: 0, itemWidth: 10, itemHeight: 6, textStyle: { color: '#7c8ea3', fontFamily: 'monospace', fontSize: 10 } } : undefined,
    tooltip: {
      trigger: 'axis',
      backgroundColor: 'rgba(7,10,15,0.95)',
      borderColor: '#2a3d52',
      textStyle: { color: '#d3dde8', fontFamily: 'monospace', fontSize: 11 },
      // Everything that reaches this HTML string is escaped.
      formatter: (params: unknown) => tooltipHtml(params, spec.unit),
    },
    // A time axis labelled on whole minutes: the labels stay put as points scroll by, and a new
    // label string appears once a minute, not with every point (each distinct string is measured
    // and cached by the canvas text code).
    xAxis: {
      type: 'time',
      min: 'dataMin',
      max: 'dataMax',
      minInterval: 60_000,
      axisLine: { lineStyle: { color: '#1d2a38' } },
      axisLabel: { color: '#4d5d70', fontSize: 10, fontFamily: 'monospace', formatter: '{HH}:{mm}', hideOverlap: true },
      axisTick: { show: false },
      splitLine: { show: false },
    },
    yAxis: {
      type: 'value',
      max: spec.max,
      minInterval: spec.unit === '' ? 1 : undefined,
      splitLine: { lineStyle: { color: '#121b26' } },
      axisLabel: { color: '#4d5d70', fontSize: 10, fontFamily: 'monospace' },
    },
    series: spec.series.map((s) => ({
      name: s.name,
      type: 'line',
      data: [],
      stack: spec.stacked ? 'tiers' : undefined,
      smooth: s.smooth ? 0.25 : false,
      smoothMonotone: 'x',
      step: s.smooth ? undefined : 'end',
      showSymbol: false,
      lineStyle: { color: s.color, width: 2, shadowColor: s.color, shadowBlur: 10 },
      itemStyle: { color: s.color },
      areaStyle: s.area || spec.stacked ? { color: s.color, opacity: spec.stacked ? 0.25 : 0.08 } : undefined,
    })),
  }
}

/** Only what changes on an update: each series' [time, value] pairs. */
export function chartData(spec: ChartSpec, points: readonly TimelineTick[]): Record<string, unknown> {
  return { series: spec.series.map((s) => ({ data: points.map((p) => [p.timestamp, s.value(p)]) })) }
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
