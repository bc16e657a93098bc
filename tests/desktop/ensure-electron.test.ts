import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

/*
 * `npm start`'s prestart step, run as npm runs it, against a stand-in electron package whose
 * install.js behaves as Electron's installer does offline (a stack trace, exit 1) or online (the
 * binary and its path file written).
 */
const script = join(process.cwd(), 'scripts', 'ensure-electron.mjs')
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function electronPackage(installer: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'crawldeck-electron-'))
  dirs.push(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'electron', version: '45.5.0' }))
  writeFileSync(join(dir, 'install.js'), installer)
  return dir
}

const offline = `
require('fs').writeFileSync(require('path').join(__dirname, 'ran'), '1')
const err = new TypeError('fetch failed')
console.error(err.stack)
process.exit(1)
`
const online = `
const fs = require('fs'), path = require('path')
fs.writeFileSync(path.join(__dirname, 'ran'), '1')
fs.mkdirSync(path.join(__dirname, 'dist'), { recursive: true })
fs.writeFileSync(path.join(__dirname, 'dist', 'version'), 'v45.5.0')
fs.writeFileSync(path.join(__dirname, 'dist', 'electron'), '')
fs.writeFileSync(path.join(__dirname, 'path.txt'), 'electron')
`

function prestart(dir: string, env: Record<string, string> = {}) {
  const clean = { ...process.env }
  delete clean.ELECTRON_OVERRIDE_DIST_PATH
  return spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...clean, CRAWLDECK_ELECTRON_PACKAGE: dir, ...env } })
}

describe("prestart: Electron's binary", () => {
  it('offline: one line saying what is missing and how to get it, no stack trace, exit 1', () => {
    const dir = electronPackage(offline)
    const run = prestart(dir)
    expect(run.status).toBe(1)
    expect(existsSync(join(dir, 'ran')), "Electron's own installer was tried").toBe(true)
    const lines = run.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^crawldeck: Electron 45\.5\.0's binary is missing and could not be fetched \(TypeError: fetch failed/)
    expect(lines[0]).toContain('npx install-electron --no')
    expect(lines[0]).toContain('npm run serve')
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })

  it("fetches the binary with Electron's installer when it is missing, then lets npm start go on", () => {
    const dir = electronPackage(online)
    const run = prestart(dir)
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain("fetching it with Electron's installer")
    expect(readFileSync(join(dir, 'path.txt'), 'utf8')).toBe('electron')
  })

  it('does nothing when the binary is there (or ELECTRON_OVERRIDE_DIST_PATH names one)', () => {
    const dir = electronPackage(online)
    expect(prestart(dir).status).toBe(0)
    rmSync(join(dir, 'ran'))
    const again = prestart(dir)
    expect(again.status).toBe(0)
    expect(again.stdout).toBe('')
    expect(existsSync(join(dir, 'ran')), 'installer not run again').toBe(false)

    const bare = electronPackage(offline)
    const dist = join(bare, 'unpacked')
    mkdirSync(dist)
    const overridden = prestart(bare, { ELECTRON_OVERRIDE_DIST_PATH: dist })
    expect(overridden.status).toBe(0)
    expect(existsSync(join(bare, 'ran'))).toBe(false)
  })

  it('a binary of another version counts as missing', () => {
    const dir = electronPackage(offline)
    mkdirSync(join(dir, 'dist'))
    writeFileSync(join(dir, 'dist', 'version'), 'v44.0.0')
    writeFileSync(join(dir, 'dist', 'electron'), '')
    writeFileSync(join(dir, 'path.txt'), 'electron')
    expect(prestart(dir).status).toBe(1)
    expect(existsSync(join(dir, 'ran'))).toBe(true)
  })

  it('npm start runs it first', () => {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(pkg.scripts.prestart).toBe('node scripts/ensure-electron.mjs')
  })
})
