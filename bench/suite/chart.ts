import * as echarts from 'echarts'
import type { ContenderId } from './contender.js'
import { figuresOf, type SuiteData } from './table.js'

export const CHART_WIDTH = 1200
export const CHART_HEIGHT = 560

/**
 * Fixed colours per contender: crawldeck in blues, the bare loop (the limit) in slate, a browser
 * per request in orange, Crawlee in greens; all dark enough on the white background the chart
 * sets for itself, so it reads the same in light and dark viewers.
 */
const COLOURS: Record<ContenderId, string> = {
  a: '#1d4ed8',
  'a-batch': '#60a5fa',
  b: '#475569',
  c: '#ea580c',
  d: '#15803d',
  'd-incognito': '#86c99a',
}
const TEXT = '#1f2937'
const MUTED = '#6b7280'
const GRID_LINE = '#e5e7eb'

/**
 * Grouped bars of pages/s: one panel per fixture page, the concurrencies along each x axis, one
 * bar per contender (median over rounds), every panel on the same y scale. Drawn by ECharts'
 * server-side SVG renderer (no DOM), so the bench writes the image itself.
 */
export function renderThroughputChart(data: SuiteData): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: CHART_WIDTH, height: CHART_HEIGHT })
  try {
    const panels = data.pages.length
    const left = 64
    const right = 24
    const gap = 36
    const panelWidth = (CHART_WIDTH - left - right - gap * (panels - 1)) / panels
    let max = 0
    const series = data.pages.flatMap((page, i) =>
      data.contenders.map((c) => {
        const values = data.concurrencies.map((k) => {
          const f = figuresOf(data, c.id, page.path, k)
          if (f && Number.isFinite(f.rate)) max = Math.max(max, f.rate)
          return f && Number.isFinite(f.rate) ? Number(f.rate.toFixed(2)) : null
        })
        return {
          type: 'bar' as const,
          name: c.label,
          xAxisIndex: i,
          yAxisIndex: i,
          data: values,
          itemStyle: { color: COLOURS[c.id], borderRadius: [2, 2, 0, 0] },
          barGap: '12%',
          label: {
            show: true,
            position: 'top' as const,
            rotate: 90,
            align: 'left' as const,
            verticalAlign: 'middle' as const,
            distance: 4,
            fontSize: 10,
            color: TEXT,
            formatter: (p: { value: unknown }) => (typeof p.value === 'number' ? p.value.toFixed(1) : ''),
          },
        }
      }),
    )
    const yMax = niceCeil(max * 1.22)
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      textStyle: { color: TEXT, fontFamily: 'Helvetica, Arial, sans-serif' },
      title: [
        {
          text: 'Pages per second by contender and concurrency (higher is better)',
          subtext: `${data.info.machine.split(',').slice(0, 2).join(',')} · load ${data.info.load.split(' at start')[0]} at start · median of ${data.info.rounds} round(s) · ${data.info.date}`,
          left: left - 8,
          top: 10,
          textStyle: { fontSize: 18, fontWeight: 'bold', color: TEXT },
          subtextStyle: { fontSize: 12, color: MUTED },
        },
        ...data.pages.map((page, i) => ({
          text: `${page.path}  ·  ${page.what}`,
          left: left + i * (panelWidth + gap),
          top: 72,
          textStyle: { fontSize: 13, fontWeight: 'bold', color: TEXT },
        })),
      ],
      legend: { bottom: 10, itemWidth: 14, itemHeight: 10, textStyle: { fontSize: 12, color: TEXT }, data: data.contenders.map((c) => c.label) },
      grid: data.pages.map((_, i) => ({ left: left + i * (panelWidth + gap), width: panelWidth, top: 104, bottom: 78 })),
      xAxis: data.pages.map((_, i) => ({
        type: 'category',
        gridIndex: i,
        data: data.concurrencies.map((k) => `c=${k}`),
        axisLine: { lineStyle: { color: MUTED } },
        axisTick: { show: false },
        axisLabel: { fontSize: 12, color: TEXT },
      })),
      yAxis: data.pages.map((_, i) => ({
        type: 'value',
        gridIndex: i,
        min: 0,
        max: yMax,
        name: i === 0 ? 'pages per second' : '',
        nameLocation: 'middle',
        nameGap: 40,
        nameRotate: 90,
        nameTextStyle: { color: MUTED, fontSize: 12 },
        axisLabel: { show: i === 0, fontSize: 11, color: MUTED },
        splitLine: { lineStyle: { color: GRID_LINE } },
      })),
      series,
    })
    return chart.renderToSVGString()
  } finally {
    chart.dispose()
  }
}

/** A round axis maximum at least `v`: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8]) if (m * p >= v - 1e-9) return m * p
  return 10 * p
}
