import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChromiumNotFoundError, chromiumCandidates, chromiumPathProblem, locateChromiumBinaries } from '../src/main/core/chromium/locate.js'

/*
 * Chromium discovery on macOS and Windows, run on Linux with the platform, the environment, the
 * executable check and the directory listing faked: which install locations each platform searches,
 * in which order, and what wins over them.
 */

/** An `exists` that knows only these paths, and records what it was asked. */
function machine(...installed: string[]): { exists: (p: string) => boolean; asked: string[] } {
  const asked: string[] = []
  const set = new Set(installed)
  return { asked, exists: (p) => (asked.push(p), set.has(p)) }
}

const noDir = (): string[] => {
  throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
}

function catchError(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

describe('macOS', () => {
  const env = { HOME: '/Users/ada' }
  const mac = { platform: 'darwin' as const, env, readDir: noDir }
  const chrome = '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'

  it('finds Google Chrome in /Applications, the binary inside the bundle, for headless and headed browsers', () => {
    expect(locateChromiumBinaries({ ...mac, exists: machine(chrome).exists })).toEqual({ headless: chrome, headed: chrome })
  })

  it('tries Chromium, Chrome, Edge, Canary, then Brave; /Applications before ~/Applications; no Linux path', () => {
    const { exists, asked } = machine()
    const err = catchError(() => locateChromiumBinaries({ ...mac, exists }))
    expect(err).toBeInstanceOf(ChromiumNotFoundError)
    const installed = asked.filter((p) => !p.includes('ms-playwright'))
    expect(new Set(installed)).toEqual(
      new Set([
        '/Applications/Chromium.app/Contents/MacOS/Chromium',
        '/Users/ada/Applications/Chromium.app/Contents/MacOS/Chromium',
        chrome,
        '/Users/ada/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
        '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
        '/Users/ada/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
        '/Applications/Google Chrome Canary.app/Contents/MacOS/Google Chrome Canary',
        '/Users/ada/Applications/Google Chrome Canary.app/Contents/MacOS/Google Chrome Canary',
        '/Applications/Brave Browser.app/Contents/MacOS/Brave Browser',
        '/Users/ada/Applications/Brave Browser.app/Contents/MacOS/Brave Browser',
      ]),
    )
    const order = chromiumCandidates(env, mac)
    expect(order.slice(0, 4)).toEqual([
      '/Applications/Chromium.app/Contents/MacOS/Chromium',
      '/Users/ada/Applications/Chromium.app/Contents/MacOS/Chromium',
      chrome,
      '/Users/ada/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    ])
    expect(order.some((p) => p.startsWith('/usr/'))).toBe(false)
    expect(err.message).toContain('brew install --cask chromium')
    expect(err.message).toContain('Settings (Chromium path)')
    expect(err.message).toContain('/Users/ada/Library/Caches/ms-playwright/chromium-*')
    expect(err.message).not.toContain('apt-get')
  })

  it('a Chromium the user installed in ~/Applications beats Chrome in ~/Applications; Chrome in /Applications beats Edge', () => {
    const own = '/Users/ada/Applications/Chromium.app/Contents/MacOS/Chromium'
    const edge = '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge'
    expect(locateChromiumBinaries({ ...mac, exists: machine(own, chrome, edge).exists }).headless).toBe(own)
    expect(locateChromiumBinaries({ ...mac, exists: machine(edge, chrome).exists }).headless).toBe(chrome)
    expect(locateChromiumBinaries({ ...mac, exists: machine(edge).exists }).headless).toBe(edge)
  })

  it("Playwright's cache in ~/Library/Caches: the headless shell for headless browsers, Chrome for Testing for headed ones", () => {
    const cache = '/Users/ada/Library/Caches/ms-playwright'
    const shell = `${cache}/chromium_headless_shell-1200/chrome-headless-shell-mac-arm64/chrome-headless-shell`
    const cft = `${cache}/chromium-1200/chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing`
    const readDir = (dir: string) => (dir === cache ? ['chromium-1200', 'chromium_headless_shell-1200', 'chromium_headless_shell-1100'] : noDir())
    expect(locateChromiumBinaries({ ...mac, readDir, exists: machine(shell, cft).exists })).toEqual({ headless: shell, headed: cft })
    // An installed browser is found before the cache for headed browsers.
    expect(locateChromiumBinaries({ ...mac, readDir, exists: machine(shell, cft, chrome).exists })).toEqual({ headless: shell, headed: chrome })
  })
})

describe('Windows', () => {
  const env = {
    ProgramFiles: 'C:\\Program Files',
    'ProgramFiles(x86)': 'C:\\Program Files (x86)',
    LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local',
    USERPROFILE: 'C:\\Users\\ada',
  }
  const win = { platform: 'win32' as const, env, readDir: noDir }

  it('finds Chrome under %ProgramFiles%, Edge under %ProgramFiles(x86)%, a per-user Chrome under %LocalAppData%', () => {
    const chrome = 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe'
    const edge = 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe'
    const userChrome = 'C:\\Users\\ada\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe'
    expect(locateChromiumBinaries({ ...win, exists: machine(edge, chrome).exists })).toEqual({ headless: chrome, headed: chrome })
    expect(locateChromiumBinaries({ ...win, exists: machine(edge).exists }).headless).toBe(edge)
    expect(locateChromiumBinaries({ ...win, exists: machine(edge, userChrome).exists }).headless).toBe(userChrome)
  })

  it('tries Chromium, Chrome, Edge, Canary and Brave in each of the three roots, with Windows paths', () => {
    const order = chromiumCandidates(env, win)
    expect(order.slice(0, 6)).toEqual([
      'C:\\Program Files\\Chromium\\Application\\chrome.exe',
      'C:\\Program Files (x86)\\Chromium\\Application\\chrome.exe',
      'C:\\Users\\ada\\AppData\\Local\\Chromium\\Application\\chrome.exe',
      'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
      'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
      'C:\\Users\\ada\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe',
    ])
    expect(order).toContain('C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe')
    expect(order).toContain('C:\\Users\\ada\\AppData\\Local\\Google\\Chrome SxS\\Application\\chrome.exe')
    expect(order).toContain('C:\\Program Files\\BraveSoftware\\Brave-Browser\\Application\\brave.exe')
    expect(order.every((p) => /^C:\\/.test(p) && !p.includes('/'))).toBe(true)
    const err = catchError(() => locateChromiumBinaries({ ...win, exists: () => false }))
    expect(err.message).toContain('C:\\Users\\ada\\AppData\\Local\\ms-playwright\\chromium-*')
    expect(err.message).toContain('Install Google Chrome or Microsoft Edge')
  })

  it('reads the variables whatever their case, and falls back to the usual folders without them', () => {
    const lower = { programfiles: 'D:\\Apps', localappdata: 'D:\\Users\\ada\\Local' }
    expect(chromiumCandidates(lower, win)[0]).toBe('D:\\Apps\\Chromium\\Application\\chrome.exe')
    expect(chromiumCandidates(lower, win)).toContain('D:\\Users\\ada\\Local\\Chromium\\Application\\chrome.exe')
    const bare = chromiumCandidates({ USERPROFILE: 'C:\\Users\\bob' }, win)
    expect(bare.slice(0, 3)).toEqual([
      'C:\\Program Files\\Chromium\\Application\\chrome.exe',
      'C:\\Program Files (x86)\\Chromium\\Application\\chrome.exe',
      'C:\\Users\\bob\\AppData\\Local\\Chromium\\Application\\chrome.exe',
    ])
  })

  it("Playwright's cache in %LocalAppData%", () => {
    const cache = 'C:\\Users\\ada\\AppData\\Local\\ms-playwright'
    const shell = `${cache}\\chromium_headless_shell-1200\\chrome-headless-shell-win64\\chrome-headless-shell.exe`
    const readDir = (dir: string) => (dir === cache ? ['chromium_headless_shell-1200'] : noDir())
    expect(locateChromiumBinaries({ ...win, readDir, exists: machine(shell).exists })).toEqual({ headless: shell, headed: null })
  })
})

describe('what wins over discovery', () => {
  const chrome = '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'
  const mine = '/Users/ada/bin/chromium'
  const mac = { platform: 'darwin' as const, readDir: noDir }

  it('an explicit path, then CRAWLDECK_CHROMIUM, then the path saved in Settings, then the install locations', () => {
    const exists = machine(chrome, mine, '/opt/flag/chrome', '/opt/env/chrome').exists
    const base = { ...mac, exists, saved: mine }
    expect(locateChromiumBinaries({ ...base, env: { HOME: '/Users/ada' } }).headless).toBe(mine)
    expect(locateChromiumBinaries({ ...base, env: { HOME: '/Users/ada', CRAWLDECK_CHROMIUM: '/opt/env/chrome' } }).headless).toBe('/opt/env/chrome')
    expect(locateChromiumBinaries({ ...base, explicit: '/opt/flag/chrome', env: { CRAWLDECK_CHROMIUM: '/opt/env/chrome' } }).headless).toBe('/opt/flag/chrome')
    expect(locateChromiumBinaries({ ...base, saved: null, env: { HOME: '/Users/ada' } }).headless).toBe(chrome)
  })

  it('a saved path that stopped working falls back to discovery and says so; an explicit one does not', () => {
    const warnings: string[] = []
    const exists = machine(chrome).exists
    const found = locateChromiumBinaries({ ...mac, exists, env: { HOME: '/Users/ada' }, saved: '/gone/chrome', warn: (m) => warnings.push(m) })
    expect(found.headless).toBe(chrome)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('/gone/chrome')
    expect(warnings[0]).toContain('Settings')
    expect(() => locateChromiumBinaries({ ...mac, exists, env: {}, explicit: '/gone/chrome' })).toThrow(ChromiumNotFoundError)
  })
})

describe('chromiumPathProblem (what Settings accept as a Chromium path)', () => {
  let tmp: string
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'crawldeck-chromium-path-'))
    await mkdir(path.join(tmp, 'Google Chrome.app/Contents/MacOS'), { recursive: true })
    await writeFile(path.join(tmp, 'chrome'), '#!/bin/sh\nexit 0\n')
    await chmod(path.join(tmp, 'chrome'), 0o755)
    await writeFile(path.join(tmp, 'notes.txt'), 'not a program')
  })
  afterAll(() => rm(tmp, { recursive: true, force: true }))

  it('accepts an absolute path to an executable file', () => {
    expect(chromiumPathProblem(path.join(tmp, 'chrome'))).toBeNull()
  })

  it('refuses a relative path, a missing file, a plain file and a directory, each with its reason', () => {
    expect(chromiumPathProblem('chrome')).toMatch(/absolute path/)
    expect(chromiumPathProblem('C:\\x\\chrome.exe', 'win32')).toMatch(/does not exist/)
    expect(chromiumPathProblem('chrome.exe', 'win32')).toMatch(/absolute path \(C:/)
    expect(chromiumPathProblem(path.join(tmp, 'gone'))).toMatch(/does not exist/)
    expect(chromiumPathProblem(path.join(tmp, 'notes.txt'))).toMatch(/not an executable file/)
    expect(chromiumPathProblem(tmp)).toMatch(/is a directory/)
  })

  it('names the program inside a macOS app bundle', () => {
    const app = path.join(tmp, 'Google Chrome.app')
    expect(chromiumPathProblem(app)).toBe(`${app} is an app bundle: give the program inside it, ${app}/Contents/MacOS/Google Chrome`)
  })
})
