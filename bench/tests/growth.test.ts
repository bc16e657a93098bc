import { describe, expect, it } from 'vitest'
import { errorShape } from '../../src/main/core/monitor/error-groups.js'
import { configSignature, normaliseBrowserConfig } from '../../src/main/core/pool/signature.js'
import { CrawlRequestSchema, SingleUrlRequestSchema } from '../../src/shared/crawl-schemas.js'
import { BLOCK, bulkRequest, countBulk, crawlRequest, INVALID_PER_BLOCK, letterTag } from '../growth-mix.js'
import { settledRss } from '../growth-ipc.js'
import { cpuPerSecond, fanoutCostPercent, latencyUnchanged, memoryWithin, pairCostsPercent, type FanoutWindow } from '../growth-report.js'

// The growth bench's mix (bench/growth-mix.ts) must be what its docs say: these check the
// proportions and that every request really is unique where the bench relies on it.

const ORIGIN = 'http://127.0.0.1:9'

describe('growth bench mix', () => {
  it('has INVALID_PER_BLOCK invalid requests in every block, the rest refused by the memory guard', () => {
    expect(countBulk(10 * BLOCK)).toEqual({ invalid: 10 * INVALID_PER_BLOCK, refused: 10 * (BLOCK - INVALID_PER_BLOCK) })
    for (let i = 0; i < 3 * BLOCK; i++) {
      const r = bulkRequest(i, ORIGIN)
      const parsed = (r.path === '/crawl' ? CrawlRequestSchema : SingleUrlRequestSchema).safeParse(r.body)
      // The invalid ones fail the very schema the HTTP door validates with; the refused ones pass it.
      if (r.kind === 'invalid') expect([parsed.success, r.expect, r.recorded]).toEqual([false, 400, false])
      else expect([parsed.success, r.expect, r.recorded]).toEqual([true, 503, true])
    }
  })

  it('gives every refused request its own URL and browser config signature', () => {
    const urls = new Set<string>()
    const sigs = new Set<string>()
    let refused = 0
    for (let i = 0; i < 500; i++) {
      const r = bulkRequest(i, ORIGIN)
      if (r.kind !== 'refused') continue
      refused++
      const body = r.body as { url?: string; urls?: string[]; browser_config: unknown }
      urls.add(body.url ?? ((body.urls as string[])[0] as string))
      sigs.add(configSignature(normaliseBrowserConfig(body.browser_config as never)))
    }
    expect(urls.size).toBe(refused)
    expect(sigs.size).toBe(refused)
  })

  it('makes every failing crawl an error shape of its own, and every crawl URL unique', () => {
    const shapes = new Set<string>()
    const urls = new Set<string>()
    let failing = 0
    for (let k = 0; k < 400; k++) {
      const r = crawlRequest(k, ORIGIN)
      urls.add((r.body as { url: string }).url)
      if (r.kind !== 'crawl_error') continue
      failing++
      const code = (r.body as { crawler_config: { js_code: string[] } }).crawler_config.js_code[0] as string
      const message = /new Error\('([^']*)'\)/.exec(code)?.[1] as string
      // What the service records: Playwright's first line for a throwing page.evaluate.
      shapes.add(errorShape(`page.evaluate: Error: ${message}`))
    }
    expect(failing).toBe(100)
    expect(shapes.size).toBe(failing)
    expect(urls.size).toBe(400)
  })

  it('letterTag uses no digit or hex letter, so error shapes keep it', () => {
    const tags = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      const t = letterTag(i)
      expect(t).toMatch(/^[g-z]+$/)
      tags.add(t)
    }
    expect(tags.size).toBe(10_000)
  })
})

describe('growth bench verdicts', () => {
  it('memory within 10 % either way', () => {
    expect(memoryWithin(100, 109.9)).toBe(true)
    expect(memoryWithin(100, 90.1)).toBe(true)
    expect(memoryWithin(100, 110.5)).toBe(false)
    expect(memoryWithin(100, 89)).toBe(false)
  })

  it('latency unchanged: within 1.5x, or within 1 ms', () => {
    expect(latencyUnchanged(4, 5.9)).toBe(true)
    expect(latencyUnchanged(4, 6.1)).toBe(false)
    expect(latencyUnchanged(0.5, 1.4)).toBe(true)
    expect(latencyUnchanged(0.5, 1.6)).toBe(false)
  })

  it('RSS is read until it holds still (two readings within 1 %), or until the time is up', async () => {
    const seq = (values: number[]) => {
      let i = 0
      return () => values[Math.min(i++, values.length - 1)]!
    }
    expect((await settledRss(seq([300, 250, 220, 219, 219]), 1, 5_000)).bytes).toBe(219)
    // Never still: the last reading once the time is up.
    let v = 100
    const r = await settledRss(() => (v *= 2), 1, 30)
    expect(r.bytes).toBe(v)
    expect(r.waitedMs).toBeGreaterThanOrEqual(30)
  })

  it('fan-out cost is the CPU per second difference in % of one core, pooled by side', () => {
    const w = (clients: number, cpuMs: number, wallMs = 10_000): FanoutWindow => ({ clients, cpuMs, wallMs, requests: 0, messages: 0 })
    // 0 clients: 1000 ms over 20 s = 50 ms/s; 20 clients: 1800 ms over 20 s = 90 ms/s -> 4 % of a core.
    const windows = [w(0, 400), w(20, 1000), w(20, 800), w(0, 600)]
    expect(cpuPerSecond(windows, 0)).toBe(50)
    expect(cpuPerSecond(windows, 20)).toBe(90)
    expect(fanoutCostPercent(windows, 20)).toBe(4)
    expect(pairCostsPercent(windows)).toEqual([6, 2])
  })
})
