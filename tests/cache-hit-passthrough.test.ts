import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { CountedCache } from '../src/main/core/cache/counted-cache.js'
import type { LmdbCache } from '../src/main/core/cache/lmdb-cache.js'
import { silentLogger } from '../src/main/core/logger.js'
import { registerIpcDoor } from '../src/main/ipc/index.js'
import { IPC_CHANNELS, type IpcResult, type IpcStreamOutcome } from '../src/shared/ipc.js'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import type { MonitorHealth } from '../src/shared/monitor-types.js'
import { RawJson } from '../src/shared/raw-json.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'
import { FakeIpcMain, FakeWindow } from './ipc/fake-electron.js'

/*
 * A cache hit is answered with the stored JSON as it is: the HTTP door writes the stored bytes
 * with the cache fields in front and never decodes them, yet /crawl, /crawl/stream and the IPC
 * door give the same result as the miss did (apart from the cache fields), with the request's
 * warnings per call. Also: the cache in /metrics, and a restart with other settings that change
 * a result never served the old entry.
 */

let fx: FixtureServer
let s: TestService

beforeAll(async () => {
  ;[fx, s] = await Promise.all([startFixtureServer(), startService({ prewarm_pages: 0 })])
})

afterAll(async () => {
  await Promise.all([s?.close(), fx?.close()])
})

const lmdbOf = (svc: TestService) => (svc.runtime.cache as CountedCache).inner as LmdbCache
const CACHE_FIELDS = ['cache_status', 'cached_at', 'duration_ms'] as const

function withoutCacheFields(r: CrawlResult): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...r }
  for (const name of CACHE_FIELDS) delete copy[name]
  return copy
}

async function crawlText(svc: TestService, body: unknown, path = '/crawl'): Promise<string> {
  const res = await svc.post(path, body)
  expect(res.status).toBe(200)
  return res.text()
}

describe('a hit is the stored JSON, sent as it is', () => {
  it('/crawl: the stored bytes appear verbatim after the cache fields, none decoded; the parsed result equals the miss', async () => {
    const url = fx.url('/article')
    const body = { urls: [url], crawler_config: { cache_mode: 'enabled' } }
    const miss = JSON.parse(await crawlText(s, body)) as { results: CrawlResult[] }
    expect(miss.results[0]).toMatchObject({ cache_status: 'miss', cached_at: null, success: true })

    // The one entry of this service's cache: what the hit must send.
    const keys = lmdbOf(s).lruOrder()
    expect(keys).toHaveLength(1)
    const stored = (await lmdbOf(s).get(keys[0]!))!
    const storedText = stored.body.toString('utf8')
    expect(storedText.length).toBeGreaterThan(100_000)

    const parsing = vi.spyOn(RawJson.prototype, 'value')
    let text: string
    try {
      text = await crawlText(s, body)
      // The HTTP door wrote the hit without parsing it.
      expect(parsing).not.toHaveBeenCalled()
    } finally {
      parsing.mockRestore()
    }
    const front = /^\{"results":\[\{"cache_status":"hit","cached_at":[0-9.]+,"duration_ms":\d+,"warnings":\[\],/.exec(text)
    expect(front, text.slice(0, 200)).not.toBeNull()
    // Byte for byte what was stored, after its opening brace.
    expect(text.slice(front![0].length, front![0].length + storedText.length - 1)).toBe(storedText.slice(1))
    expect(text.slice(front![0].length + storedText.length - 1)).toMatch(/^\],"success":true,"server_processing_time_s":/)

    const hit = JSON.parse(text) as { results: CrawlResult[]; success: boolean }
    expect(hit.success).toBe(true)
    expect(hit.results[0]!.cache_status).toBe('hit')
    expect(hit.results[0]!.cached_at).toBe(stored.cached_at)
    expect(withoutCacheFields(hit.results[0]!)).toEqual(withoutCacheFields(miss.results[0]!))
    expect(Object.keys(hit.results[0]!).sort()).toEqual(Object.keys(miss.results[0]!).sort())
    expect(fx.hits('/article')).toBe(1)

    // Two hits side by side in one batch, a large and a small one: each keeps its own bytes
    // (the store hands out copies, not a buffer the next read overwrites).
    const about = fx.url('/about')
    const aboutMiss = (JSON.parse(await crawlText(s, { urls: [about], crawler_config: { cache_mode: 'enabled' } })) as { results: CrawlResult[] }).results[0]!
    const both = JSON.parse(await crawlText(s, { urls: [url, about, url], crawler_config: { cache_mode: 'enabled' } })) as { results: CrawlResult[] }
    expect(both.results.map((r) => r.cache_status)).toEqual(['hit', 'hit', 'hit'])
    expect(withoutCacheFields(both.results[0]!)).toEqual(withoutCacheFields(miss.results[0]!))
    expect(withoutCacheFields(both.results[1]!)).toEqual(withoutCacheFields(aboutMiss))
    expect(withoutCacheFields(both.results[2]!)).toEqual(withoutCacheFields(miss.results[0]!))
  })

  it("the request's warnings are per call: a hit carries this call's, not those of the call that stored it", async () => {
    const url = fx.url('/cache/passthrough-warnings')
    const warnedBody = { urls: [url], crawler_config: { cache_mode: 'enabled', check_robots_txt: true } }
    const plainBody = { urls: [url], crawler_config: { cache_mode: 'enabled' } }
    const first = (JSON.parse(await crawlText(s, warnedBody)) as { results: CrawlResult[] }).results[0]!
    expect(first.cache_status).toBe('miss')
    expect(first.warnings).toEqual([expect.stringMatching(/check_robots_txt/)])
    const quiet = (JSON.parse(await crawlText(s, plainBody)) as { results: CrawlResult[] }).results[0]!
    expect(quiet).toMatchObject({ cache_status: 'hit', warnings: [] })
    const loud = (JSON.parse(await crawlText(s, warnedBody)) as { results: CrawlResult[] }).results[0]!
    expect(loud).toMatchObject({ cache_status: 'hit', warnings: first.warnings })
    expect(fx.hits('/cache/passthrough-warnings')).toBe(1)
  })

  it('/crawl/stream and the IPC door (call and stream) give the same result as /crawl, as plain objects', async () => {
    const url = fx.url('/cache/passthrough-doors')
    const input = { urls: [url], crawler_config: { cache_mode: 'enabled', check_robots_txt: true } }
    const miss = (JSON.parse(await crawlText(s, input)) as { results: CrawlResult[] }).results[0]!
    const hit = (JSON.parse(await crawlText(s, input)) as { results: CrawlResult[] }).results[0]!
    expect(hit.cache_status).toBe('hit')

    const lines = (await crawlText(s, input, '/crawl/stream'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as CrawlResult & { server_memory_mb: number })
    expect(lines).toHaveLength(2)
    expect(lines[1]).toEqual({ status: 'completed' })
    expect(lines[0]!.server_memory_mb).toBeGreaterThan(0)
    const { server_memory_mb: _mem, ...streamed } = lines[0]!
    expect(streamed.cache_status).toBe('hit')
    expect(withoutCacheFields(streamed)).toEqual(withoutCacheFields(hit))

    const ipc = new FakeIpcMain()
    const door = registerIpcDoor({
      ipcMain: ipc,
      service: s.runtime.service,
      live: { subscribe: () => s.runtime.live.subscribe() },
      isAllowedSender: () => true,
      appInfo: () => ({ version: s.runtime.version, http_url: s.url, platform: process.platform }),
      logger: silentLogger(),
    })
    try {
      const win = new FakeWindow('file:///app/index.html')
      const called = (await ipc.invoke(win.event(), IPC_CHANNELS.call, { op: 'crawl', input })) as IpcResult
      expect(called.ok).toBe(true)
      // What Electron sends is a structured copy: a class instance would arrive as its fields.
      const value = structuredClone((called as { value: { results: CrawlResult[] } }).value)
      expect(value.results[0]!.cache_status).toBe('hit')
      expect(withoutCacheFields(value.results[0]!)).toEqual(withoutCacheFields(miss))
      expect(value.results[0]!.warnings).toEqual(miss.warnings)

      const outcome = (await ipc.invoke(win.event(), IPC_CHANNELS.stream, { id: 'p1', op: 'crawlStream', input })) as IpcStreamOutcome
      expect(outcome).toMatchObject({ ok: true, lines: 2 })
      const line = win.pushed(IPC_CHANNELS.streamLine).find((l) => l.id === 'p1')!.line as CrawlResult & { server_memory_mb: number }
      const { server_memory_mb: _m, ...viaIpc } = line
      expect(viaIpc.cache_status).toBe('hit')
      expect(withoutCacheFields(viaIpc)).toEqual(withoutCacheFields(miss))
    } finally {
      door.dispose()
    }
    expect(fx.hits('/cache/passthrough-doors')).toBe(1)
  })

  it('/md from a hit reads the parsed result', async () => {
    const url = fx.url('/cache/passthrough-md')
    const md = async () => (await s.postJson<{ markdown: string }>('/md', { url, f: 'raw', c: '1' })).body.markdown
    const first = await md()
    expect(first.length).toBeGreaterThan(0)
    expect(await md()).toBe(first)
    expect(fx.hits('/cache/passthrough-md')).toBe(1)
  })
})

describe('GET /metrics', () => {
  it('counts lookups by result and writes, and gives the measured entries and bytes', async () => {
    const metric = async (): Promise<Map<string, number>> => {
      const text = await (await fetch(`${s.url}/metrics`)).text()
      const out = new Map<string, number>()
      for (const line of text.split('\n')) {
        const m = /^(crawldeck_cache_[a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line)
        if (!m) continue
        // Labels other than the metric's own (a default instance label) are left out of the name.
        const labels = (m[2] ?? '').split(',').filter((l) => l !== '' && !l.startsWith('instance='))
        out.set(labels.length > 0 ? `${m[1]}{${labels.join(',')}}` : m[1]!, Number(m[3]))
      }
      return out
    }
    const before = await metric()
    const url = fx.url('/cache/passthrough-metrics')
    await crawlText(s, { urls: [url], crawler_config: { cache_mode: 'enabled' } })
    await crawlText(s, { urls: [url], crawler_config: { cache_mode: 'enabled' } })
    await crawlText(s, { urls: [url], crawler_config: { cache_mode: 'enabled' } })
    const after = await metric()
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0)
    expect(delta('crawldeck_cache_lookups_total{result="hit"}')).toBe(2)
    expect(delta('crawldeck_cache_lookups_total{result="miss"}')).toBe(1)
    expect(delta('crawldeck_cache_writes_total')).toBe(1)
    const h = (await s.get<MonitorHealth>('/monitor/health')).body.cache
    expect(after.get('crawldeck_cache_entries{backend="lmdb"}')).toBe(h.entries)
    expect(after.get('crawldeck_cache_bytes{backend="lmdb"}')).toBe(h.bytes)
    expect(h.entries).toBeGreaterThan(0)
  })
})

describe('settings that change a result are part of the key', () => {
  it('a restart with the same settings hits; with another max_screenshot_height or allow_js_code it misses', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-cache-settings-'))
    const path = '/cache/passthrough-settings'
    const status = async (config: Record<string, unknown>) => {
      const svc = await startService({ prewarm_pages: 0, data_dir: dataDir, ...config })
      try {
        const text = await crawlText(svc, { urls: [fx.url(path)], crawler_config: { cache_mode: 'enabled' } })
        return (JSON.parse(text) as { results: CrawlResult[] }).results[0]!.cache_status
      } finally {
        await svc.close()
      }
    }
    try {
      expect(await status({})).toBe('miss')
      expect(await status({})).toBe('hit')
      expect(await status({ max_screenshot_height: 4000 })).toBe('miss')
      expect(await status({ allow_js_code: true })).toBe('miss')
      expect(fx.hits(path)).toBe(3)
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
