import { mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/main/core/config.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { createSettingsService } from '../../src/main/core/service/settings-service.js'
import { SettingsStore } from '../../src/main/core/settings/store.js'
import { openNew, tempNameFor, writeFileAtomic } from '../../src/main/core/store/atomic-write.js'

/* settings.json written atomically, mode 0600, a corrupt file set aside and reported. */

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crawldeck-settings-'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function recordingLogger() {
  const warnings: string[] = []
  const logger = silentLogger()
  logger.warn = ((...args: unknown[]) => void warnings.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '))) as typeof logger.warn
  return { logger, warnings }
}

describe('SettingsStore', () => {
  it('round-trips what was saved; a missing file is no problem', async () => {
    const store = new SettingsStore(dir)
    expect(await store.load()).toEqual({ overrides: {}, problem: null })
    await store.save({ port: 8080, tokens: { admin: ['admin-token-0001'] } })
    expect(await new SettingsStore(dir).load()).toEqual({ overrides: { port: 8080, tokens: { admin: ['admin-token-0001'] } }, problem: null })
  })

  it('writes mode 0600 (tokens live there); a link planted where a predictable temp name would be is never followed', async () => {
    const store = new SettingsStore(join(dir, 'nested', 'user-data'))
    await store.save({ tokens: { admin: ['admin-token-0001'] } })
    expect((await stat(store.location)).mode & 0o777).toBe(0o600)
    // What an attacker with write access to the folder could do with the old `<file>.<pid>.tmp`.
    const victim = join(dir, 'victim.txt')
    await writeFile(victim, 'untouched', { mode: 0o644 })
    await symlink(victim, `${store.location}.${process.pid}.tmp`)
    await store.save({ tokens: { admin: ['admin-token-0002'] } })
    expect(await readFile(victim, 'utf8')).toBe('untouched')
    expect((await stat(victim)).mode & 0o777).toBe(0o644)
    expect((await stat(store.location)).mode & 0o777).toBe(0o600)
  })

  it("temp files: a random name each write, created exclusively and never through a link; a crash's old leftovers are swept", async () => {
    const file = join(dir, 'state.json')
    expect(tempNameFor(file)).not.toBe(tempNameFor(file))
    expect(tempNameFor(file)).toMatch(/state\.json\.[0-9a-f]{16}\.tmp$/)
    const existing = join(dir, 'exists.tmp')
    await writeFile(existing, 'x')
    await expect(openNew(existing)).rejects.toMatchObject({ code: 'EEXIST' })
    const link = join(dir, 'link.tmp')
    await symlink(join(dir, 'nowhere'), link)
    await expect(openNew(link)).rejects.toMatchObject({ code: 'EEXIST' })
    // A leftover from a crash an hour ago, and one from a write under way now.
    const old = `${file}.0123456789abcdef.tmp`
    const young = `${file}.fedcba9876543210.tmp`
    await writeFile(old, 'old')
    await utimes(old, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000))
    await writeFile(young, 'young')
    await writeFileAtomic(file, 'new')
    expect((await readdir(dir)).sort()).toEqual(['exists.tmp', 'link.tmp', 'state.json', 'state.json.fedcba9876543210.tmp'])
  })

  it('replaces the file by rename (a new inode each time), never writing it in place, and leaves no temp file', async () => {
    const store = new SettingsStore(dir)
    await store.save({ port: 1 })
    const first = await stat(store.location)
    await store.save({ port: 2 })
    const second = await stat(store.location)
    expect(second.ino).not.toBe(first.ino)
    expect(JSON.parse(await readFile(store.location, 'utf8'))).toEqual({ version: 1, settings: { port: 2 } })
    expect(await readdir(dir)).toEqual(['settings.json'])
  })

  it('serialises concurrent saves: the last one called is the one kept', async () => {
    const store = new SettingsStore(dir)
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.save({ port: 1000 + i })))
    expect((await store.load()).overrides).toEqual({ port: 1009 })
  })

  for (const [name, text] of [
    ['not JSON', '{"version": 1, "settings": {'],
    ['a bad value', '{"version": 1, "settings": {"memory_threshold_percent": 400}}'],
    ['an unknown version', '{"version": 7, "settings": {}}'],
  ] as const) {
    it(`moves a file holding ${name} aside and reports it`, async () => {
      const store = new SettingsStore(dir)
      await writeFile(store.location, text)
      const loaded = await store.load()
      expect(loaded.overrides).toEqual({})
      expect(loaded.problem).toMatch(/not usable/)
      const files = await readdir(dir)
      expect(files).toHaveLength(1)
      expect(files[0]).toMatch(/^settings\.json\.corrupt-\d+$/)
      expect(await readFile(join(dir, files[0]!), 'utf8')).toBe(text)
      expect(loaded.problem).toContain(files[0])
    })
  }

  it('a corrupt file never stops the settings service: defaults apply, a warning names the file', async () => {
    await writeFile(join(dir, 'settings.json'), 'garbage')
    const { logger, warnings } = recordingLogger()
    const config = resolveConfig({ memory_threshold_percent: 90 })
    const service = await createSettingsService({ config, store: new SettingsStore(dir), logger })
    expect(service.loadProblem).toMatch(/corrupt-/)
    expect(warnings.join('\n')).toMatch(/settings\.json was not usable/)
    expect(service.current().memory_threshold_percent).toBe(90)
    // And the next save works.
    const answer = await service.operations.updateSettings({ memory_threshold_percent: 80 }, { signal: new AbortController().signal, transport: 'http' })
    expect(answer.applied).toEqual(['memory_threshold_percent'])
  })
})
