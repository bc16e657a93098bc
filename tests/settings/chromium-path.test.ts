import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Logger } from '../../src/main/core/logger.js'
import type { SettingsAnswer } from '../../src/shared/settings.js'
import { TestScope, type TestService } from '../helpers/service.js'

/*
 * Settings' Chromium path over real HTTP: checked when saved (a clear 400 per reason), kept in
 * settings.json, restart-applied, and what the next start launches ahead of discovery, behind an
 * explicit --chromium. A saved path that stopped working falls back to discovery with a warning.
 */

const FULL = '/usr/lib/chromium/chromium'
const SHELL = '/usr/lib/chromium/chromium-headless-shell'

const scope = new TestScope(() => {
  throw new Error('no fixture server in this file')
})
let s: TestService
let settingsDir: string
let tmp: string
const env = process.env.CRAWLDECK_CHROMIUM

type Answer = SettingsAnswer & { code?: string; details?: Array<{ path: string; message: string }> }

beforeAll(async () => {
  // The environment would win over Settings: these tests are about what comes after it.
  delete process.env.CRAWLDECK_CHROMIUM
  settingsDir = await mkdtemp(join(tmpdir(), 'crawldeck-userdata-'))
  tmp = await mkdtemp(join(tmpdir(), 'crawldeck-chromium-path-'))
  await mkdir(join(tmp, 'Chromium.app/Contents/MacOS'), { recursive: true })
  await writeFile(join(tmp, 'notes.txt'), 'not a program')
  s = await scope.serve({ launch_permanent: false }, { settingsDir })
})

afterAll(async () => {
  await scope.closeAll()
  if (env !== undefined) process.env.CRAWLDECK_CHROMIUM = env
  await rm(settingsDir, { recursive: true, force: true })
  await rm(tmp, { recursive: true, force: true })
})

const save = (patch: unknown) => s.postJson<Answer>('/settings', patch)
const savedFile = async () => JSON.parse(await readFile(join(settingsDir, 'settings.json'), 'utf8')) as { settings: Record<string, unknown> }

function warningsLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = []
  const logger: Logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(String(JSON.parse(line).msg)) })
  return { logger, warnings }
}

describe('Settings: Chromium path', () => {
  it('is empty by default: the engine found its browser itself', async () => {
    const res = await s.get<SettingsAnswer>('/settings')
    expect(res.body.settings.chromium_path).toBeNull()
    expect(s.runtime.chromium.headless.path).toBe(SHELL)
  })

  it('refuses what is not an absolute path to an executable file, each with its reason on the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['chromium', /absolute path/],
      ['', /absolute path|too small|at least/i],
      [join(tmp, 'gone/chrome'), /does not exist/],
      [join(tmp, 'notes.txt'), /not an executable file/],
      [tmp, /is a directory/],
      [join(tmp, 'Chromium.app'), /app bundle: give the program inside it, .*Chromium\.app\/Contents\/MacOS\/Chromium/],
      [42, /string/i],
      // Hostile spellings: the path is never split into a program and its arguments, and never
      // reaches a shell, so a flag after it is part of a file name that does not exist.
      [`${FULL} --no-sandbox`, /does not exist/],
      [`${FULL};id`, /does not exist/],
      [`$(id)`, /absolute path/],
      [`${FULL}\0--no-sandbox`, /absolute path/],
    ]
    for (const [value, message] of cases) {
      const res = await save({ chromium_path: value })
      expect(res.status, String(value)).toBe(400)
      expect(res.body.code).toBe('invalid_input')
      const detail = res.body.details?.find((d) => d.path === 'chromium_path')
      expect(detail?.message, String(value)).toMatch(message)
    }
    expect((await s.get<SettingsAnswer>('/settings')).body.settings.chromium_path).toBeNull()
  })

  it('a real program is saved, kept in settings.json and waits for the restart', async () => {
    const res = await save({ chromium_path: `  ${FULL} ` })
    expect(res.status).toBe(200)
    expect(res.body.settings.chromium_path).toBe(FULL)
    expect(res.body.applied).toEqual([])
    expect(res.body.restart_required).toEqual(['chromium_path'])
    expect((await savedFile()).settings.chromium_path).toBe(FULL)
    // This start keeps the binary it launched with.
    expect(s.runtime.chromium.headless.path).toBe(SHELL)
  })

  it('the next start launches it, ahead of the usual places', async () => {
    const next = await scope.serve({ launch_permanent: false }, { settingsDir })
    expect(next.runtime.chromium.headless.path).toBe(FULL)
    expect(next.runtime.chromium.headed?.path).toBe(FULL)
    expect((await next.get<SettingsAnswer>('/settings')).body.restart_required).toEqual([])
    await scope.shutdown(next)
  })

  it('--chromium (or CRAWLDECK_CHROMIUM) wins over it', async () => {
    const flagged = await scope.serve({ launch_permanent: false, chromium: '/usr/bin/chromium' }, { settingsDir })
    expect(flagged.runtime.chromium.headless.path).toBe('/usr/bin/chromium')
    await scope.shutdown(flagged)
    process.env.CRAWLDECK_CHROMIUM = '/usr/bin/chromium'
    try {
      const fromEnv = await scope.serve({ launch_permanent: false }, { settingsDir })
      expect(fromEnv.runtime.chromium.headless.path).toBe('/usr/bin/chromium')
      await scope.shutdown(fromEnv)
    } finally {
      delete process.env.CRAWLDECK_CHROMIUM
    }
  })

  it('a saved program that went away: the next start finds one itself and says why', async () => {
    const program = join(tmp, 'my-chrome')
    await writeFile(program, '#!/bin/sh\nexit 0\n')
    await chmod(program, 0o755)
    expect((await save({ chromium_path: program })).status).toBe(200)
    await rm(program)
    const { logger, warnings } = warningsLogger()
    const next = await scope.serve({ launch_permanent: false }, { settingsDir, logger })
    expect(next.runtime.chromium.headless.path).toBe(SHELL)
    expect(warnings.some((w) => w.includes(program) && w.includes('Settings'))).toBe(true)
    await scope.shutdown(next)
  })

  it('null clears it: discovery again from the next start', async () => {
    const res = await save({ chromium_path: null })
    expect(res.status).toBe(200)
    expect(res.body.settings.chromium_path).toBeNull()
    expect((await savedFile()).settings.chromium_path).toBeNull()
    // The start that is running found its browser itself: nothing waits for a restart.
    expect(res.body.restart_required).toEqual([])
  })
})
