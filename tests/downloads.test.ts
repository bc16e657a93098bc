import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureServer, type Download, type FixtureServer } from './helpers/fixture-server.js'
import { bounded, startService, type TestService } from './helpers/service.js'

/*
 * Downloads from crawled pages are refused: a URL that is a file fails saying so, a page that
 * starts a download keeps being crawled, and in both cases Chromium cancels the transfer at once:
 * the fixture server sees its 100 MB attachment cut off early, and nothing large is written to
 * the service's temporary directories (Playwright keeps accepted downloads in one of them).
 */

const MB = 1024 * 1024
/** What a cancelled download may have been sent: socket buffers and what Chromium read before deciding. */
const CANCELLED_BELOW = 25 * MB

let fx: FixtureServer
let service: TestService
// This file runs in its own process: its temp dir is the service's and its browsers', and only theirs.
let tmp: string
const savedTmpdir = process.env.TMPDIR

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-downloads-'))
  process.env.TMPDIR = tmp
  fx = await startFixtureServer()
  service = await startService({ max_pages: 2 })
  // The disk checks below look here: make sure it is where the service and Playwright write.
  if (!service.dataDir.startsWith(tmp) || !readdirSync(tmp).some((n) => n.startsWith('playwright-artifacts-'))) {
    throw new Error(`the service does not use ${tmp} as its temp dir: the disk checks would look in the wrong place`)
  }
})

afterAll(async () => {
  await service?.close()
  await fx?.close()
  if (savedTmpdir === undefined) delete process.env.TMPDIR
  else process.env.TMPDIR = savedTmpdir
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

interface FileSize {
  file: string
  bytes: number
}

/** Every regular file under `dir` with its size (files that vanish while we walk are skipped). */
function filesUnder(dir: string): FileSize[] {
  const out: FileSize[] = []
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of entries) {
    const file = path.join(dir, name)
    try {
      const st = statSync(file)
      if (st.isDirectory()) out.push(...filesUnder(file))
      else if (st.isFile()) out.push({ file, bytes: st.size })
    } catch {
      // gone since readdir
    }
  }
  return out
}

/**
 * Chromium's shared memory (--disable-dev-shm-usage puts it in TMPDIR): files it unlinks as soon
 * as they are mapped, which a walk can still catch for a moment. Memory, not anything downloaded.
 */
const SHARED_MEMORY = /^\.org\.chromium\.Chromium\./

/** The temp dirs hold no large file: Playwright's artifacts (where downloads land) nothing to speak of, and no file anywhere above 1 MB. */
function expectNothingLargeOnDisk(): void {
  const files = filesUnder(tmp).filter((f) => !(path.dirname(f.file) === tmp && SHARED_MEMORY.test(path.basename(f.file))))
  expect(files.filter((f) => f.bytes >= MB)).toEqual([])
  const artifacts = files.filter((f) => path.relative(tmp, f.file).startsWith('playwright-artifacts-'))
  expect(artifacts.reduce((sum, f) => sum + f.bytes, 0)).toBeLessThan(MB)
}

/** The download was cut off by the client well before its 100 MB were out. */
async function expectCancelled(d: Download): Promise<void> {
  await bounded(d.closed, 30_000, 'the download connection')
  expect(d.total).toBe(100 * MB)
  expect(d.finished).toBe(false)
  expect(d.sent).toBeLessThan(CANCELLED_BELOW)
}

describe('downloads from crawled pages', () => {
  it('a URL that is a download fails saying so, and the transfer is cancelled', async () => {
    const next = fx.nextDownload()
    const { status, body } = await service.postJson('/md', { url: fx.url('/download') })
    expect(status).toBe(502)
    expect(body.code).toBe('crawl_failed')
    expect(body.error).toContain(`${fx.url('/download')} is a download, not a page`)
    await expectCancelled(await next)
    expectNothingLargeOnDisk()

    // In a batch it is that URL's failed result; the other URL is crawled.
    const after = fx.nextDownload()
    const batch = await service.postJson('/crawl', { urls: [fx.url('/download'), fx.url('/about')] })
    expect(batch.status).toBe(200)
    expect(batch.body.results.map((r: { success: boolean }) => r.success)).toEqual([false, true])
    expect(batch.body.results[0].error_message).toContain('is a download, not a page')
    await expectCancelled(await after)
    expectNothingLargeOnDisk()
  })

  it('a page that follows a link to a download is crawled; the download is cancelled while the page is still open', async () => {
    const gate = fx.gate('download-page')
    const next = fx.nextDownload()
    const crawl = service.postJson('/md', { url: fx.url('/download-page?gate=download-page'), crawler_config: { wait_for: '#released' } })
    try {
      // The page is held open (the crawl waits for what it adds once the gate answers) while we look.
      await gate.reached
      await expectCancelled(await next)
      expectNothingLargeOnDisk()
    } finally {
      gate.release()
    }
    const { status, body } = await crawl
    expect(status).toBe(200)
    expect(body.markdown).toContain('A page that downloads')
    expect(body.markdown).toContain('Gate released')
    expectNothingLargeOnDisk()
  })
})
