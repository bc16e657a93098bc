import type { TierCounts, TimelineResponse } from '../../../shared/monitor-types'
import { fmtTime } from './format'

/*
 * The timeline's longer ranges (1 h to 30 d, from the server's rollups): what the range selector
 * offers, and the ECharts option that draws the four charts on one canvas with a shared zoom.
 * A bucket the service recorded nothing in comes as null, and the line breaks there
 * (connectNulls: false): time the service was down shows as a gap, not as a line across it.
 */

export interface RangeSpec {
  key: 'live' | '1h' | '24h' | '7d' | '30d'
  label: string
  /** The /monitor/timeline window; null: the live 5-min view (the stream's points). */
  window: string | null
}

export const RANGES: readonly RangeSpec[] = [
  { key: 'live', label: 'live 5 min', window: null },
  { key: '1h', label: '1 h', window: '1h' },
  { key: '24h', label: '24 h', window: '24h' },
  { key: '7d', label: '7 d', window: '7d' },
  { key: '30d', label: '30 d', window: '30d' },
]
export type RangeKey = RangeSpec['key']

/** The metrics the history charts fetch, one call each. */
export const HISTORY_METRICS = ['memory', 'cpu', 'requests', 'browsers'] as const
export type HistoryData = Record<(typeof HISTORY_METRICS)[number], TimelineResponse>

const CYAN = '#3fe0d0'
const PINK = '#ff4fa3'
const VIOLET = '#a98bff'
const AMBER = '#ffb347'
const AXIS = '#4d5d70'
const LINE = '#1d2a38'

/** A resolution in words, for the header and the requests chart's title ("1 min", "1 h"). */
export function resolutionLabel(seconds: number): string {
  return seconds >= 3600 ? `${seconds / 3600} h` : seconds >= 60 ? `${seconds / 60} min` : `${seconds} s`
}

type Point = [number, number | null]

function points(r: TimelineResponse, value: (v: number | TierCounts | null) => number | null): Point[] {
  return r.timestamps_ms.map((t, i) => [t, value(r.values[i] ?? null)])
}
const num = (v: number | TierCounts | null): number | null => (typeof v === 'number' ? v : null)
const tier = (k: keyof TierCounts) => (v: number | TierCounts | null) => (v !== null && typeof v === 'object' ? v[k] : null)

/** Stretches of consecutive non-null points in a series: 1 when nothing is missing inside the range. */
export function segments(values: ReadonlyArray<unknown>): number {
  let n = 0
  let inside = false
  for (const v of values) {
    const up = v !== null && v !== undefined
    if (up && !inside) n++
    inside = up
  }
  return n
}

export interface HistoryLayout {
  /** Charts side by side: 4 on a wide screen, 2, or 1 on a phone. */
  columns: 1 | 2 | 4
  /** The zoom slider under the charts (desktop widths); the wheel and pinch zoom everywhere. */
  slider: boolean
}

/** Pixel sizes of one chart cell, and the canvas height they add up to. */
const CELL = { height: 170, title: 22, bottom: 26 }
export const SLIDER_HEIGHT = 44

export function historyCanvasHeight(layout: HistoryLayout): number {
  return (4 / layout.columns) * CELL.height + (layout.slider ? SLIDER_HEIGHT : 0)
}

/**
 * The option for the four charts, in cells of `layout` (percent of the width, pixels down), with
 * one dataZoom over every time axis: zooming one zooms all.
 */
export function historyChartOption(d: HistoryData, layout: HistoryLayout): Record<string, unknown> {
  const res = d.memory.resolution_seconds
  const specs = [
    { title: 'memory %', max: 100, series: [{ name: 'memory', color: CYAN, data: points(d.memory, num), area: true }] },
    { title: 'cpu %', max: 100, series: [{ name: 'cpu', color: PINK, data: points(d.cpu, num), area: true }] },
    { title: `requests / ${resolutionLabel(res)}`, series: [{ name: 'requests', color: AMBER, data: points(d.requests, num), area: true, step: true }] },
    {
      title: 'browsers by tier',
      stacked: true,
      series: (['permanent', 'hot', 'cold'] as const).map((k, i) => ({
        name: k,
        color: [VIOLET, PINK, CYAN][i]!,
        data: points(d.browsers, tier(k)),
        area: false,
        step: true,
      })),
    },
  ] as Array<{ title: string; max?: number; stacked?: boolean; series: Array<{ name: string; color: string; data: Point[]; area?: boolean; step?: boolean }> }>
  const cols = layout.columns
  const cellWidth = 100 / cols
  const cell = (i: number) => ({ col: i % cols, row: Math.floor(i / cols) })
  const axes = specs.map((_, i) => i)
  const first = d.memory.timestamps_ms[0]
  const last = d.memory.timestamps_ms.at(-1)
  return {
    animation: false,
    backgroundColor: 'transparent',
    textStyle: { fontFamily: 'monospace' },
    title: specs.map((s, i) => ({
      text: s.title.toUpperCase(),
      left: `${cell(i).col * cellWidth + 1}%`,
      top: cell(i).row * CELL.height + 4,
      textStyle: { color: '#7c8ea3', fontSize: 10, fontWeight: 'normal', letterSpacing: 1 },
    })),
    grid: specs.map((_, i) => ({
      left: `${cell(i).col * cellWidth + 0.5}%`,
      width: `${cellWidth - 1.5}%`,
      top: cell(i).row * CELL.height + CELL.title + 8,
      height: CELL.height - CELL.title - CELL.bottom - 8,
      // The y labels inside the cell, not over the neighbour's.
      containLabel: true,
    })),
    tooltip: {
      trigger: 'axis',
      backgroundColor: 'rgba(7, 10, 15, 0.95)',
      borderColor: '#2a3d52',
      textStyle: { color: '#d3dde8', fontSize: 11, fontFamily: 'monospace' },
      axisPointer: { type: 'line', lineStyle: { color: '#3a5068', type: 'dashed' } },
      valueFormatter: (v: unknown) => (v === null || v === undefined || v === '-' ? 'down' : String(v)),
    },
    xAxis: axes.map((i) => ({
      type: 'time',
      gridIndex: i,
      min: first,
      max: last,
      axisLine: { lineStyle: { color: LINE } },
      axisTick: { show: false },
      splitLine: { show: false },
      axisLabel: { color: AXIS, fontSize: 10, hideOverlap: true, alignMinLabel: 'left', alignMaxLabel: 'right', formatter: timeAxisLabel },
    })),
    yAxis: specs.map((s, i) => ({
      type: 'value',
      gridIndex: i,
      min: 0,
      max: s.max,
      // Percentages by 20 as the live charts; counts on whole steps.
      interval: s.max === undefined ? undefined : s.max / 5,
      minInterval: 1,
      splitNumber: 4,
      axisLine: { show: false },
      axisTick: { show: false },
      splitLine: { lineStyle: { color: '#121b26' } },
      axisLabel: { color: AXIS, fontSize: 10 },
    })),
    dataZoom: [
      { type: 'inside', xAxisIndex: axes, filterMode: 'none' },
      ...(layout.slider
        ? [
            {
              type: 'slider',
              xAxisIndex: axes,
              filterMode: 'none',
              left: 48,
              right: 24,
              bottom: 8,
              height: 22,
              borderColor: '#2a3d52',
              backgroundColor: 'rgba(13, 19, 27, 0.6)',
              fillerColor: 'rgba(63, 224, 208, 0.14)',
              handleStyle: { color: '#3fe0d0', borderColor: '#3fe0d0' },
              moveHandleStyle: { color: '#2a3d52' },
              dataBackground: { lineStyle: { color: '#2a3d52' }, areaStyle: { color: 'rgba(63, 224, 208, 0.08)' } },
              textStyle: { color: AXIS, fontSize: 10 },
              labelFormatter: (t: number) => fmtTime(t).slice(0, 5),
            },
          ]
        : []),
    ],
    series: specs.flatMap((s, i) =>
      s.series.map((line) => ({
        type: 'line',
        name: line.name,
        xAxisIndex: i,
        yAxisIndex: i,
        data: line.data,
        // Down time is a gap: never a line drawn across it.
        connectNulls: false,
        showSymbol: false,
        // A lone bucket between two gaps is still seen: as a dot.
        symbolSize: 3,
        step: line.step ? 'end' : false,
        stack: s.stacked ? `stack-${i}` : undefined,
        sampling: 'lttb',
        lineStyle: { color: line.color, width: 1.5 },
        itemStyle: { color: line.color },
        areaStyle: line.area || s.stacked ? { color: line.color, opacity: s.stacked ? 0.35 : 0.12 } : undefined,
        emphasis: { disabled: true },
      })),
    ),
  }
}

/** A tick at local midnight is the date (MM-DD), any other the time (HH:MM): short enough for a phone. */
export function timeAxisLabel(t: number): string {
  const d = new Date(t)
  if (d.getHours() === 0 && d.getMinutes() === 0) return `${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
  return fmtTime(t).slice(0, 5)
}
