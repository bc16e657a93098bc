/*
 * Which frames may use the IPC door: only the app's own renderer (served from app://crawldeck by
 * the desktop shell's protocol handler, or the dev server in an unpackaged run).
 */

export interface AllowedRenderer {
  /** Dev: the Vite dev server's URL (process.env.ELECTRON_RENDERER_URL); its origin is allowed. */
  rendererUrl?: string
  /**
   * Production: the origin of the app's own privileged scheme, 'app://crawldeck' (see
   * src/main/desktop/app-protocol.ts); every path under it is the built renderer, nothing else is.
   */
  appOrigin?: string
}

/**
 * Builds the check main applies to every IPC message's sender frame URL. Only the app's own
 * renderer may talk to the engine: a frame that navigated elsewhere (a link, a redirect, an
 * injected iframe) must not reach crawl or kill operations. Anything unparsable is refused.
 * Pass rendererUrl only for an unpackaged dev run.
 */
export function allowedSenderFor(allowed: AllowedRenderer): (frameUrl: string) => boolean {
  const app = allowed.appOrigin === undefined ? null : parseAppOrigin(allowed.appOrigin)
  let origin: string | null = null
  if (allowed.rendererUrl) {
    const dev = new URL(allowed.rendererUrl)
    // An opaque origin ('null': file:, data:, about:) would match every other opaque one.
    if (dev.protocol !== 'http:' && dev.protocol !== 'https:') throw new Error(`rendererUrl must be an http(s) URL, not ${dev.protocol}`)
    origin = dev.origin
  }
  return (frameUrl: string): boolean => {
    if (typeof frameUrl !== 'string' || frameUrl === '') return false
    let url: URL
    try {
      url = new URL(frameUrl)
    } catch {
      return false
    }
    if (origin !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin && !url.username && !url.password) return true
    // A custom scheme has an opaque origin for the URL parser, so scheme and host are compared;
    // the host as written (Chromium lowercases a standard scheme's host, so anything else is not ours).
    if (app !== null && url.protocol === app.protocol && url.host === app.host && !url.username && !url.password) return true
    return false
  }
}

function parseAppOrigin(origin: string): { protocol: string; host: string } {
  const url = new URL(origin)
  // http(s), file: and the like are not the app's own scheme; the dev server has rendererUrl.
  if (['http:', 'https:', 'file:', 'data:', 'blob:', 'about:', 'javascript:'].includes(url.protocol) || url.host === '' || url.port)
    throw new Error(`appOrigin must be a custom scheme with a host, like app://crawldeck, not ${origin}`)
  if (url.pathname !== '' && url.pathname !== '/') throw new Error(`appOrigin must be an origin without a path, not ${origin}`)
  return { protocol: url.protocol, host: url.host }
}
