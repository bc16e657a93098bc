import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { CrawlResult } from '../../../shared/crawl-schemas'
import { useTransport } from './transport'

/*
 * The Playground view's store: its form, the crawl, Markdown or screenshot call it makes, and the
 * answer put into one result shape whichever call made it.
 */

export type PlaygroundMode = 'crawl' | 'markdown' | 'screenshot'

export interface PlaygroundForm {
  urls: string
  mode: PlaygroundMode
  headless: boolean
  viewport_width: number
  viewport_height: number
  user_agent: string
  java_script_enabled: boolean
  wait_until: 'load' | 'domcontentloaded' | 'networkidle' | 'commit'
  page_timeout: number
  css_selector: string
  wait_for: string
  screenshot: boolean
  full_page: boolean
  /** /md's f: Crawl4AI's default is fit (boilerplate pruned); raw is the whole page; bm25 keeps what matches md_query. */
  md_filter: 'raw' | 'fit' | 'bm25'
  md_query: string
}

/** One result in the Playground's own shape: whatever the endpoint returned, normalised. */
export interface PlaygroundResult {
  url: string
  success: boolean
  status_code: number | null
  error: string | null
  markdown: string | null
  cleaned_html: string | null
  links: CrawlResult['links'] | null
  /** Images, videos and audios, as Crawl4AI's MediaItem. */
  media: CrawlResult['media'] | null
  metadata: CrawlResult['metadata'] | null
  screenshot: string | null
  duration_ms: number | null
}

export function defaultForm(): PlaygroundForm {
  return {
    urls: '',
    mode: 'crawl',
    headless: true,
    viewport_width: 1280,
    viewport_height: 720,
    user_agent: '',
    java_script_enabled: true,
    wait_until: 'domcontentloaded',
    page_timeout: 60_000,
    css_selector: '',
    wait_for: '',
    screenshot: false,
    full_page: false,
    md_filter: 'fit',
    md_query: '',
  }
}

export function parseUrls(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter((u) => u.length > 0)
}

export const usePlaygroundStore = defineStore('playground', () => {
  const form = ref<PlaygroundForm>(defaultForm())
  const running = ref(false)
  const error = ref<string | null>(null)
  const results = shallowRef<PlaygroundResult[]>([])
  const selected = ref(0)
  const elapsedMs = ref<number | null>(null)

  function browserConfig() {
    const f = form.value
    return {
      headless: f.headless,
      viewport_width: f.viewport_width,
      viewport_height: f.viewport_height,
      user_agent: f.user_agent.trim() || null,
      java_script_enabled: f.java_script_enabled,
    }
  }

  function crawlerConfig() {
    const f = form.value
    return {
      wait_until: f.wait_until,
      page_timeout: f.page_timeout,
      css_selector: f.css_selector.trim() || null,
      wait_for: f.wait_for.trim() || null,
      screenshot: f.screenshot,
      screenshot_full_page: f.full_page,
    }
  }

  async function run(): Promise<void> {
    const urls = parseUrls(form.value.urls)
    if (urls.length === 0) {
      error.value = 'enter at least one URL'
      return
    }
    running.value = true
    error.value = null
    const started = performance.now()
    const t = useTransport()
    try {
      if (form.value.mode === 'crawl') {
        const r = await t.call('crawl', { urls, browser_config: browserConfig(), crawler_config: crawlerConfig() })
        results.value = r.results.map((x) => ({
          url: x.url,
          success: x.success,
          status_code: x.status_code,
          error: x.error_message,
          // A failed URL has no Markdown: its tab is not shown.
          markdown: x.success ? x.markdown.raw_markdown : null,
          cleaned_html: x.cleaned_html,
          links: x.links,
          media: x.media,
          metadata: x.metadata,
          screenshot: x.screenshot,
          duration_ms: x.duration_ms,
        }))
      } else {
        const url = urls[0]!
        const base = { url, browser_config: browserConfig(), crawler_config: { ...crawlerConfig(), screenshot: false } }
        if (form.value.mode === 'markdown') {
          const r = await t.call('markdown', { ...base, f: form.value.md_filter, q: form.value.md_query.trim() || null })
          results.value = [
            {
              url: r.url,
              success: true,
              status_code: r.status_code,
              error: null,
              markdown: r.markdown,
              cleaned_html: null,
              links: null,
              media: null,
              metadata: null,
              screenshot: null,
              duration_ms: null,
            },
          ]
        } else {
          const r = await t.call('screenshot', { ...base, full_page: form.value.full_page })
          results.value = [
            {
              url: r.url,
              success: true,
              status_code: null,
              error: null,
              markdown: null,
              cleaned_html: null,
              links: null,
              media: null,
              metadata: null,
              screenshot: r.screenshot,
              duration_ms: null,
            },
          ]
        }
      }
      selected.value = 0
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
      results.value = []
    } finally {
      elapsedMs.value = Math.round(performance.now() - started)
      running.value = false
    }
  }

  function reset(): void {
    form.value = defaultForm()
    results.value = []
    error.value = null
  }

  return { form, running, error, results, selected, elapsedMs, run, reset }
})
