import { execFile } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js'
import { ensureRendererBuild } from '../helpers/renderer-build.js'
import { startService, type TestService } from '../helpers/service.js'

/**
 * The Playground end to end: the real service serves the built dashboard, Debian Chromium drives
 * it. A config typed in the JSON editor goes out as typed; a bad key is marked on its line before
 * anything runs; every "copy as code" snippet, run by curl, Debian's python3 (httpx) and node,
 * answers what the Playground showed; a stream shows its first result while the last URL is
 * still held by the fixture; a job shows progress, then its result; history keeps and re-runs.
 * Screenshots of each endpoint at 1440 and 375 px go to /tmp/shots.
 */

const SHOTS = '/tmp/shots'
let service: TestService
let fixture: FixtureServer
let browser: Browser
let page: Page
let dir: string
let problems: string[] = []

const testid = (id: string) => `[data-testid="${id}"]`

beforeAll(async () => {
  ensureRendererBuild()
  mkdirSync(SHOTS, { recursive: true })
  dir = await mkdtemp(join(tmpdir(), 'crawldeck-pg-e2e-'))
  ;[fixture, service] = await Promise.all([startFixtureServer(), startService({ allow_js_code: true })])
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run', '--disable-quic'],
  })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await service?.close()
  await fixture?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

afterEach(async () => {
  await page?.close()
  const seen = problems
  problems = []
  expect(seen).toEqual([])
})

async function openPlayground(width = 1440, on: TestService = service, expected = (_status: number, _url: string) => false): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 900 } })
  const p = await context.newPage()
  p.on('console', (m) => {
    // The browser logs every 4xx answer too; the response listener below tells which are expected.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 40[03]/.test(m.text()))
      problems.push(`console error: ${m.text()}`)
  })
  p.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  p.on('response', (r) => {
    // A config the server refuses is the editor's business (a 400 from /config/dump); anything else is a defect.
    if (r.status() >= 400 && !(r.status() === 400 && r.url().endsWith('/config/dump')) && !expected(r.status(), r.url()))
      problems.push(`HTTP ${r.status()} for ${r.url()}`)
  })
  await p.goto(`${on.url}/dashboard/#/playground`)
  await p.locator(testid('playground-view')).waitFor()
  return p
}

/** Replaces an editor's whole text as a user pasting it would. */
async function typeConfig(p: Page, kind: 'browser' | 'crawler', text: string): Promise<void> {
  const input = p.locator(testid(`pg-config-input-${kind}`))
  await input.click()
  await p.keyboard.press('Control+A')
  await p.keyboard.insertText(text)
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd}: ${err.message}\n${stderr}`))
        else resolve(stdout)
      },
    )
  })
}

type Answer = { success: boolean; results: Array<{ url: string; success: boolean; status_code: number | null; markdown: { raw_markdown: string } }> }
const stable = (a: Answer) => ({
  success: a.success,
  results: a.results.map((r) => ({ url: r.url, success: r.success, status_code: r.status_code, markdown: r.markdown.raw_markdown })),
})

describe('the Playground', () => {
  it('sends a config typed in the editor as typed, and marks a bad key on its line before the run', async () => {
    page = await openPlayground()
    await page.fill(testid('pg-urls'), fixture.url('/article'))
    await page.click(testid('pg-config-toggle'))
    await page.locator(testid('pg-config-input-crawler')).waitFor()

    // A misspelt key: marked where it is, with the server's own words, before anything runs.
    await typeConfig(page, 'crawler', '{\n  "page_timeout": 30000,\n  "css_selectr": "h1"\n}')
    const mark = page.locator(`${testid('pg-config-crawler')} .cm-lintRange-error`)
    await mark.first().waitFor()
    expect(await mark.first().textContent()).toBe('"css_selectr"')
    await page.locator(testid('pg-config-status-crawler'), { hasText: 'unknown parameter "css_selectr"' }).waitFor()
    // The line of the key carries the gutter's error marker.
    expect(await page.locator(`${testid('pg-config-crawler')} .cm-lint-marker-error`).count()).toBe(1)

    // The typed form, as Crawl4AI's SDK dumps it: accepted, and sent exactly so.
    const typed = { type: 'CrawlerRunConfig', params: { css_selector: 'h1', page_timeout: 30000, cache_mode: { type: 'CacheMode', params: 'write_only' } } }
    await typeConfig(page, 'crawler', JSON.stringify(typed, null, 2))
    await page.locator(`${testid('pg-config-status-crawler')}[data-state="ok"]`).waitFor()
    expect(await mark.count()).toBe(0)
    // The form follows the editor...
    expect(await page.locator(testid('pg-cache-mode')).inputValue()).toBe('write_only')
    expect(await page.locator(testid('pg-page-timeout')).inputValue()).toBe('30000')
    // ...and the editor the form, inside the typed form's params.
    await page.fill(testid('pg-page-timeout'), '45000')
    await page.locator(testid('pg-config-input-crawler'), { hasText: '"page_timeout": 45000' }).waitFor()
    typed.params.page_timeout = 45000
    // Completion offers every parameter by name, with what the server does with it.
    await typeConfig(page, 'browser', '{\n  ')
    await page.keyboard.type('"text_mo')
    const option = page.locator('.cm-tooltip-autocomplete li', { hasText: 'text_mode' })
    // A click accepts it (Enter is ignored in the first 75 ms of the list, CodeMirror's interaction delay).
    await option.first().click()
    await page.locator(testid('pg-config-input-browser'), { hasText: '"text_mode": ' }).waitFor()
    await typeConfig(page, 'browser', '{"viewport_width": 900, "text_mode": true}')
    await page.locator(`${testid('pg-config-status-browser')}[data-state="ok"]`).waitFor()
    // Hover docs on a key.
    // Over the start of the line: the key (property names are not a token of their own in the DOM).
    const line = (await page
      .locator(`${testid('pg-config-input-browser')} .cm-line`)
      .first()
      .boundingBox())!
    await page.mouse.move(line.x + 40, line.y + line.height / 2)
    const hover = page.locator('.cm-param-doc', { hasText: 'viewport_width' })
    await hover.waitFor()
    // What GET /schema says of it: this server's default.
    expect(await hover.innerText()).toContain('default 1280')

    const sent = page.waitForRequest((r) => r.url() === `${service.url}/crawl` && r.method() === 'POST')
    const answered = page.waitForResponse((r) => r.url() === `${service.url}/crawl`)
    await page.click(testid('pg-run'))
    const body = (await sent).postDataJSON() as { crawler_config: unknown; browser_config: unknown }
    // Exactly what the editor shows: the typed form, with the form's keys written into its params.
    expect(body.crawler_config).toEqual(JSON.parse((await page.locator(testid('pg-config-input-crawler')).textContent())!))
    expect(body.crawler_config).toMatchObject(typed)
    expect(body.browser_config).toEqual({ viewport_width: 900, text_mode: true })
    const answer = (await (await answered).json()) as Answer
    // css_selector took effect: the Markdown is the heading only.
    expect(answer.results[0]!.markdown.raw_markdown.trim()).toMatch(/^# /)
    await page.locator(testid('pg-markdown'), { hasText: answer.results[0]!.markdown.raw_markdown.trim().slice(0, 20) }).waitFor()
    // The envelope's server_* figures are shown.
    await page.locator(testid('pg-server'), { hasText: 'processing' }).waitFor()
  })

  it('each snippet, run by curl, python3 (httpx) and node, answers what the Playground showed', async () => {
    page = await openPlayground()
    await page.fill(testid('pg-urls'), `${fixture.url('/')}\n${fixture.url('/about')}`)
    await page.selectOption(testid('pg-cache-mode'), 'bypass')
    const answered = page.waitForResponse((r) => r.url() === `${service.url}/crawl`)
    // Ctrl+Enter runs from anywhere in the Playground.
    await page.locator(testid('pg-urls')).press('Control+Enter')
    const shown = stable((await (await answered).json()) as Answer)
    expect(shown.results).toHaveLength(2)
    await page.locator(testid('pg-result-url')).waitFor()

    const runners = { curl: ['sh', 'sh'], python: ['/usr/bin/python3', 'py'], typescript: [process.execPath, 'mjs'] } as const
    for (const [lang, [cmd, ext]] of Object.entries(runners)) {
      await page.click(testid(`pg-snippet-${lang}`))
      const code = (await page.locator(testid('pg-snippet')).textContent())!
      // An open service (no token configured): no Authorization header at all.
      expect(code).not.toContain('Authorization')
      const file = join(dir, `snippet-${lang}.${ext}`)
      await writeFile(file, code)
      const out = JSON.parse(await run(cmd, [file])) as Answer
      expect(stable(out), lang).toEqual(shown)
    }
    // The SDK form is shown for /crawl; with the token asked for, it is read from the environment.
    await page.click(testid('pg-snippet-python-sdk'))
    await page.check(testid('pg-include-token'))
    const sdk = (await page.locator(testid('pg-snippet')).textContent())!
    expect(sdk).toContain('Crawl4aiDockerClient')
    expect(sdk).toContain('os.environ["CRAWLDECK_TOKEN"]')
  })

  it('/crawl/stream shows the first result while the last URL is still held', async () => {
    page = await openPlayground()
    const gate = fixture.gate('pg-stream')
    await page.click(testid('pg-mode-stream'))
    await page.fill(testid('pg-urls'), `${fixture.url('/about')}\n${fixture.url('/gate/pg-stream')}`)
    await page.click(testid('pg-run'))
    await Promise.all([gate.reached, page.locator(testid('pg-result-url'), { hasText: '/about' }).waitFor()])
    expect(await page.locator(testid('pg-stream-count')).textContent()).toContain('1 result')
    gate.release()
    await page
      .locator(`${testid('pg-results')} .pick button`)
      .nth(1)
      .waitFor()
    await page.locator(testid('pg-run'), { hasText: 'run' }).waitFor()
    expect(await page.locator(`${testid('pg-results')} .pick button`).count()).toBe(2)
  })

  it('/crawl/job shows its progress, then its result; history keeps the runs and re-runs one', async () => {
    page = await openPlayground()
    const gate = fixture.gate('pg-job')
    await page.click(testid('pg-mode-job'))
    await page.fill(testid('pg-urls'), `${fixture.url('/about')}\n${fixture.url('/gate/pg-job')}`)
    await page.click(testid('pg-run'))
    await gate.reached
    await page.locator(testid('pg-job-progress'), { hasText: '1 / 2' }).waitFor({ timeout: 60_000 })
    expect(await page.locator(testid('pg-job-status')).textContent()).not.toContain('completed')
    gate.release()
    await page.locator(testid('pg-job-status'), { hasText: 'completed' }).waitFor({ timeout: 60_000 })
    await page.locator(testid('pg-result-url')).waitFor()

    await page.click(testid('pg-side-history'))
    const entries = page.locator(testid('pg-history-entry'))
    await entries.first().waitFor()
    const before = await entries.count()
    await page.click(testid('pg-history-open'))
    await page.locator(testid('pg-history-detail'), { hasText: '/gate/pg-job' }).waitFor()
    // Kept in the browser: a new page still lists it.
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('crawldeck.playground.history') ?? '[]') as Array<{ path: string }>)
    expect(stored[0]!.path).toBe('/crawl/job')
    await page.locator(testid('pg-history-rerun')).first().click()
    await page.locator(testid('pg-job-status'), { hasText: 'completed' }).waitFor({ timeout: 60_000 })
    await page.locator(testid('pg-history-entry')).nth(before).waitFor()
    expect(await entries.count()).toBe(before + 1)
  })

  it('/execute_js on a server started without --allow-js-code: the mode is marked off with the reason', async () => {
    const closed = await startService()
    try {
      page = await openPlayground(1440, closed, (status, url) => status === 403 && url.endsWith('/execute_js'))
      await page.fill(testid('pg-urls'), fixture.url('/'))
      await page.click(testid('pg-mode-execute_js'))
      await page.click(testid('pg-run'))
      await page.locator(testid('pg-js-disabled'), { hasText: 'allow-js-code' }).waitFor()
      expect(await page.locator(testid('pg-run')).isDisabled()).toBe(true)
      expect(await page.locator(testid('pg-mode-execute_js')).getAttribute('title')).toMatch(/allow-js-code/)
      // The other endpoints still run.
      await page.click(testid('pg-mode-html'))
      expect(await page.locator(testid('pg-run')).isDisabled()).toBe(false)
    } finally {
      await page?.close()
      await closed.close()
    }
  })

  const modes: Array<[string, string]> = [
    ['crawl', 'pg-markdown'],
    ['stream', 'pg-markdown'],
    ['job', 'pg-markdown'],
    ['markdown', 'pg-markdown'],
    ['html', 'pg-html'],
    ['screenshot', 'pg-screenshot'],
    ['pdf', 'pg-pdf'],
    ['execute_js', 'pg-tab-js'],
  ]
  for (const width of [1440, 375]) {
    it(`every endpoint runs from the form; screenshots at ${width} px`, async () => {
      page = await openPlayground(width)
      await page.fill(testid('pg-urls'), fixture.url('/'))
      for (const [mode, shows] of modes) {
        await page.click(testid(`pg-mode-${mode}`))
        await page.click(testid('pg-run'))
        await page.locator(testid(shows)).waitFor({ timeout: 60_000 })
        await page.locator(testid('pg-run'), { hasText: 'run' }).waitFor()
        if (mode === 'execute_js') {
          await page.click(testid('pg-tab-js'))
          await page.locator(testid('pg-js-results'), { hasText: 'Fixture Home' }).waitFor()
        }
        if (mode === 'crawl') await page.click(testid('pg-config-toggle'))
        await page.screenshot({ path: join(SHOTS, `playground-${mode}-${width}.png`), fullPage: true })
        if (mode === 'crawl') await page.click(testid('pg-config-toggle'))
      }
      await page.click(testid('pg-side-history'))
      await page.screenshot({ path: join(SHOTS, `playground-history-${width}.png`), fullPage: true })
    }, 300_000)
  }
})
