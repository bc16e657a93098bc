import { accessSync, constants } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BASE_CHROMIUM_ARGS } from '../src/main/core/chromium/launch-args.js'
import { ChromiumNotFoundError, chromiumCandidates, locateChromium, locateChromiumBinaries } from '../src/main/core/chromium/locate.js'

let tmp: string

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'crawldeck-chromium-'))
})

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true })
})

async function fakeExecutable(rel: string, mode = 0o755): Promise<string> {
  const file = path.join(tmp, rel)
  await mkdir(path.dirname(file), { recursive: true })
  await writeFile(file, '#!/bin/sh\nexit 0\n')
  await chmod(file, mode)
  return file
}

// The real executable check, blind to the machine's own /usr/bin browsers.
const onlyInTmp = (p: string): boolean => {
  if (!p.startsWith(tmp + path.sep)) return false
  try {
    accessSync(p, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected a throw')
}

describe('locateChromium', () => {
  it('prefers the explicit path over the env override', async () => {
    const explicit = await fakeExecutable('a/chrome')
    const fromEnv = await fakeExecutable('b/chrome')
    expect(locateChromium({ explicit, env: { CRAWLDECK_CHROMIUM: fromEnv, HOME: tmp } })).toBe(explicit)
  })

  it('prefers CRAWLDECK_CHROMIUM over the system locations', async () => {
    const fromEnv = await fakeExecutable('b/chrome')
    // /usr/bin/chromium exists on this machine, and still loses.
    expect(locateChromium({ env: { CRAWLDECK_CHROMIUM: fromEnv, HOME: tmp } })).toBe(fromEnv)
    expect(chromiumCandidates({ CRAWLDECK_CHROMIUM: fromEnv, HOME: tmp })[0]).toBe(fromEnv)
  })

  it('rejects a missing explicit path instead of falling back', () => {
    const missing = path.join(tmp, 'nope/chrome')
    const err = catchError(() => locateChromium({ explicit: missing, env: { HOME: tmp } }))
    expect(err).toBeInstanceOf(ChromiumNotFoundError)
    expect((err as Error).message).toContain(missing)
    expect((err as Error).message).toContain('--chromium')
  })

  it('rejects an explicit path that is not executable', async () => {
    const plain = await fakeExecutable('plain/chrome', 0o644)
    const err = catchError(() => locateChromium({ explicit: plain, env: { HOME: tmp } }))
    expect(err).toBeInstanceOf(ChromiumNotFoundError)
    expect((err as Error).message).toContain(plain)
  })

  it('rejects a CRAWLDECK_CHROMIUM that points nowhere', () => {
    const missing = path.join(tmp, 'gone')
    const err = catchError(() => locateChromium({ env: { CRAWLDECK_CHROMIUM: missing, HOME: tmp } }))
    expect(err).toBeInstanceOf(ChromiumNotFoundError)
    expect((err as Error).message).toContain(missing)
    expect((err as Error).message).toContain('CRAWLDECK_CHROMIUM')
  })

  it('says how to fix it when nothing is found', () => {
    const cache = path.join(tmp, 'pw')
    const err = catchError(() => locateChromium({ env: { PLAYWRIGHT_BROWSERS_PATH: cache }, exists: () => false }))
    expect(err).toBeInstanceOf(ChromiumNotFoundError)
    const message = (err as Error).message
    expect(message).toContain('CRAWLDECK_CHROMIUM')
    expect(message).toContain('apt-get install -y chromium chromium-headless-shell')
    expect(message).toContain('/usr/lib/chromium/chromium-headless-shell')
    expect(message).toContain('/usr/bin/chromium')
    expect(message).toContain(path.join(cache, 'chromium-*'))
  })

  it('picks the newest Playwright revision, numerically; headless browsers get the newest headless shell', async () => {
    const cache = path.join(tmp, 'pw')
    await fakeExecutable('pw/chromium-999/chrome-linux/chrome')
    const newest = await fakeExecutable('pw/chromium-1200/chrome-linux64/chrome')
    await fakeExecutable('pw/chromium-1100/chrome-linux/chrome')
    await fakeExecutable('pw/chromium_headless_shell-1250/chrome-linux/headless_shell')
    const newestShell = await fakeExecutable('pw/chromium_headless_shell-1300/chrome-linux/headless_shell')
    await fakeExecutable('pw/chromium-tip-of-tree-5000/chrome-linux/chrome')
    const env = { PLAYWRIGHT_BROWSERS_PATH: cache }
    expect(locateChromiumBinaries({ env, exists: onlyInTmp })).toEqual({ headless: newestShell, headed: newest })
    expect(locateChromium({ env, exists: onlyInTmp })).toBe(newestShell)

    const fromCache = chromiumCandidates(env).filter((p) => p.startsWith(cache))
    const revisions = fromCache.map((p) => path.relative(cache, p).split(path.sep)[0])
    expect([...new Set(revisions)]).toEqual(['chromium_headless_shell-1300', 'chromium_headless_shell-1250', 'chromium-1200', 'chromium-1100', 'chromium-999'])
    // System installs before the cache, each kind; shells before full browsers.
    const order = chromiumCandidates(env)
    expect(order.indexOf('/usr/lib/chromium/chromium-headless-shell')).toBeLessThan(order.indexOf(newestShell))
    expect(order.indexOf(newestShell)).toBeLessThan(order.indexOf('/usr/bin/chromium'))
    expect(order.indexOf('/usr/bin/chromium')).toBeLessThan(order.indexOf(newest))
  })

  it('without a headless shell, a full Chromium serves headless browsers too', async () => {
    const full = await fakeExecutable('pw/chromium-1200/chrome-linux64/chrome')
    expect(locateChromiumBinaries({ env: { PLAYWRIGHT_BROWSERS_PATH: path.join(tmp, 'pw') }, exists: onlyInTmp })).toEqual({ headless: full, headed: full })
  })

  it('with only a headless shell, it serves headless browsers and there is no headed one', async () => {
    const shell = await fakeExecutable('.cache/ms-playwright/chromium_headless_shell-1300/chrome-linux/headless_shell')
    await mkdir(path.join(tmp, '.cache/ms-playwright/chromium-1200')) // an interrupted install: no binary
    expect(locateChromiumBinaries({ env: { HOME: tmp }, exists: onlyInTmp })).toEqual({ headless: shell, headed: null })
    expect(locateChromium({ env: { HOME: tmp }, exists: onlyInTmp })).toBe(shell)
  })

  it('an explicit path serves headless and headed browsers alike', async () => {
    const explicit = await fakeExecutable('a/chrome')
    expect(locateChromiumBinaries({ explicit, env: { HOME: tmp } })).toEqual({ headless: explicit, headed: explicit })
  })
})

describe('BASE_CHROMIUM_ARGS', () => {
  it('leaves the sandbox to sandboxPolicy and keeps shared memory out of /dev/shm', () => {
    expect(BASE_CHROMIUM_ARGS).not.toContain('--no-sandbox')
    expect(BASE_CHROMIUM_ARGS).toContain('--disable-dev-shm-usage')
    expect(new Set(BASE_CHROMIUM_ARGS).size).toBe(BASE_CHROMIUM_ARGS.length)
    expect(Object.isFrozen(BASE_CHROMIUM_ARGS)).toBe(true)
  })
})
