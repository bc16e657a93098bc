// @vitest-environment happy-dom
import { request } from 'node:http'
import { readFile, rm, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { parseHash } from '../../src/renderer/src/lib/route.js'
import { setTransport } from '../../src/renderer/src/stores/transport.js'
import { HttpTransport } from '../../src/renderer/src/transport/http.js'
import SettingsView from '../../src/renderer/src/views/SettingsView.vue'
import { startService, waitFor, type TestService } from '../helpers/service.js'

/*
 * The Settings view as a component: against the real service through the real HTTP
 * transport. Requests go through node:http because happy-dom's own fetch applies browser CORS
 * rules to a page that has no origin.
 */

let s: TestService
let settingsDir: string
let pinia: ReturnType<typeof createPinia>
let wrapper: VueWrapper | null = null
const pageFetches: string[] = []
const originalFetch = globalThis.fetch

function nodeFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(String(input), { method: init.method ?? 'GET', headers: init.headers as Record<string, string> }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve(
          new Response(Buffer.concat(chunks).toString('utf8'), {
            status: res.statusCode ?? 0,
            headers: { 'content-type': String(res.headers['content-type'] ?? '') },
          }),
        ),
      )
    })
    req.on('error', reject)
    if (typeof init.body === 'string') req.write(init.body)
    req.end()
  })
}

const tid = (id: string) => `[data-testid="${id}"]`
const savedFile = async () => JSON.parse(await readFile(join(settingsDir, 'settings.json'), 'utf8')) as { settings: Record<string, unknown> }

beforeAll(async () => {
  settingsDir = await mkdtemp(join(tmpdir(), 'crawldeck-view-'))
  s = await startService({ launch_permanent: false }, { settingsDir })
  // Components must not fetch on their own: every request has to go through the transport.
  globalThis.fetch = ((input: RequestInfo | URL) => {
    pageFetches.push(String(input))
    return Promise.reject(new Error('components must not fetch'))
  }) as typeof fetch
})

afterAll(async () => {
  globalThis.fetch = originalFetch
  await s?.close()
  await rm(settingsDir, { recursive: true, force: true })
})

beforeEach(() => {
  document.body.innerHTML = ''
  pinia = createPinia()
  setActivePinia(pinia)
  // A signed-in admin: once a test saves tokens the service checks them (the dashboard would hold
  // a session cookie; here the transport's fetch carries the admin token).
  const asAdmin = ((input: RequestInfo | URL, init: RequestInit = {}) => {
    const token = s.runtime.config.admin_tokens[0]
    const headers = { ...(init.headers as Record<string, string> | undefined), ...(token ? { authorization: `Bearer ${token}` } : {}) }
    return nodeFetch(input, { ...init, headers })
  }) as typeof fetch
  setTransport(new HttpTransport({ baseUrl: s.url, fetch: asAdmin }))
})

afterEach(() => {
  wrapper?.unmount()
  wrapper = null
  expect(pageFetches).toEqual([])
})

async function mountView(): Promise<VueWrapper> {
  wrapper = mount(SettingsView, { global: { plugins: [pinia] }, attachTo: document.body })
  await waitFor(
    async () => {
      await flushPromises()
      return wrapper!.find(tid('settings-save')).exists()
    },
    20_000,
    'the settings form',
  )
  return wrapper
}

async function saveAndSettle(w: VueWrapper): Promise<void> {
  await w.get('form').trigger('submit')
  await waitFor(
    async () => {
      await flushPromises()
      return w.find(tid('settings-outcome')).exists() || w.find(tid('settings-error')).exists()
    },
    20_000,
    'the save outcome',
  )
}

describe('SettingsView', () => {
  it('is routed at #/settings', () => {
    expect(parseHash('#/settings')).toBe('settings')
    expect(parseHash('#/playground')).toBe('playground')
    expect(parseHash('#/nowhere')).toBe('monitor')
  })

  it('shows a field for every setting, loaded from the service', async () => {
    const w = await mountView()
    expect((w.get(tid('set-memory-threshold')).element as HTMLInputElement).value).toBe('95')
    expect((w.get(tid('set-idle-ttl')).element as HTMLInputElement).value).toBe('300')
    expect((w.get(tid('set-host')).element as HTMLInputElement).value).toBe('127.0.0.1')
    for (const id of [
      'set-port',
      'set-redis-url',
      'set-http-enabled',
      'set-notify-crash',
      'set-notify-memory_high',
      'set-notify-error_burst',
      'token-add-admin',
      'token-add-crawl',
      'token-add-read',
    ]) {
      expect(w.find(tid(id)).exists(), id).toBe(true)
    }
    expect(w.get(tid('tokens-note')).text()).toMatch(/every HTTP request .* must carry one/)
  })

  it('saves a new memory threshold: the outcome says applied, the engine uses it, only that key is saved', async () => {
    const w = await mountView()
    await w.get(tid('set-memory-threshold')).setValue('77')
    await saveAndSettle(w)
    expect(w.get(tid('settings-outcome')).text()).toBe('saved, applied now: memory threshold')
    expect(w.find(tid('settings-restart-required')).exists()).toBe(false)
    expect(s.runtime.config.memory_threshold_percent).toBe(77)
    expect((await savedFile()).settings).toEqual({ memory_threshold_percent: 77 })
  })

  it('a port change says restart required', async () => {
    const w = await mountView()
    await w.get(tid('set-port')).setValue('18080')
    await saveAndSettle(w)
    expect(w.get(tid('settings-outcome')).text()).toBe('saved')
    expect(w.get(tid('settings-restart-required')).text()).toBe('restart required for: port')
    // Reloading the view still says so.
    wrapper!.unmount()
    setActivePinia((pinia = createPinia()))
    const again = await mountView()
    expect(again.get(tid('settings-restart-required')).text()).toBe('restart required for: port')
    await again.get(tid('set-port')).setValue('0')
    await saveAndSettle(again)
    expect(again.find(tid('settings-restart-required')).exists()).toBe(false)
  })

  it('shows the server 400 inline, next to each bad field, and saves nothing', async () => {
    const before = await savedFile()
    const w = await mountView()
    await w.get(tid('set-port')).setValue('70000')
    await w.get(tid('set-redis-url')).setValue('mysql://db')
    await w.get(tid('token-add-admin')).trigger('click')
    await w.get(tid('token-admin-0')).setValue('short')
    await saveAndSettle(w)
    expect(w.get(tid('settings-error')).text()).toMatch(/fix the fields/)
    expect(w.get(tid('field-error-port')).text()).toMatch(/65535/)
    expect(w.get(tid('field-error-redis_url')).text()).toMatch(/redis:\/\//)
    expect(w.get(tid('field-error-tokens.admin.0')).text()).toMatch(/16 to 256 characters/)
    expect(w.get(tid('set-port')).attributes('aria-invalid')).toBe('true')
    expect(w.find(tid('field-error-memory_threshold_percent')).exists()).toBe(false)
    expect(await savedFile()).toEqual(before)
  })

  it('tokens are password fields; the saved value comes back masked and survives a second save', async () => {
    const w = await mountView()
    // A crawl token alone is refused (nobody could administer over HTTP any more): the server says so on the admin list.
    await w.get(tid('token-add-crawl')).trigger('click')
    await w.get(tid('token-crawl-0')).setValue('crawl-token-secret-WXYZ')
    await saveAndSettle(w)
    expect(w.get(tid('field-error-tokens.admin')).text()).toMatch(/add an admin token/)
    expect(s.runtime.settings.current().tokens.crawl).toEqual([])
    await w.get(tid('token-add-admin')).trigger('click')
    await w.get(tid('token-admin-0')).setValue('view-admin-token-0001')
    await saveAndSettle(w)
    expect(w.get(tid('settings-outcome')).text()).toBe('saved, applied now: admin tokens, crawl tokens')
    expect(s.runtime.settings.current().tokens.admin).toEqual(['view-admin-token-0001'])
  })

  it('a saved token comes back masked and survives a second save', async () => {
    const w = await mountView()
    // The test before saved one crawl token: the new one goes in the second row.
    expect((w.get(tid('token-crawl-0')).element as HTMLInputElement).value).toBe('********WXYZ')
    await w.get(tid('token-add-crawl')).trigger('click')
    const input = w.get(tid('token-crawl-1'))
    expect(input.attributes('type')).toBe('password')
    await input.setValue('second-crawl-token-QRST')
    await saveAndSettle(w)
    expect(w.get(tid('settings-outcome')).text()).toBe('saved, applied now: crawl tokens')
    expect((w.get(tid('token-crawl-1')).element as HTMLInputElement).value).toBe('********QRST')
    // Another change with the masked tokens still in the form keeps the real tokens.
    await w.get(tid('set-notify-crash')).setValue(false)
    await saveAndSettle(w)
    expect(w.get(tid('settings-outcome')).text()).toBe('saved, applied now: crash notification')
    expect(s.runtime.settings.current().tokens.crawl).toEqual(['crawl-token-secret-WXYZ', 'second-crawl-token-QRST'])
    expect(s.runtime.settings.current().notifications.crash).toBe(false)
  })

  it('the desktop app fields: close to tray on, start at login and hidden off; a change applies now', async () => {
    const w = await mountView()
    const checked = (id: string) => (w.get(tid(id)).element as HTMLInputElement).checked
    expect([checked('set-close-to-tray'), checked('set-start-at-login'), checked('set-start-hidden')]).toEqual([true, false, false])
    await w.get(tid('set-close-to-tray')).setValue(false)
    await w.get(tid('set-start-at-login')).setValue(true)
    await saveAndSettle(w)
    expect(w.get(tid('settings-outcome')).text()).toBe('saved, applied now: close to tray, start at login')
    expect(s.runtime.settings.current()).toMatchObject({ close_to_tray: false, start_at_login: true, start_hidden: false })
    // Only what was chosen is kept: start_hidden keeps following the default.
    const saved = (await savedFile()).settings
    expect(saved).toMatchObject({ close_to_tray: false, start_at_login: true })
    expect(saved).not.toHaveProperty('start_hidden')
  })
})
