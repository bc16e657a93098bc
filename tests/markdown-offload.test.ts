import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { htmlToMarkdown } from '../src/main/core/crawl/markdown.js'
import { MarkdownOffload } from '../src/main/core/crawl/markdown-offload.js'

/*
 * Markdown of large pages on a worker thread (real worker_threads, real turndown): the same text
 * as on the event loop, answered in order, and nothing lost when the worker cannot start or dies.
 */

const para = (i: number) => `<h2>Section ${i}</h2><p>Paragraph ${i} with <a href="https://example.com/${i}">a link</a> and <strong>bold</strong> text.</p><ul><li>one ${i}</li><li>two ${i}</li></ul>`
const page = (sections: number, tag = '') => `<article>${tag}${Array.from({ length: sections }, (_, i) => para(i)).join('\n')}</article>`
const THRESHOLD = 4096

let offloads: MarkdownOffload[] = []
const offload = (o: ConstructorParameters<typeof MarkdownOffload>[0] = {}) => {
  const m = new MarkdownOffload({ thresholdChars: THRESHOLD, ...o })
  offloads.push(m)
  return m
}

afterEach(async () => {
  await Promise.all(offloads.map((m) => m.close()))
  offloads = []
})

describe('MarkdownOffload', () => {
  it('small pages stay on the event loop; large ones go to one worker thread, reused, with the same text', async () => {
    const m = offload()
    const small = page(2)
    expect(small.length).toBeLessThan(THRESHOLD)
    expect(await m.convert(small)).toBe(htmlToMarkdown(small))
    expect(m.stats()).toMatchObject({ inline: 1, offloaded: 0, workerStarts: 0 })

    const large = page(200)
    expect(large.length).toBeGreaterThan(THRESHOLD)
    const md = await m.convert(large)
    expect(md).toBe(htmlToMarkdown(large))
    expect(md).toContain('## Section 199')
    expect(await m.convert(large)).toBe(md)
    expect(m.stats()).toMatchObject({ inline: 1, offloaded: 2, workerStarts: 1, workerFailures: 0 })
  })

  it('many large pages at once: each answer goes to its own page', async () => {
    const m = offload()
    const pages = Array.from({ length: 12 }, (_, i) => page(60 + i, `<h1>Page ${i}</h1>`))
    const results = await Promise.all(pages.map((p) => m.convert(p)))
    results.forEach((md, i) => {
      expect(md.startsWith(`# Page ${i}\n`)).toBe(true)
      expect(md).toBe(htmlToMarkdown(pages[i]!))
    })
    expect(m.stats()).toMatchObject({ offloaded: 12, workerStarts: 1 })
  })

  it('a worker that dies with jobs: they are converted on the loop, and the next large page starts a new worker', async () => {
    const m = offload({ entry: { name: 'exit-worker', from: pathToFileURL(join(import.meta.dirname, 'helpers', 'any.ts')).href } })
    const large = page(100)
    const both = await Promise.all([m.convert(large), m.convert(page(101))])
    expect(both[0]).toBe(htmlToMarkdown(large))
    expect(both[1]).toBe(htmlToMarkdown(page(101)))
    expect(m.stats()).toMatchObject({ inline: 2, offloaded: 0, workerStarts: 1, workerFailures: 1 })
    expect(await m.convert(large)).toBe(htmlToMarkdown(large))
    expect(m.stats()).toMatchObject({ workerStarts: 2, workerFailures: 2 })
  })

  it('a worker that cannot start: large pages convert on the loop, and after three failures no start is tried', async () => {
    const m = offload({ entry: { name: 'no-such-worker', from: import.meta.url } })
    const large = page(100)
    for (let i = 0; i < 5; i++) expect(await m.convert(large)).toBe(htmlToMarkdown(large))
    expect(m.stats()).toMatchObject({ inline: 5, offloaded: 0, workerStarts: 0, workerFailures: 3 })
  })

  it('close(): jobs the worker still holds are converted here; later ones run on the loop', async () => {
    const m = offload()
    const large = page(300)
    const pending = m.convert(large)
    await m.close()
    expect(await pending).toBe(htmlToMarkdown(large))
    expect(await m.convert(large)).toBe(htmlToMarkdown(large))
  })

  it("the built app's worker (out/main/markdown-worker.js, beside index.js) converts", async () => {
    const builtIndex = join(import.meta.dirname, '..', 'out', 'main', 'index.js')
    expect(existsSync(join(import.meta.dirname, '..', 'out', 'main', 'markdown-worker.js')), 'run `npm run build` first (npm test does)').toBe(true)
    // From index.js itself, and from a shared chunk should the bundle put the caller there.
    for (const from of [builtIndex, join(import.meta.dirname, '..', 'out', 'main', 'chunks', 'any.js')]) {
      const m = offload({ entry: { name: 'markdown-worker', from: pathToFileURL(from).href } })
      const large = page(150)
      expect(await m.convert(large)).toBe(htmlToMarkdown(large))
      expect(m.stats()).toMatchObject({ offloaded: 1, workerStarts: 1 })
    }
  })
})
