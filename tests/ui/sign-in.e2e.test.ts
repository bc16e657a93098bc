import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js'
import { ensureRendererBuild } from '../helpers/renderer-build.js'
import { startService, type TestService } from '../helpers/service.js'

/*
 * The dashboard against a service that asks for tokens, in Chromium: a sign-in screen first,
 * a wrong token refused, a read token showing the monitor with every admin and crawl control
 * disabled (and the server refusing them anyway), an HttpOnly cookie the page cannot read, the
 * live feed over that cookie, and sign-out.
 */

const ADMIN = 'dashboard-admin-token-01'
const READ = 'dashboard-read-token-001'
const repo = resolve(import.meta.dirname, '../..')
const artifacts = join(repo, 'test-artifacts')
const testid = (id: string) => `[data-testid="${id}"]`

let fx: FixtureServer
let s: TestService
let browser: Browser

beforeAll(async () => {
  ensureRendererBuild()
  mkdirSync(artifacts, { recursive: true })
  ;[fx, s] = await Promise.all([startFixtureServer(), startService({ admin_tokens: [ADMIN], read_tokens: [READ] })])
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await s?.close()
  await fx?.close()
})

async function open(): Promise<{ page: Page; problems: string[]; unauthorized: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  const page = await context.newPage()
  const problems: string[] = []
  const unauthorized: string[] = []
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`)
    void d.dismiss()
  })
  page.on('response', (r) => {
    if (r.status() === 401) unauthorized.push(r.url())
  })
  await page.goto(`${s.url}/dashboard/`)
  return { page, problems, unauthorized }
}

describe('dashboard sign-in', () => {
  it('asks for a token before showing anything, and never calls a guarded route first', async () => {
    const { page, problems, unauthorized } = await open()
    await page.locator(testid('sign-in')).waitFor()
    expect(await page.locator(testid('health-bar')).count()).toBe(0)
    expect(unauthorized).toEqual([])
    await page.screenshot({ path: join(artifacts, 'sign-in-1440.png') })

    await page.locator(testid('sign-in-token')).fill('not-a-token-of-this-service')
    await page.locator(testid('sign-in-submit')).click()
    await page.locator(testid('sign-in-error'), { hasText: 'not valid' }).waitFor()
    expect(problems).toEqual([])
    await page.context().close()
  })

  it('a read token shows the monitor live over the session cookie, with admin and crawl controls disabled', async () => {
    const { page, problems } = await open()
    await page.locator(testid('sign-in-token')).fill(READ)
    await page.locator(testid('sign-in-submit')).click()
    await page.locator(testid('connection-state'), { hasText: 'live' }).waitFor()
    await page.locator(testid('session-scope'), { hasText: 'read' }).waitFor()

    // The session cookie is HttpOnly: page script cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain('crawldeck_session')
    const cookies = await page.context().cookies()
    expect(cookies.find((c) => c.name === 'crawldeck_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' })

    // Admin controls disabled, with the reason; no settings link.
    const cleanup = page.locator(testid('action-cleanup'))
    await cleanup.waitFor()
    expect(await cleanup.isDisabled()).toBe(true)
    expect(await cleanup.getAttribute('title')).toMatch(/needs the admin scope/)
    expect(await page.locator(testid('nav-settings')).count()).toBe(0)

    // The server refuses anyway, from this very page and its cookie.
    const status = await page.evaluate(
      async () => (await fetch('/monitor/actions/cleanup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status,
    )
    expect(status).toBe(403)

    // The Playground cannot crawl with a read session.
    await page.locator(testid('nav-playground')).click()
    await page.locator(testid('pg-scope-note')).waitFor()
    expect(await page.locator(testid('pg-run')).isDisabled()).toBe(true)
    await page.locator(testid('nav-monitor')).click()
    await page.screenshot({ path: join(artifacts, 'signed-in-read-1440.png') })

    // Sign out: back to the sign-in screen, and the cookie no longer works.
    await page.locator(testid('sign-out')).click()
    await page.locator(testid('sign-in')).waitFor()
    const after = await page.evaluate(async () => (await fetch('/monitor/health')).status)
    expect(after).toBe(401)
    expect(problems).toEqual([])
    await page.context().close()
  })

  it('an admin session has every control, and a crawl from the Playground works', async () => {
    const { page, problems } = await open()
    await page.locator(testid('sign-in-token')).fill(ADMIN)
    await page.locator(testid('sign-in-submit')).click()
    await page.locator(testid('session-scope'), { hasText: 'admin' }).waitFor()
    await page.locator(testid('action-cleanup')).waitFor()
    expect(await page.locator(testid('action-cleanup')).isDisabled()).toBe(false)
    expect(await page.locator(testid('nav-settings')).count()).toBe(1)
    const status = await page.evaluate(
      async (u) => (await fetch('/md', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: u }) })).status,
      fx.url('/'),
    )
    expect(status).toBe(200)
    expect(problems).toEqual([])
    await page.context().close()
  })
})
