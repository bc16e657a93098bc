import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js'
import { DebugLogger } from 'builder-util'
import type { Configuration } from 'electron-builder'
import { beforeAll, describe, expect, it } from 'vitest'

/*
 * The desktop packaging, without building anything: electron-builder.yml loaded by electron-builder's own
 * loader and checked against its own schema, the targets, appId and files it must name, and an
 * icon set whose files really are images of the right size (read from their headers).
 */

const repo = resolve(import.meta.dirname, '../..')
let config: Configuration

/** Width, height and colour type from a PNG's IHDR chunk; throws when it is not a PNG. */
function pngHeader(buf: Buffer): { width: number; height: number; colourType: number } {
  expect(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'PNG signature').toBe(true)
  expect(buf.toString('ascii', 12, 16)).toBe('IHDR')
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), colourType: buf.readUInt8(25) }
}

const targetsOf = (platform: { target?: unknown } | null | undefined): string[] =>
  ((platform?.target ?? []) as Array<string | { target: string }>).map((t) => (typeof t === 'string' ? t : t.target))

beforeAll(async () => {
  config = await getConfig(repo, null, null)
})

describe('electron-builder.yml', () => {
  it('is valid for electron-builder (its loader and its schema)', async () => {
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined()
    // The schema check bites: a misspelt key is refused.
    await expect(
      validateConfiguration({ ...config, linux: { ...config.linux, targets: ['AppImage'] } } as Configuration, new DebugLogger(false)),
    ).rejects.toThrow(/Invalid configuration/)
  })

  it('names the app, packs out/ and builds AppImage + deb, dmg and nsis', () => {
    expect(config.appId).toBe('dev.crawldeck.app')
    expect(config.productName).toBe('crawldeck')
    const files = (config.files as Array<{ filter: string[] }>).flatMap((f) => f.filter)
    expect(files).toContain('out/**')
    // out/ and the tray icon (main imports it with ?asset, resolved in place under resources/); nothing else.
    expect(files.filter((f) => !f.startsWith('!') && !f.startsWith('out/'))).toEqual(['resources/icons/32x32.png'])
    expect(existsSync(join(repo, 'resources/icons/32x32.png'))).toBe(true)
    expect(targetsOf(config.linux).sort()).toEqual(['AppImage', 'deb'])
    expect(targetsOf(config.mac)).toEqual(['dmg'])
    expect(targetsOf(config.win)).toEqual(['nsis'])
    expect(config.directories?.buildResources).toBe('resources')
    // The Electron entry electron-vite builds is inside what is packed.
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> }
    expect(pkg.main).toMatch(/^(\.\/)?out\/main\//)
  })

  it('flips the Electron fuses: no Node mode, no NODE_OPTIONS or --inspect, asar only and checked, no file:// privileges', () => {
    // Every fuse explicitly set, so a new Electron default changes nothing silently.
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      loadBrowserProcessSpecificV8Snapshot: false,
      grantFileProtocolExtraPrivileges: false,
    })
    // Fuses only exist inside an asar-packed app (onlyLoadAppFromAsar would find nothing otherwise).
    expect(config.asar ?? true).not.toBe(false)
  })

  it('has the npm scripts that build then package for each platform', () => {
    const { scripts } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(scripts.start).toMatch(/^electron-vite (dev|preview)\b/)
    expect(scripts.package).toBe('electron-vite build && electron-builder')
    expect(scripts['package:linux']).toBe('electron-vite build && electron-builder --linux')
    expect(scripts['package:mac']).toBe('electron-vite build && electron-builder --mac')
    expect(scripts['package:win']).toBe('electron-vite build && electron-builder --win')
  })
})

describe('icon set in resources/', () => {
  it('every icon the config names exists', () => {
    for (const icon of [config.linux?.icon, config.mac?.icon, config.win?.icon]) {
      expect(typeof icon).toBe('string')
      expect(existsSync(join(repo, icon as string)), String(icon)).toBe(true)
    }
  })

  it('has 512x512 and 1024x1024 RGBA PNGs (and the rest of the Linux set) of the size their names say', () => {
    expect(pngHeader(readFileSync(join(repo, 'resources/icon.png')))).toEqual({ width: 1024, height: 1024, colourType: 6 })
    for (const size of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) {
      expect(pngHeader(readFileSync(join(repo, `resources/icons/${size}x${size}.png`))), `${size}`).toEqual({ width: size, height: size, colourType: 6 })
    }
  })

  it('icon.ico holds PNGs from 16 to 256 px, each matching its directory entry', () => {
    const ico = readFileSync(join(repo, 'resources/icon.ico'))
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1])
    const count = ico.readUInt16LE(4)
    const sizes: number[] = []
    for (let i = 0; i < count; i++) {
      const e = 6 + 16 * i
      const declared = ico.readUInt8(e) || 256
      const png = ico.subarray(ico.readUInt32LE(e + 12), ico.readUInt32LE(e + 12) + ico.readUInt32LE(e + 8))
      expect(pngHeader(png)).toMatchObject({ width: declared, height: declared })
      sizes.push(declared)
    }
    expect(sizes).toEqual(expect.arrayContaining([16, 32, 48, 256]))
  })

  it('icon.icns holds PNG entries up to 1024 px with consistent lengths', () => {
    const icns = readFileSync(join(repo, 'resources/icon.icns'))
    expect(icns.toString('ascii', 0, 4)).toBe('icns')
    expect(icns.readUInt32BE(4)).toBe(icns.length)
    const entries = new Map<string, number>()
    for (let at = 8; at < icns.length;) {
      const type = icns.toString('ascii', at, at + 4)
      const length = icns.readUInt32BE(at + 4)
      entries.set(type, pngHeader(icns.subarray(at + 8, at + length)).width)
      at += length
    }
    expect(entries.get('ic09')).toBe(512)
    expect(entries.get('ic10')).toBe(1024)
    expect(entries.get('ic07')).toBe(128)
  })
})
