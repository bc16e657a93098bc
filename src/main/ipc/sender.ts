import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/*
 * Which frames may use the IPC door: only the app's own renderer (the built index.html, or the
 * dev server in an unpackaged run).
 */

export interface AllowedRenderer {
  /** Dev: the Vite dev server's URL (process.env.ELECTRON_RENDERER_URL); its origin is allowed. */
  rendererUrl?: string
  /** Production: the absolute path of out/renderer/index.html; only that file is allowed (any #hash). */
  rendererFile?: string
}

/**
 * Builds the check main applies to every IPC message's sender frame URL. Only the app's own
 * renderer may talk to the engine: a frame that navigated elsewhere (a link, a redirect, an
 * injected iframe) must not reach crawl or kill operations. Anything unparsable is refused.
 * Pass rendererUrl only for an unpackaged dev run.
 */
export function allowedSenderFor(allowed: AllowedRenderer): (frameUrl: string) => boolean {
  const file = allowed.rendererFile ? resolve(allowed.rendererFile) : null
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
    if (file !== null && url.protocol === 'file:' && url.host === '' && url.search === '') {
      try {
        // fileURLToPath decodes %-escapes and refuses an encoded '/', so the comparison is of real paths.
        return fileURLToPath(url) === file
      } catch {
        return false
      }
    }
    return false
  }
}
