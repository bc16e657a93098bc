import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../../src/main/core/logger.js'
import { RENDERER_CSP } from '../../src/main/desktop/app-protocol.js'
import { installHardening } from '../../src/main/desktop/hardening.js'
import { allowedSenderFor } from '../../src/main/ipc/index.js'
import { fake, FakeBrowserWindow, FakeSession, FakeWebContents, resetFake } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

const APP_URL = 'app://crawldeck/#/monitor'
const DEV = 'http://localhost:5173'

beforeEach(() => resetFake())

function hardenedContents(isAppUrl = allowedSenderFor({ appOrigin: 'app://crawldeck' })): FakeWebContents {
  installHardening({ isAppUrl, logger: silentLogger() })
  return new FakeBrowserWindow({}).webContents
}

function navigationEvent(url: string) {
  return { url, preventDefault: vi.fn() }
}

describe('every webContents is hardened when created', () => {
  it('denies every new window; http(s) links go to the system browser, nothing else is opened', () => {
    const wc = hardenedContents()
    const open = (url: string) => wc.windowOpenHandler?.({ url })
    for (const url of ['https://example.com/a?b=1', 'http://127.0.0.1:11235/dashboard/']) expect(open(url)).toEqual({ action: 'deny' })
    expect(fake.openedExternal).toEqual(['https://example.com/a?b=1', 'http://127.0.0.1:11235/dashboard/'])
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'data:text/html,<script>1</script>',
      'crawldeck://x',
      'mailto:a@b.c',
      'smb://host/share',
      'about:blank',
      'not a url',
      APP_URL,
    ]) {
      expect(open(url)).toEqual({ action: 'deny' })
    }
    expect(fake.openedExternal).toHaveLength(2)
  })

  it('prevents navigation and redirects away from the app, and lets the app move within itself', () => {
    const wc = hardenedContents()
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect']) {
      for (const url of [
        'https://example.com/',
        'file:///etc/passwd',
        // The renderer's own files over file:// are not the app any more: only app://crawldeck is.
        'file:///app/out/renderer/index.html',
        'app://crawldeck.evil/',
        'app://evil/index.html',
        'app://CRAWLDECK/',
        'app://crawldeck:1234/',
        'app://user@crawldeck/',
        'other://crawldeck/',
        'about:blank',
        'javascript:alert(1)',
      ]) {
        const e = navigationEvent(url)
        wc.emit(event, e)
        expect(e.preventDefault, `${event} ${url}`).toHaveBeenCalled()
      }
      for (const url of [APP_URL, 'app://crawldeck/', 'app://crawldeck/index.html#/settings']) {
        const own = navigationEvent(url)
        wc.emit(event, own)
        expect(own.preventDefault, `${event} to the app itself: ${url}`).not.toHaveBeenCalled()
      }
    }
  })

  it('in development only the dev server origin counts as the app', () => {
    const wc = hardenedContents(allowedSenderFor({ rendererUrl: DEV }))
    const own = navigationEvent(`${DEV}/#/settings`)
    wc.emit('will-navigate', own)
    expect(own.preventDefault).not.toHaveBeenCalled()
    for (const url of ['http://localhost:5174/', 'http://evil.test/', APP_URL]) {
      const e = navigationEvent(url)
      wc.emit('will-navigate', e)
      expect(e.preventDefault, url).toHaveBeenCalled()
    }
  })

  it('prevents <webview> attachment', () => {
    const wc = hardenedContents()
    const e = { preventDefault: vi.fn() }
    wc.emit('will-attach-webview', e, {}, { src: 'https://example.com/' })
    expect(e.preventDefault).toHaveBeenCalled()
  })

  it('denies every permission request and every permission check', () => {
    hardenedContents()
    const ses = fake.defaultSession
    for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen']) {
      const callback = vi.fn()
      ses.permissionRequestHandler?.({}, permission, callback, {})
      expect(callback, permission).toHaveBeenCalledWith(false)
      expect(ses.permissionCheckHandler?.({}, permission, 'file://', {}), permission).toBe(false)
    }
    expect(ses.devicePermissionHandler?.({})).toBe(false)
  })

  it('hardens each session once, including a partition of its own', () => {
    installHardening({ isAppUrl: () => false, logger: silentLogger() })
    const spy = vi.spyOn(fake.defaultSession, 'setPermissionRequestHandler')
    new FakeBrowserWindow({})
    new FakeBrowserWindow({})
    expect(spy).toHaveBeenCalledTimes(1)
    const other = new FakeSession()
    fake.app.emit('web-contents-created', {}, new FakeWebContents(other))
    expect(other.permissionRequestHandler).not.toBeNull()
    expect(other.headersListener).not.toBeNull()
  })
})

describe('Content-Security-Policy', () => {
  const metaPolicy = (() => {
    const html = readFileSync(join(import.meta.dirname, '../../src/renderer/index.html'), 'utf8')
    const match = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html)
    if (!match?.[1]) throw new Error('src/renderer/index.html has no CSP meta tag')
    return match[1]
  })()

  function headersFor(url: string, responseHeaders: Record<string, string[]>) {
    const listener = fake.defaultSession.headersListener
    if (!listener) throw new Error('no onHeadersReceived listener')
    let result: { responseHeaders?: Record<string, string[]> } | undefined
    listener({ url, responseHeaders }, (r) => (result = r))
    return result
  }

  it("sets the renderer's own policy as a response header on the app's responses, replacing any other", () => {
    expect(metaPolicy).toMatch(/default-src 'self'/)
    expect(metaPolicy).toMatch(/script-src 'self'/)
    hardenedContents(allowedSenderFor({ rendererUrl: DEV }))
    const result = headersFor(`${DEV}/src/main.ts`, { 'content-type': ['text/javascript'], 'content-security-policy': ['default-src *'] })
    expect(result?.responseHeaders).toEqual({ 'content-type': ['text/javascript'], 'Content-Security-Policy': [metaPolicy] })
  })

  it('is the policy the app:// protocol handler sends', () => {
    expect(RENDERER_CSP).toBe(metaPolicy)
  })

  it('leaves responses that are not the app alone', () => {
    hardenedContents(allowedSenderFor({ rendererUrl: DEV }))
    expect(headersFor('https://example.com/', { 'content-type': ['text/html'] })).toEqual({})
  })
})
