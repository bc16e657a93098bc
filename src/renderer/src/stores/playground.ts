import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import type { OperationName } from '../../../shared/contract'
import type { CrawlResult } from '../../../shared/crawl-schemas'
import { configToSend, formFromText, parseConfigText, textAgreesWithForm, writeFormIntoText, type ConfigFormFields, type ConfigKind } from '../lib/config-sync'
import { addToHistory, loadHistory, summarise, type HistoryEntry } from '../lib/playground-history'
import type { SnippetRequest } from '../lib/snippets'
import { useTransport } from './transport'
import { TransportError } from '../transport/types'

/*
 * The Playground view's store: its form and config editor texts, the request they make for the
 * endpoint chosen (the one request that is both sent and written out as code), the answer put
 * into one result shape whichever endpoint made it, the server's own figures, and the history.
 */

export type PlaygroundMode = 'crawl' | 'stream' | 'markdown' | 'html' | 'screenshot' | 'pdf' | 'execute_js' | 'job'
export type CacheModeChoice = ConfigFormFields['cache_mode']
export type ContentFilterChoice = 'none' | 'pruning' | 'bm25'
export type ExtractionChoice = 'none' | 'css' | 'xpath'

export const CACHE_MODE_CHOICES: readonly CacheModeChoice[] = ['bypass', 'enabled', 'disabled', 'read_only', 'write_only']

/** Modes that take every URL of the form; the others take the first. */
export const MULTI_URL_MODES: readonly PlaygroundMode[] = ['crawl', 'stream', 'job']

/** What the schema editor starts with: Crawl4AI's §10 shape, for the page the form points at. */
export const SCHEMA_EXAMPLE = `{
  "name": "Links",
  "baseSelector": "a[href]",
  "fields": [
    {"name": "text", "type": "text"},
    {"name": "href", "type": "attribute", "attribute": "href"}
  ]
}`

/** The quick form: the config fields the JSON editor shares with it (config-sync.ts), and the endpoints' own. */
export interface PlaygroundForm extends ConfigFormFields {
  urls: string
  mode: PlaygroundMode
  /** /md's f: Crawl4AI's default is fit (boilerplate pruned); raw is the whole page; bm25 keeps what matches md_query. */
  md_filter: 'raw' | 'fit' | 'bm25'
  md_query: string
  /** /md's c: '1' reads the result cache, '0' crawls afresh (and writes it). */
  md_cache: boolean
  /** /screenshot's screenshot_wait_for, in seconds: 0 shoots at once. */
  screenshot_wait: number
  /** /execute_js's scripts, separated by a line holding only `---`. */
  js_scripts: string
  /** /crawl's markdown_generator content filter, which makes fit_markdown. */
  content_filter: ContentFilterChoice
  filter_query: string
  /** /crawl's extraction_strategy: a JsonCss or JsonXPath schema, edited as JSON. */
  extraction: ExtractionChoice
  schema_text: string
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
  /** markdown.fit_markdown when a content filter made one ('' becomes null: no tab). */
  fit_markdown: string | null
  /** extracted_content, parsed: the records of the extraction strategy; null when none ran. */
  extracted: unknown[] | null
  /** /pdf's base64 PDF. */
  pdf?: string | null
  /** What the page's scripts returned (/execute_js, or js_code). */
  js_results?: unknown[] | null
  /** Why a script stopped the list (it threw). */
  js_error?: string | null
  /** The server's RSS when it wrote this stream line, in MiB. */
  server_memory_mb?: number | null
}

/** The envelope's server_* figures, as measured by the server for this run. */
export interface ServerFigures {
  processing_time_s: number | null
  memory_delta_mb: number | null
  peak_memory_mb: number | null
  /** A stream's last line: the server's RSS when it wrote it. */
  memory_mb: number | null
}

/** A /crawl/job's progress while it runs. */
export interface JobProgress {
  task_id: string
  status: string
  done: number
  total: number
}

/** The request of a run: the contract operation, and the HTTP request a script would make for it. */
export interface PlaygroundRequest extends SnippetRequest {
  op: OperationName
  body: Record<string, unknown>
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
    md_cache: false,
    screenshot_wait: 0,
    js_scripts: 'document.title',
    cache_mode: 'bypass',
    session_id: '',
    content_filter: 'none',
    filter_query: '',
    extraction: 'none',
    schema_text: SCHEMA_EXAMPLE,
  }
}

/** The editor texts a form starts with: the form's config keys, plain form. */
export function defaultConfigText(form: PlaygroundForm = defaultForm()): Record<ConfigKind, string> {
  return { browser: writeFormIntoText('browser', '', form), crawler: writeFormIntoText('crawler', '', form) }
}

/** /execute_js's scripts from the form's text: split at lines holding only `---`, empty ones dropped. */
export function splitScripts(text: string): string[] {
  return text
    .split(/^\s*---\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

/** The schema editor's text as a schema object, or why it is not one (shown under the editor before anything is sent). */
export function parseSchema(text: string): { schema: Record<string, unknown> } | { error: string } {
  if (text.trim() === '') return { error: 'the schema is empty' }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return { error: `not JSON: ${err instanceof Error ? err.message : String(err)}` }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { error: 'the schema is a JSON object: {"baseSelector": ..., "fields": [...]}' }
  const schema = value as Record<string, unknown>
  if (typeof schema.baseSelector !== 'string') return { error: 'the schema needs a "baseSelector" string' }
  if (!Array.isArray(schema.fields)) return { error: 'the schema needs a "fields" list' }
  return { schema }
}

/** extracted_content as records: a JSON array, or the string itself as one record when it is not one. */
export function parseExtracted(content: string | null): unknown[] | null {
  if (content === null) return null
  try {
    const value: unknown = JSON.parse(content)
    return Array.isArray(value) ? value : [value]
  } catch {
    return [{ extracted_content: content }]
  }
}

/** The columns of a records table: every key of the records shown, in the order first seen. */
export function recordColumns(records: readonly unknown[]): string[] {
  const seen = new Set<string>()
  for (const r of records) if (r !== null && typeof r === 'object' && !Array.isArray(r)) for (const k of Object.keys(r)) seen.add(k)
  return [...seen]
}

/** A record's cell: strings as they are, anything nested as JSON, a missing key empty. */
export function recordCell(record: unknown, key: string): string {
  if (record === null || typeof record !== 'object' || !Object.hasOwn(record, key)) return ''
  const v = (record as Record<string, unknown>)[key]
  return typeof v === 'string' ? v : JSON.stringify(v)
}

export function parseUrls(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter((u) => u.length > 0)
}

const emptyResult = (url: string): PlaygroundResult => ({
  url,
  success: true,
  status_code: null,
  error: null,
  markdown: null,
  cleaned_html: null,
  links: null,
  media: null,
  metadata: null,
  screenshot: null,
  duration_ms: null,
  fit_markdown: null,
  extracted: null,
})

/** A /crawl result (or a stream line, or /execute_js's answer) in the Playground's shape. */
export function fromCrawlResult(x: CrawlResult & { server_memory_mb?: number }): PlaygroundResult {
  return {
    url: x.url,
    success: x.success,
    status_code: x.status_code,
    error: x.error_message,
    // A failed URL has no Markdown: its tab is not shown.
    markdown: x.success ? (x.markdown?.raw_markdown ?? null) : null,
    cleaned_html: x.cleaned_html,
    links: x.links,
    media: x.media,
    metadata: x.metadata,
    screenshot: x.screenshot,
    duration_ms: x.duration_ms,
    fit_markdown: x.success && x.markdown && x.markdown.fit_markdown !== '' ? x.markdown.fit_markdown : null,
    extracted: parseExtracted(x.extracted_content),
    // What the scripts returned: the page's js_execution_result when scripts ran, else the js_code values.
    js_error: x.js_execution_result?.error ?? null,
    js_results: x.js_execution_result ? x.js_execution_result.results : Array.isArray(x.js_results) && x.js_results.length > 0 ? x.js_results : null,
    server_memory_mb: typeof x.server_memory_mb === 'number' ? x.server_memory_mb : null,
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/** Finished job states: polling stops at these. */
const JOB_DONE = new Set(['completed', 'failed', 'cancelled'])

export const usePlaygroundStore = defineStore('playground', () => {
  const form = ref<PlaygroundForm>(defaultForm())
  const configText = ref<Record<ConfigKind, string>>(defaultConfigText(form.value))
  const running = ref(false)
  const error = ref<string | null>(null)
  const results = shallowRef<PlaygroundResult[]>([])
  const selected = ref(0)
  const elapsedMs = ref<number | null>(null)
  const server = ref<ServerFigures | null>(null)
  /** The server's answer as it came (a stream: its lines; a job: its last status), for the raw JSON tab. */
  const raw = ref<unknown>(null)
  const job = ref<JobProgress | null>(null)
  /** Why /execute_js cannot run here (the server said so: started without --allow-js-code); null until it does. */
  const jsDisabled = ref<string | null>(null)
  const history = ref<HistoryEntry<PlaygroundForm>[]>(loadHistory() as HistoryEntry<PlaygroundForm>[])
  let abort: AbortController | null = null
  let applyingText = false

  /** Why the schema editor's text cannot be sent; null when it can (or extraction is off). */
  const schemaError = computed(() => {
    if (form.value.extraction === 'none') return null
    const parsed = parseSchema(form.value.schema_text)
    return 'error' in parsed ? parsed.error : null
  })
  /** Why an editor's text cannot be sent (not JSON, not an object); null when it can. */
  const configError = computed<Record<ConfigKind, string | null>>(() => {
    const out: Record<ConfigKind, string | null> = { browser: null, crawler: null }
    for (const kind of ['browser', 'crawler'] as const) {
      const parsed = parseConfigText(configText.value[kind])
      if (!parsed.ok) out[kind] = parsed.error
    }
    return out
  })

  // The form edits the editor texts: a form change the text does not say yet is written into it.
  watch(
    form,
    (f) => {
      if (applyingText) return
      const defaults = defaultForm()
      for (const kind of ['browser', 'crawler'] as const) {
        if (!textAgreesWithForm(kind, configText.value[kind], f, defaults)) configText.value[kind] = writeFormIntoText(kind, configText.value[kind], f)
      }
    },
    { deep: true, flush: 'sync' },
  )

  /** An edit of an editor's text: kept as typed, and the form follows the keys it knows. */
  function setConfigText(kind: ConfigKind, text: string): void {
    configText.value[kind] = text
    const fromText = formFromText(kind, text, defaultForm())
    if (fromText === null) return
    // The form follows field by field; until it has all, it must not write itself back into the text.
    applyingText = true
    try {
      for (const [field, value] of Object.entries(fromText) as Array<[keyof PlaygroundForm, never]>) {
        if (form.value[field] !== value) form.value[field] = value
      }
    } finally {
      applyingText = false
    }
  }

  /** What only /crawl takes: the content filter that makes fit_markdown, and the extraction strategy. */
  function crawlOnlyConfig(): Record<string, unknown> {
    const f = form.value
    const out: Record<string, unknown> = {}
    if (f.content_filter !== 'none') {
      const filter =
        f.content_filter === 'pruning'
          ? { type: 'PruningContentFilter', params: {} }
          : { type: 'BM25ContentFilter', params: { user_query: f.filter_query.trim() || null } }
      out.markdown_generator = { type: 'DefaultMarkdownGenerator', params: { content_filter: filter } }
    }
    if (f.extraction !== 'none') {
      const parsed = parseSchema(f.schema_text)
      if ('schema' in parsed)
        out.extraction_strategy = {
          type: f.extraction === 'css' ? 'JsonCssExtractionStrategy' : 'JsonXPathExtractionStrategy',
          params: { schema: parsed.schema },
        }
    }
    return out
  }

  /**
   * The request the form makes for its endpoint, or why it cannot be made. The one request both
   * sent by run() and written out by "copy as code".
   */
  const request = computed<{ request: PlaygroundRequest } | { error: string }>(() => {
    const f = form.value
    const urls = parseUrls(f.urls)
    if (urls.length === 0) return { error: 'enter at least one URL' }
    for (const kind of ['browser', 'crawler'] as const) {
      const e = configError.value[kind]
      if (e !== null) return { error: `${kind}_config: ${e}` }
    }
    const multi = MULTI_URL_MODES.includes(f.mode)
    if (multi && f.mode !== 'job' && schemaError.value !== null) return { error: `extraction schema: ${schemaError.value}` }
    const browser_config = configToSend(configText.value.browser)!
    // The single-page endpoints answer their own thing; a screenshot in the crawl would only cost time.
    const crawler_config = configToSend(configText.value.crawler, multi ? (f.mode === 'job' ? {} : crawlOnlyConfig()) : { screenshot: false })!
    const base = { browser_config, crawler_config }
    const url = urls[0]!
    const post = (op: OperationName, path: string, body: Record<string, unknown>, stream = false) => ({
      request: { op, method: 'POST' as const, path, body, ...(stream ? { stream } : {}) },
    })
    switch (f.mode) {
      case 'crawl':
        return post('crawl', '/crawl', { urls, ...base })
      case 'stream':
        return post('crawlStream', '/crawl/stream', { urls, ...base }, true)
      case 'job':
        return post('crawlJob', '/crawl/job', { urls, ...base })
      case 'markdown':
        return post('markdown', '/md', { url, f: f.md_filter, q: f.md_query.trim() || null, c: f.md_cache ? '1' : '0', ...base })
      case 'html':
        return post('html', '/html', { url, ...base })
      case 'screenshot':
        return post('screenshot', '/screenshot', {
          url,
          full_page: f.full_page,
          screenshot_wait_for: f.screenshot_wait > 0 ? f.screenshot_wait : null,
          ...base,
        })
      case 'pdf':
        return post('pdf', '/pdf', { url, ...base })
      case 'execute_js': {
        const scripts = splitScripts(f.js_scripts)
        if (scripts.length === 0) return { error: 'give at least one script' }
        return post('executeJs', '/execute_js', { url, scripts, ...base })
      }
    }
    // A mode stored by another version (history) that this one does not know.
    return { error: `unknown endpoint ${String(f.mode)}` }
  })

  function setServerFigures(envelope: { server_processing_time_s?: unknown; server_memory_delta_mb?: unknown; server_peak_memory_mb?: unknown }): void {
    server.value = {
      processing_time_s: num(envelope.server_processing_time_s),
      memory_delta_mb: num(envelope.server_memory_delta_mb),
      peak_memory_mb: num(envelope.server_peak_memory_mb),
      memory_mb: null,
    }
  }

  async function send(req: PlaygroundRequest, signal: AbortSignal): Promise<void> {
    const t = useTransport()
    const body = req.body as never
    switch (req.op) {
      case 'crawl': {
        const r = await t.call('crawl', body)
        raw.value = r
        results.value = r.results.map(fromCrawlResult)
        setServerFigures(r)
        return
      }
      case 'crawlStream': {
        results.value = []
        const lines: unknown[] = []
        raw.value = lines
        await t.stream(
          'crawlStream',
          body,
          (line) => {
            lines.push(line)
            raw.value = [...lines]
            const l = line as (CrawlResult & { server_memory_mb?: number }) | { status?: string }
            if ('url' in l && typeof l.url === 'string') {
              // Shown as each URL finishes: a new array, so the view sees it at once.
              results.value = [...results.value, fromCrawlResult(l as CrawlResult & { server_memory_mb?: number })]
              server.value = {
                processing_time_s: null,
                memory_delta_mb: null,
                peak_memory_mb: null,
                memory_mb: num((l as { server_memory_mb?: unknown }).server_memory_mb),
              }
            }
          },
          signal,
        )
        return
      }
      case 'crawlJob': {
        const submitted = await t.call('crawlJob', body)
        job.value = { task_id: submitted.task_id, status: 'queued', done: 0, total: (req.body.urls as unknown[]).length }
        for (;;) {
          const s = await t.call('crawlJobStatus', { task_id: submitted.task_id })
          raw.value = s
          job.value = { task_id: s.task_id, status: s.status, done: s.progress.done, total: s.progress.total }
          if (JOB_DONE.has(s.status)) {
            if (s.result) {
              results.value = s.result.results.map(fromCrawlResult)
              setServerFigures(s.result)
            }
            if (s.status === 'failed') throw new Error(s.error ?? 'the job failed')
            return
          }
          if (signal.aborted) throw new Error('stopped')
          await new Promise<void>((r) => {
            // The status is asked for again after a short pause; a stop ends the wait at once.
            const timer = setTimeout(r, 400)
            signal.addEventListener('abort', () => (clearTimeout(timer), r()), { once: true })
          })
        }
      }
      case 'markdown': {
        const r = await t.call('markdown', body)
        raw.value = r
        results.value = [{ ...emptyResult(r.url), status_code: r.status_code, markdown: r.markdown }]
        return
      }
      case 'html': {
        const r = await t.call('html', body)
        raw.value = r
        results.value = [{ ...emptyResult(r.url), status_code: r.status_code, cleaned_html: r.html }]
        return
      }
      case 'screenshot': {
        const r = await t.call('screenshot', body)
        raw.value = r
        results.value = [{ ...emptyResult(r.url), screenshot: r.screenshot }]
        return
      }
      case 'pdf': {
        const r = await t.call('pdf', body)
        raw.value = r
        results.value = [{ ...emptyResult(r.url), pdf: r.pdf }]
        return
      }
      case 'executeJs': {
        const r = await t.call('executeJs', body)
        raw.value = r
        results.value = [fromCrawlResult(r)]
        return
      }
      default:
        throw new Error(`the Playground does not call ${req.op}`)
    }
  }

  async function run(): Promise<void> {
    if (running.value) return
    const made = request.value
    if ('error' in made) {
      error.value = made.error
      return
    }
    const req = made.request
    running.value = true
    error.value = null
    server.value = null
    job.value = null
    results.value = []
    raw.value = null
    abort = new AbortController()
    const when = Date.now()
    const started = performance.now()
    try {
      await send(req, abort.signal)
      selected.value = 0
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
      if (err instanceof TransportError && err.code === 'js_disabled') jsDisabled.value = err.message
      // A stream or job keeps what arrived before it failed.
      if (req.op !== 'crawlStream' && req.op !== 'crawlJob') results.value = []
    } finally {
      elapsedMs.value = Math.round(performance.now() - started)
      running.value = false
      abort = null
    }
    history.value = addToHistory({
      id: `${when}-${Math.random().toString(36).slice(2, 8)}`,
      when,
      mode: form.value.mode,
      path: req.path,
      body: req.body,
      form: { ...form.value },
      config_text: { ...configText.value },
      status: error.value !== null ? 'error' : results.value.every((r) => r.success) ? 'ok' : 'failed',
      error: error.value,
      duration_ms: elapsedMs.value ?? 0,
      results: summarise(results.value),
    }) as HistoryEntry<PlaygroundForm>[]
  }

  /** Stops a stream or a job's polling. */
  function stop(): void {
    abort?.abort()
  }

  /** Puts a history entry's form and configs back (the form first: the texts are then as they were). */
  function restore(entry: HistoryEntry<PlaygroundForm>): void {
    form.value = { ...defaultForm(), ...(entry.form as Partial<PlaygroundForm>) }
    configText.value = { ...entry.config_text }
  }

  async function rerun(entry: HistoryEntry<PlaygroundForm>): Promise<void> {
    restore(entry)
    await run()
  }

  function reset(): void {
    form.value = defaultForm()
    configText.value = defaultConfigText(form.value)
    results.value = []
    raw.value = null
    error.value = null
    server.value = null
    job.value = null
  }

  return {
    form,
    configText,
    configError,
    running,
    error,
    results,
    selected,
    elapsedMs,
    server,
    raw,
    job,
    jsDisabled,
    history,
    schemaError,
    request,
    setConfigText,
    run,
    stop,
    restore,
    rerun,
    reset,
  }
})
