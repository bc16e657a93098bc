import { describe, expect, it } from 'vitest'
import { fmtTime } from '../../src/renderer/src/lib/format.js'
import { CHARTS, chartData, chartLook, tooltipHtml } from '../../src/renderer/src/lib/timeline-options.js'
import type { TimelineTick } from '../../src/shared/monitor-types.js'

const HOSTILE = '<img src=x onerror=alert(1)>'
const points: TimelineTick[] = [
  { timestamp: 1_700_000_000_000, memory: 41, cpu: 12, requests: 3, browsers: { permanent: 1, hot: 2, cold: 3 } },
  { timestamp: 1_700_000_005_000, memory: 42, cpu: 14, requests: 0, browsers: { permanent: 1, hot: 2, cold: 4 } },
]

describe('timeline chart options', () => {
  it('sends only the series data on an update: [time, value] pairs per series', () => {
    const browsers = CHARTS.find((c) => c.key === 'browsers')!
    expect(chartData(browsers, points)).toEqual({
      series: [
        { data: [[points[0]!.timestamp, 1], [points[1]!.timestamp, 1]] },
        { data: [[points[0]!.timestamp, 2], [points[1]!.timestamp, 2]] },
        { data: [[points[0]!.timestamp, 3], [points[1]!.timestamp, 4]] },
      ],
    })
    expect(Object.keys(chartData(CHARTS[0]!, points))).toEqual(['series'])
  })

  it('keeps the look (glow, colours, time axis) in the options set once', () => {
    for (const spec of CHARTS) {
      const look = chartLook(spec) as { xAxis: { type: string }; series: Array<{ lineStyle: { shadowBlur: number; color: string } }> }
      expect(look.xAxis.type).toBe('time')
      expect(look.series).toHaveLength(spec.series.length)
      look.series.forEach((s, i) => {
        expect(s.lineStyle.shadowBlur).toBeGreaterThan(0)
        expect(s.lineStyle.color).toBe(spec.series[i]!.color)
      })
    }
  })

  it('escapes everything in the tooltip HTML, the time heading included', () => {
    const html = tooltipHtml([{ axisValue: points[0]!.timestamp, seriesName: HOSTILE, value: [points[0]!.timestamp, HOSTILE], color: `red">${HOSTILE}` }], ' %')
    expect(html).not.toContain('<img')
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(html.startsWith(fmtTime(points[0]!.timestamp))).toBe(true)
    expect(tooltipHtml({ axisValue: 'x', seriesName: 'cpu', value: [0, 5] }, ' %')).toContain('cpu: <b>5</b> %')
  })
})
