import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { Deadline } from '../src/main/core/crawl/deadline.js'
import { htmlToMarkdown } from '../src/main/core/crawl/markdown.js'
import { MarkdownOffload, type MarkdownOffloadOptions } from '../src/main/core/crawl/markdown-offload.js'
import { AbortedError, CaptureTooLargeError, MarkdownFailedError, MarkdownTimeoutError, ShuttingDownError } from '../src/main/core/errors.js'

/*
 * Markdown on worker threads (real worker_threads, real turndown): every page, small or large,
 * the same text as the converter gives here, answered to its own caller; a conversion that
 * outlives its deadline, or whose caller goes away, is stopped by terminating its worker, which is
 * replaced; a worker that dies fails only its own page. HANG and CRASH pages make the fixture
 * worker (tests/helpers/markdown-test-worker.ts) spin for ever or exit.
 */

const para = (i: number) =>
  `<h2>Section ${i}</h2><p>Paragraph ${i} with <a href="https://example.com/${i}">a link</a> and <strong>bold</strong> text.</p><ul><li>one ${i}</li><li>two ${i}</li></ul>`
const page = (sections: number, tag = '') => `<article>${tag}${Array.from({ length: sections }, (_, i) => para(i)).join('\n')}</article>`
const FIXTURE = { name: 'markdown-test-worker', from: pathToFileURL(join(import.meta.dirname, 'helpers', 'any.ts')).href }
/** A deadline of `ms` from now; LONG is never reached in these tests. */
const within = (ms: number) => ({ deadline: new Deadline(Date.now(), ms) })
const LONG = 60_000

let offloads: MarkdownOffload[] = []
const offload = (o: MarkdownOffloadOptions = {}) => {
  const m = new MarkdownOffload(o)
  offloads.push(m)
  return m
}

afterEach(async () => {
  await Promise.all(offloads.map((m) => m.close()))
  offloads = []
})

describe('MarkdownOffload', () => {
  it('every page goes to a worker thread, small or large, with the same text; the worker starts once, at construction, and is reused', async () => {
    const m = offload()
    expect(m.stats()).toMatchObject({ workerStarts: 1 })
    const small = page(2)
    expect(await m.convert(small, within(LONG))).toBe(htmlToMarkdown(small))
    const large = page(2000)
    expect(large.length).toBeGreaterThan(256 * 1024)
    const md = await m.convert(large, within(LONG))
    expect(md).toBe(htmlToMarkdown(large))
    expect(md).toContain('## Section 1999')
    expect(await m.convert(large, within(LONG))).toBe(md)
    // Nothing to convert: no job.
    expect(await m.convert('', within(LONG))).toBe('')
    expect(m.stats()).toEqual({ offloaded: 3, workerStarts: 1, workerFailures: 0, timedOut: 0, aborted: 0, recycled: 0 })
  })

  it('a worker that converted a page of 1 M characters or more is replaced once it answered, giving its grown heap back', async () => {
    const m = offload()
    const huge = page(8000)
    expect(huge.length).toBeGreaterThanOrEqual(1024 * 1024)
    expect(await m.convert(huge, within(LONG))).toBe(htmlToMarkdown(huge))
    expect(m.stats()).toMatchObject({ offloaded: 1, recycled: 1, workerStarts: 2, workerFailures: 0 })
    expect(m.workers).toBe(1)
    // The replacement converts.
    expect(await m.convert(page(2), within(LONG))).toBe(htmlToMarkdown(page(2)))
    expect(m.stats()).toMatchObject({ offloaded: 2, recycled: 1, workerStarts: 2 })
  })

  it('many pages at once: each answer goes to its own page, on two worker threads', async () => {
    const m = offload()
    const pages = Array.from({ length: 12 }, (_, i) => page(60 + i, `<h1>Page ${i}</h1>`))
    const results = await Promise.all(pages.map((p) => m.convert(p, within(LONG))))
    results.forEach((md, i) => {
      expect(md.startsWith(`# Page ${i}\n`)).toBe(true)
      expect(md).toBe(htmlToMarkdown(pages[i]!))
    })
    expect(m.stats()).toMatchObject({ offloaded: 12, workerStarts: 2 })
    expect(m.workers).toBe(2)
  })

  it('a conversion that outlives its deadline fails with markdown_timeout; its worker is terminated and replaced, so the next page converts', async () => {
    // One worker: had the spinning one not been ended, nothing else could convert.
    const m = offload({ entry: FIXTURE, workers: 1 })
    const err = await m.convert('<p>HANG</p>', within(300)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MarkdownTimeoutError)
    expect(err).toMatchObject({ status: 504, code: 'markdown_timeout' })
    expect((err as Error).message).toBe('converting the page to Markdown did not finish within page_timeout (300 ms); the conversion was stopped')
    expect(m.stats()).toMatchObject({ timedOut: 1, workerStarts: 2, workerFailures: 0 })
    expect(await m.convert('<p>after</p>', within(LONG))).toBe('after')
    expect(m.workers).toBe(1)
  })

  it('a page waiting for a worker leaves the queue at its deadline without stopping the busy one; a caller going away stops the conversion it is in', async () => {
    const m = offload({ entry: FIXTURE, workers: 1 })
    const caller = new AbortController()
    const spinning = m.convert('<p>HANG</p>', { ...within(LONG), signal: caller.signal }).catch((e: unknown) => e)
    const waiting = await m.convert('<p>queued</p>', within(200)).catch((e: unknown) => e)
    expect(waiting).toBeInstanceOf(MarkdownTimeoutError)
    expect(m.stats()).toMatchObject({ timedOut: 1, aborted: 0, workerStarts: 1 })
    caller.abort()
    expect(await spinning).toBeInstanceOf(AbortedError)
    expect(m.stats()).toMatchObject({ timedOut: 1, aborted: 1, workerStarts: 2 })
    expect(await m.convert('<p>after</p>', within(LONG))).toBe('after')
    // An aborted caller gets no job at all.
    await expect(m.convert('<p>x</p>', { ...within(LONG), signal: caller.signal })).rejects.toBeInstanceOf(AbortedError)
  })

  it('a worker that ends while converting fails that page with markdown_failed; the next page gets a new worker', async () => {
    const m = offload({ entry: FIXTURE, workers: 1 })
    const err = await m.convert('<p>CRASH</p>', within(LONG)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MarkdownFailedError)
    expect(err).toMatchObject({ status: 502, code: 'markdown_failed' })
    expect((err as Error).message).toBe('the Markdown worker thread ended while converting this page (exit 3)')
    expect(await m.convert('<p>after</p>', within(LONG))).toBe('after')
    expect(m.stats()).toMatchObject({ workerStarts: 2, workerFailures: 1, offloaded: 1 })
  })

  it('a worker that cannot start hands its page to the next; after three in a row, pages fail with markdown_unavailable and no start is tried', async () => {
    // The entry does not exist: startWorker throws.
    const missing = offload({ entry: { name: 'no-such-worker', from: import.meta.url } })
    for (let i = 0; i < 2; i++) {
      const err = await missing.convert(page(3), within(LONG)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(MarkdownFailedError)
      expect(err).toMatchObject({ status: 503, code: 'markdown_unavailable' })
    }
    expect(missing.stats()).toMatchObject({ workerStarts: 0, workerFailures: 3 })
    // The entry starts but exits on its first job, never having said it was ready.
    const exiting = offload({ entry: { name: 'exit-worker', from: FIXTURE.from } })
    await expect(exiting.convert(page(3), within(LONG))).rejects.toMatchObject({ code: 'markdown_unavailable' })
    expect(exiting.stats()).toMatchObject({ workerStarts: 3, workerFailures: 3, offloaded: 0 })
  })

  it('a Markdown longer than maxChars fails with capture_too_large and is not sent back', async () => {
    const m = offload()
    const html = page(20)
    const md = htmlToMarkdown(html)
    expect(await m.convert(html, { ...within(LONG), maxChars: md.length })).toBe(md)
    const err = await m.convert(html, { ...within(LONG), maxChars: md.length - 1 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CaptureTooLargeError)
    expect((err as Error).message).toBe(`the page's Markdown is ${md.length} characters, above this server's max_capture_bytes of ${md.length - 1} bytes`)
  })

  it('close(): a conversion in progress, and any asked for afterwards, fail with shutting_down', async () => {
    const m = offload({ entry: FIXTURE })
    const pending = m.convert('<p>HANG</p>', within(LONG)).catch((e: unknown) => e)
    await m.close()
    expect(await pending).toBeInstanceOf(ShuttingDownError)
    await expect(m.convert(page(2), within(LONG))).rejects.toBeInstanceOf(ShuttingDownError)
    expect(m.workers).toBe(0)
  })

  it("the built app's worker (out/main/markdown-worker.js, beside index.js) converts", async () => {
    const builtIndex = join(import.meta.dirname, '..', 'out', 'main', 'index.js')
    expect(existsSync(join(import.meta.dirname, '..', 'out', 'main', 'markdown-worker.js')), 'run `npm run build` first (npm test does)').toBe(true)
    // From index.js itself, and from a shared chunk should the bundle put the caller there.
    for (const from of [builtIndex, join(import.meta.dirname, '..', 'out', 'main', 'chunks', 'any.js')]) {
      const m = offload({ entry: { name: 'markdown-worker', from: pathToFileURL(from).href } })
      const large = page(150)
      expect(await m.convert(large, within(LONG))).toBe(htmlToMarkdown(large))
      expect(m.stats()).toMatchObject({ offloaded: 1, workerStarts: 1 })
    }
  })
})
