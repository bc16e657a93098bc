import { app, shell, type Session, type WebContents } from 'electron'
import type { Logger } from '../core/logger.js'
import { RENDERER_CSP } from './app-protocol.js'
import { isExternalWebUrl } from './app-url.js'

/*
 * Electron hardening for every webContents and session of the app: what may open, navigate,
 * embed or ask for permissions, and the CSP on the app's own responses.
 */

export interface HardeningDeps {
  /** True for the app's own renderer URL (see appUrlMatcher); everything else is foreign. */
  isAppUrl: (url: string) => boolean
  logger: Logger
}

/**
 * Every webContents the app ever creates (the window, devtools, anything a bug might open) is
 * hardened the moment it exists, before it loads anything: no new windows, no navigation away,
 * no <webview>, no permissions, and a CSP header on the app's own responses.
 */
export function installHardening(deps: HardeningDeps): void {
  const hardenedSessions = new WeakSet<Session>()
  app.on('web-contents-created', (_event, contents) => {
    hardenWebContents(contents, deps)
    if (!hardenedSessions.has(contents.session)) {
      hardenedSessions.add(contents.session)
      hardenSession(contents.session, deps)
    }
  })
}

export function hardenWebContents(contents: WebContents, deps: HardeningDeps): void {
  contents.setWindowOpenHandler(({ url }) => {
    // A link with target=_blank to the web goes to the system browser; file:, javascript:,
    // custom schemes and everything else are not opened anywhere.
    if (isExternalWebUrl(url)) {
      shell.openExternal(url).catch((err: unknown) => deps.logger.warn({ err, url }, 'could not open the link in the system browser'))
    } else {
      deps.logger.warn({ url }, 'refused to open a window')
    }
    return { action: 'deny' }
  })
  const stayHome = (event: { preventDefault(): void }, url: string) => {
    if (deps.isAppUrl(url)) return
    event.preventDefault()
    deps.logger.warn({ url }, 'blocked navigation away from the app')
  }
  contents.on('will-navigate', (event) => stayHome(event, event.url))
  contents.on('will-frame-navigate', (event) => stayHome(event, event.url))
  contents.on('will-redirect', (event) => stayHome(event, event.url))
  contents.on('will-attach-webview', (event) => {
    event.preventDefault()
    deps.logger.warn('blocked a <webview>')
  })
}

export function hardenSession(ses: Session, deps: HardeningDeps): void {
  // The control center needs no camera, notifications, clipboard, geolocation or anything else.
  ses.setPermissionRequestHandler((_contents, permission, callback) => {
    deps.logger.warn({ permission }, 'denied a permission request')
    callback(false)
  })
  ses.setPermissionCheckHandler(() => false)
  ses.setDevicePermissionHandler(() => false)

  // Same policy as the <meta> tag of src/renderer/index.html. In production the app:// protocol
  // handler sends it as a header itself (app-protocol.ts), as webRequest hooks are not run for
  // custom protocols; this hook puts it on the dev server's (ELECTRON_RENDERER_URL) responses.
  ses.webRequest.onHeadersReceived((details, callback) => {
    if (!deps.isAppUrl(details.url)) {
      callback({})
      return
    }
    callback({
      responseHeaders: {
        ...withoutCsp(details.responseHeaders),
        'Content-Security-Policy': [RENDERER_CSP],
      },
    })
  })
}

/** Drops any CSP the response brought, whatever its case, so ours is the one that applies. */
function withoutCsp(headers: Record<string, string[]> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [name, value] of Object.entries(headers ?? {})) if (name.toLowerCase() !== 'content-security-policy') out[name] = value
  return out
}
