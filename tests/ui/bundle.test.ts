import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The production build of the control center (out/renderer, made by `npm run build:web`, which
 * `npm test` runs first) carries ECharts tree-shaken: the core, the grid, the graphic component
 * and the canvas renderer the timeline uses, reached through vue-echarts, and no chart type but
 * the line series of the long-range timeline, in a chunk of its own (HistoryCharts). Importing
 * `echarts` whole (or a chart we do not draw) would put its series in the bundle.
 */

const assets = join(resolve(import.meta.dirname, '../..'), 'out/renderer/assets')

function bundle(): string {
  if (!existsSync(assets)) throw new Error(`${assets} is missing: run npm run build:web first`)
  return readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(assets, f), 'utf8'))
    .join('\n')
}

describe('renderer bundle', () => {
  it('holds vue-echarts and tree-shaken ECharts: no series type is bundled', () => {
    const js = bundle()
    // vue-echarts' element and ECharts' core (its init and its canvas painter) are there.
    expect(js).toContain('x-vue-echarts')
    expect(js).toContain('echarts-host')
    // Each ECharts chart type registers a component named 'series.<type>'; none is drawn here.
    for (const type of ['bar', 'pie', 'scatter', 'candlestick', 'radar', 'gauge', 'funnel', 'heatmap', 'sankey']) {
      expect(js, `series.${type} is bundled`).not.toContain(`series.${type}`)
    }
  })

  it('keeps the line series and zoom of the long-range timeline in their own chunk, loaded when a range is chosen', () => {
    const files = readdirSync(assets).filter((f) => f.endsWith('.js'))
    const withLine = files.filter((f) => readFileSync(join(assets, f), 'utf8').includes('series.line'))
    expect(withLine).toHaveLength(1)
    expect(withLine[0]).toMatch(/^HistoryCharts-/)
    expect(readFileSync(join(assets, withLine[0]!), 'utf8')).toContain('dataZoom')
  })

  it("keeps CodeMirror (the Playground's config editor) in its own chunk, loaded when the editor is opened", () => {
    const files = readdirSync(assets).filter((f) => f.endsWith('.js'))
    // CodeMirror's editor root class and its lint gutter: both only in the editor's chunk.
    const withEditor = files.filter((f) => {
      const js = readFileSync(join(assets, f), 'utf8')
      return js.includes('cm-lint-marker') || js.includes('cm-editor')
    })
    expect(withEditor).toHaveLength(1)
    expect(withEditor[0]).toMatch(/^ConfigEditor-/)
  })
})
