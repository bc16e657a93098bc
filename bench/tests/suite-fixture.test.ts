import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BASE_CHROMIUM_ARGS } from '../../src/main/core/chromium/launch-args.js'
import { locateChromium } from '../../src/main/core/chromium/locate.js'
import { crawleeContender } from '../suite/crawlee.js'
import { pageWorkAlone } from '../suite/playwright.js'
import { startFixtureServer, type FixtureServer } from '../../tests/helpers/fixture-server.js'

let fx: FixtureServer
let browser: Browser

beforeAll(async () => {
  ;[fx, browser] = await Promise.all([startFixtureServer(), chromium.launch({ executablePath: locateChromium(), args: [...BASE_CHROMIUM_ARGS] })])
})

afterAll(async () => {
  await Promise.all([browser?.close(), fx?.close()])
})

describe("the benchmark suite's fixture pages", () => {
  it("serves the article's figures as real pictures that Chromium decodes (480x300), each different", async () => {
    const page = await browser.newPage()
    try {
      await page.goto(fx.url('/article'), { waitUntil: 'load' })
      const images = await page.$$eval('img', (imgs) =>
        imgs.map((i) => ({ src: i.getAttribute('src'), complete: i.complete, w: i.naturalWidth, h: i.naturalHeight })),
      )
      expect(images).toHaveLength(5)
      for (const img of images) expect(img).toMatchObject({ complete: true, w: 480, h: 300 })
    } finally {
      await page.close()
    }
    const bodies = await Promise.all([1, 2, 3].map(async (n) => Buffer.from(await (await fetch(fx.url(`/img/${n}.png`))).arrayBuffer())))
    for (const b of bodies) expect(b.length).toBeGreaterThan(5_000)
    expect(bodies[0]?.equals(bodies[1] as Buffer)).toBe(false)
    expect(fx.hits('/img/2.png')).toBe(2)
  })

  it('times the page work alone: one fresh context per sample, each loading the page, none left open', async () => {
    const before = fx.hits('/article')
    const durations = await pageWorkAlone(browser, fx.url('/article'), 3)
    expect(durations).toHaveLength(3)
    for (const d of durations) expect(d).toBeGreaterThan(0)
    // Each sample navigated for real, in a context of its own that it closed.
    expect(fx.hits('/article') - before).toBe(3)
    expect(browser.contexts()).toHaveLength(0)
  })

  it('keeps Crawlee quiet between its cells and wakes it for the next one', async () => {
    const d = await crawleeContender(true)
    try {
      expect(d.quiet).toBe(false)
      const first = await d.run(fx.url('/'), 2, 1)
      expect(first).toMatchObject({ pages: 2, failed: 0 })
      // Paused, its event manager stopped: nothing of it runs while another contender is measured.
      expect(d.quiet).toBe(true)
      const second = await d.run(fx.url('/js'), 3, 2)
      expect(second).toMatchObject({ pages: 3, failed: 0 })
      expect(d.quiet).toBe(true)
    } finally {
      // Teardown ends a paused crawler's run as well.
      await d.dispose()
    }
  }, 60_000)
})
