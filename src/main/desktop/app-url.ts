import { APP_ENTRY_URL } from './app-protocol.js'

/**
 * Where the window's renderer comes from: the built folder (out/renderer) served as
 * app://crawldeck/ by the app's protocol handler in production, the electron-vite dev server
 * (ELECTRON_RENDERER_URL) in development. Nothing else is ever loaded in the window.
 */
export type RendererLocation = { kind: 'app'; url: string; root: string } | { kind: 'url'; url: string }

export function rendererLocation(opts: { devUrl?: string | undefined; root: string }): RendererLocation {
  const devUrl = opts.devUrl?.trim()
  if (devUrl) {
    // The dev server is a local http(s) server; any other scheme in the variable is a mistake
    // we refuse rather than load.
    const parsed = new URL(devUrl)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`ELECTRON_RENDERER_URL must be http(s), got ${parsed.protocol}`)
    return { kind: 'url', url: parsed.href }
  }
  return { kind: 'app', url: APP_ENTRY_URL, root: opts.root }
}

/** Only these leave the app, and only to the system browser. */
export function isExternalWebUrl(url: string): boolean {
  const parsed = safeUrl(url)
  return parsed !== null && (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== ''
}

function safeUrl(url: string): URL | null {
  try {
    return new URL(url)
  } catch {
    return null
  }
}
