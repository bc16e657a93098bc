import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SettingsAnswer } from '../../src/shared/settings.js'
import { startService, type TestService } from '../helpers/service.js'

/*
 * The Settings view end to end: Debian Chromium opens the control center served by the real
 * service, goes to Settings through the nav link, changes the memory threshold, and GET
 * /settings (and the engine) report the new value.
 */

const repo = resolve(import.meta.dirname, '../..')
const built = join(repo, 'out/renderer')

/** The dashboard build is shared; rebuild it only when it predates the Settings view. */
function hasSettingsView(): boolean {
  const assets = join(built, 'assets')
  if (!existsSync(join(built, 'index.html')) || !existsSync(assets)) return false
  return readdirSync(assets).some((f) => f.endsWith('.js') && readFileSync(join(assets, f), 'utf8').includes('settings-save'))
}

let service: TestService
let browser: Browser
let settingsDir: string

beforeAll(async () => {
  if (!hasSettingsView()) execFileSync('npx', ['vite', 'build', '--config', 'vite.renderer.config.ts'], { cwd: repo, stdio: 'ignore' })
  settingsDir = await mkdtemp(join(tmpdir(), 'crawldeck-e2e-settings-'))
  service = await startService({ launch_permanent: false }, { settingsDir })
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await service?.close()
  await rm(settingsDir, { recursive: true, force: true })
})

describe('Settings in the dashboard (Chromium)', () => {
  it('changes the memory threshold; GET /settings and the engine report it', async () => {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    try {
      await page.goto(`${service.url}/dashboard/#/monitor`)
      await page.click('[data-testid="nav-settings"]')
      expect(new URL(page.url()).hash).toBe('#/settings')
      const threshold = page.locator('[data-testid="set-memory-threshold"]')
      await threshold.waitFor({ timeout: 30_000 })
      expect(await threshold.inputValue()).toBe('95')
      await threshold.fill('42')
      await page.click('[data-testid="settings-save"]')
      await page.locator('[data-testid="settings-outcome"]', { hasText: 'applied now: memory threshold' }).waitFor({ timeout: 30_000 })

      const res = await service.get<SettingsAnswer>('/settings')
      expect(res.status).toBe(200)
      expect(res.body.settings.memory_threshold_percent).toBe(42)
      expect(service.runtime.config.memory_threshold_percent).toBe(42)

      // A bad value is refused by the server and shown beside the field.
      await threshold.fill('250')
      await page.click('[data-testid="settings-save"]')
      await page.locator('[data-testid="field-error-memory_threshold_percent"]').waitFor({ timeout: 30_000 })
      expect((await service.get<SettingsAnswer>('/settings')).body.settings.memory_threshold_percent).toBe(42)
      // The 400 is the browser's own console noise for a failed fetch; nothing else may appear.
      expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([])
    } finally {
      await page.close()
    }
  })
})
