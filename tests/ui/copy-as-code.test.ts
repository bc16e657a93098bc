// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import CopyAsCode from '../../src/renderer/src/components/playground/CopyAsCode.vue'
import { useDesktopStore } from '../../src/renderer/src/stores/desktop.js'
import type { PlaygroundRequest } from '../../src/renderer/src/stores/playground.js'
import { useSessionStore } from '../../src/renderer/src/stores/session.js'

/*
 * The "copy as code" panel: the address a snippet calls (this page's origin over HTTP, the local
 * server's on the desktop, none when that server is off) and the token (none on an open
 * service, $CRAWLDECK_TOKEN when tokens are on, written in only once asked for and typed).
 */

const request: PlaygroundRequest = { op: 'crawl', method: 'POST', path: '/crawl', body: { urls: ['https://a.test/'] } }

beforeEach(() => setActivePinia(createPinia()))

const snippetText = (w: ReturnType<typeof mount>) => w.find('[data-testid="pg-snippet"]').text()

describe('copy as code', () => {
  it("over HTTP calls this page's origin; an open service gets no header, a guarded one reads $CRAWLDECK_TOKEN", async () => {
    const w = mount(CopyAsCode, { props: { request, reason: null } })
    expect(snippetText(w)).toContain(`'${window.location.origin}/crawl'`)
    expect(snippetText(w)).not.toContain('Authorization')
    useSessionStore().authRequired = true
    await w.vm.$nextTick()
    expect(snippetText(w)).toContain('-H "Authorization: Bearer $CRAWLDECK_TOKEN"')
  })

  it('writes the token in only when "include my token" is ticked and one is typed', async () => {
    useSessionStore().authRequired = true
    const w = mount(CopyAsCode, { props: { request, reason: null } })
    await w.find('[data-testid="pg-include-token"]').setValue(true)
    expect(snippetText(w)).toContain('$CRAWLDECK_TOKEN')
    await w.find('[data-testid="pg-token"]').setValue("s3cr'et")
    expect(snippetText(w)).toContain(`'Authorization: Bearer s3cr'\\''et'`)
    await w.find('[data-testid="pg-include-token"]').setValue(false)
    expect(snippetText(w)).not.toContain('s3cr')
  })

  it("on the desktop calls the local server's address, and says so when that server is off", async () => {
    const desktop = useDesktopStore()
    desktop.isDesktop = true
    desktop.appInfo = { version: '1', http_url: 'http://127.0.0.1:11235/', platform: 'linux' }
    const w = mount(CopyAsCode, { props: { request, reason: null } })
    expect(snippetText(w)).toContain(`'http://127.0.0.1:11235/crawl'`)
    desktop.appInfo = { version: '1', http_url: null, platform: 'linux' }
    await w.vm.$nextTick()
    expect(w.find('[data-testid="pg-snippet"]').exists()).toBe(false)
    expect(w.text()).toContain('HTTP server is off')
  })

  it('without a request, says why', () => {
    const w = mount(CopyAsCode, { props: { request: null, reason: 'enter at least one URL' } })
    expect(w.text()).toContain('enter at least one URL')
  })
})
