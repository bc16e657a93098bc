import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium } from 'playwright-core'

/*
 * Renders resources/icon.svg into the icon set electron-builder packages, with the system
 * Chromium (no download, no network): `npx tsx scripts/icons.ts`, then commit resources/.
 *   resources/icon.png            1024x1024 (the source electron-builder falls back to)
 *   resources/icons/NxN.png       16..1024, the Linux set (AppImage, deb)
 *   resources/icon.ico            16..256 as embedded PNGs (Windows, nsis)
 *   resources/icon.icns           16..1024 as embedded PNGs (macOS, dmg)
 * ICO and ICNS both accept PNG payloads, so each is a small header in front of the PNGs.
 */

const root = resolve(import.meta.dirname, '..')
const out = join(root, 'resources')
const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024]
const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256]
/** ICNS entry types that hold a PNG of that many pixels a side. */
const ICNS_TYPES: Array<[string, number]> = [
  ['icp4', 16],
  ['icp5', 32],
  ['icp6', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic09', 512],
  ['ic10', 1024],
  ['ic11', 32],
  ['ic12', 64],
  ['ic13', 256],
  ['ic14', 512],
]

async function render(svg: string, sizes: number[]): Promise<Map<number, Buffer>> {
  const browser = await chromium.launch({
    executablePath: process.env.CRAWLDECK_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 })
    const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
    const pngs = new Map<number, Buffer>()
    for (const size of sizes) {
      await page.setViewportSize({ width: size, height: size })
      await page.setContent(
        `<html><body style="margin:0;background:transparent"><img id="i" src="${src}" width="${size}" height="${size}" style="display:block"></body></html>`,
      )
      await page.waitForFunction(() => (document.getElementById('i') as HTMLImageElement).complete)
      pngs.set(size, await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } }))
    }
    return pngs
  } finally {
    await browser.close()
  }
}

function ico(pngs: Map<number, Buffer>): Buffer {
  const header = Buffer.alloc(6 + 16 * ICO_SIZES.length)
  header.writeUInt16LE(0, 0)
  header.writeUInt16LE(1, 2)
  header.writeUInt16LE(ICO_SIZES.length, 4)
  let offset = header.length
  ICO_SIZES.forEach((size, i) => {
    const png = pngs.get(size)!
    const e = 6 + 16 * i
    header.writeUInt8(size >= 256 ? 0 : size, e) // 0 means 256
    header.writeUInt8(size >= 256 ? 0 : size, e + 1)
    header.writeUInt8(0, e + 2)
    header.writeUInt8(0, e + 3)
    header.writeUInt16LE(1, e + 4)
    header.writeUInt16LE(32, e + 6)
    header.writeUInt32LE(png.length, e + 8)
    header.writeUInt32LE(offset, e + 12)
    offset += png.length
  })
  return Buffer.concat([header, ...ICO_SIZES.map((s) => pngs.get(s)!)])
}

function icns(pngs: Map<number, Buffer>): Buffer {
  const entries = ICNS_TYPES.map(([type, size]) => {
    const png = pngs.get(size)!
    const head = Buffer.alloc(8)
    head.write(type, 0, 'ascii')
    head.writeUInt32BE(png.length + 8, 4)
    return Buffer.concat([head, png])
  })
  const body = Buffer.concat(entries)
  const head = Buffer.alloc(8)
  head.write('icns', 0, 'ascii')
  head.writeUInt32BE(body.length + 8, 4)
  return Buffer.concat([head, body])
}

const svg = readFileSync(join(out, 'icon.svg'), 'utf8')
const pngs = await render(svg, LINUX_SIZES)
mkdirSync(join(out, 'icons'), { recursive: true })
for (const [size, png] of pngs) writeFileSync(join(out, 'icons', `${size}x${size}.png`), png)
writeFileSync(join(out, 'icon.png'), pngs.get(1024)!)
writeFileSync(join(out, 'icon.ico'), ico(pngs))
writeFileSync(join(out, 'icon.icns'), icns(pngs))
process.stdout.write(`icons written to ${out}\n`)
