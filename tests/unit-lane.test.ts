import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { installUnitLaneGuard } from './helpers/unit-lane-guard.js'
import { UNIT_TESTS } from './unit-lane.js'

// The unit lane's list (tests/unit-lane.ts) holds only what runs without Chromium, Redis, a
// `serve` process, an engine runtime or a build. This is the static half of the check; the
// lane's guard (tests/helpers/unit-lane-guard.ts) refuses such a process when one starts.

const root = join(import.meta.dirname, '..')

/** What a file of the lane may not import: each one launches a browser, reaches Redis, or spawns the service. */
const FORBIDDEN_IMPORTS = [/^playwright(-core)?($|\/)/, /^crawlee($|\/)/, /^ioredis$/, /\/helpers\/(serve-process|redis-server|renderer-build)\.js$/]
/** ...nor call: each one starts an engine (and its permanent browser unless told otherwise). */
const FORBIDDEN_CALLS = ['startService', 'TestScope', 'createRuntime', 'ensureRendererBuild']

const importsOf = (text: string) =>
  [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? '')

describe('the unit lane', () => {
  it('lists each test file once, and each exists', () => {
    expect(new Set(UNIT_TESTS).size).toBe(UNIT_TESTS.length)
    expect(UNIT_TESTS.filter((f) => !f.endsWith('.test.ts') || !existsSync(join(root, f)))).toEqual([])
  })

  it('holds no file that imports Playwright, Crawlee, Redis or the service helpers, or starts an engine', () => {
    const offenders: string[] = []
    for (const file of UNIT_TESTS) {
      const text = readFileSync(join(root, file), 'utf8')
      for (const spec of importsOf(text)) if (FORBIDDEN_IMPORTS.some((p) => p.test(spec))) offenders.push(`${file} imports ${spec}`)
      for (const name of FORBIDDEN_CALLS) if (new RegExp(`\\b${name}\\s*\\(`).test(text)) offenders.push(`${file} uses ${name}`)
    }
    expect(offenders).toEqual([])
  })

  it('the import scanner sees real imports (guards the check above)', () => {
    expect(importsOf(readFileSync(join(root, 'tests/extract.test.ts'), 'utf8'))).toContain('playwright-core')
  })

  // Each refused command would only print a version or help and exit, should the guard let it through.
  it('its guard refuses to start Chromium, redis-server or the service, and lets other processes run', async () => {
    const undo = installUnitLaneGuard()
    try {
      expect(() => spawn('/usr/bin/chromium', ['--version'])).toThrow(/unit lane starts no Chromium/)
      expect(() => spawn('nice', ['-n', '10', '/usr/lib/chromium/chromium-headless-shell', '--version'])).toThrow(/no Chromium/)
      expect(() => spawn('redis-server', ['--version'])).toThrow(/no redis-server/)
      expect(() => spawn(process.execPath, ['--import', 'tsx', 'src/main/serve.ts', '--help'])).toThrow(/no crawldeck service process/)
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', 'process.stdout.write("ok")'])
      expect(stdout).toBe('ok')
    } finally {
      undo()
    }
  })
})
