import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openLogFile } from '../../src/main/core/log-file.js'
import { createLogger } from '../../src/main/core/logger.js'

/* The desktop app's log file: JSON lines from the app's logger, rotated by size, N files kept. */

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'crawldeck-logs-'))
  dirs.push(d)
  return join(d, 'logs', 'nested')
}

describe('log file', () => {
  it('receives the logger lines (as JSON, redacted) besides stderr, in a folder it creates', async () => {
    const dir = tempDir()
    const file = openLogFile({ dir })
    const logger = createLogger({ level: 'info', pretty: false, file })
    logger.info({ n: 1 }, 'first line')
    logger.debug('below the level')
    logger.error({ headers: { authorization: 'Bearer secret-token-1234567' } }, 'with a secret')
    await file.close()
    expect(file.path).toBe(join(dir, 'crawldeck.log'))
    const lines = readFileSync(file.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => l.msg)).toEqual(['first line', 'with a secret'])
    expect(lines[0]).toMatchObject({ level: 30, n: 1, service: 'crawldeck' })
    expect(JSON.stringify(lines[1])).not.toContain('secret-token')
  })

  it('rotates past its size cap and keeps only N older files', async () => {
    const dir = tempDir()
    const file = openLogFile({ dir, maxBytes: 2048, keep: 2 })
    const logger = createLogger({ level: 'info', pretty: false, file })
    let rotations = 0
    file.stream.on('rotated', () => rotations++)
    const pad = 'x'.repeat(200)
    // Each round writes past the cap and waits for the rotation it causes.
    for (let round = 0; round < 4; round++) {
      const rotated = new Promise((resolve) => file.stream.once('rotated', resolve))
      // About 2.4 KB: past the cap once (twice at most, when the stream writes in between).
      for (let i = 0; i < 8; i++) logger.info({ round, i, pad }, 'line')
      await rotated
    }
    logger.info({ round: 'last' }, 'after the rotations')
    await file.close()
    expect(rotations).toBeGreaterThanOrEqual(4)
    expect(readdirSync(dir).sort()).toEqual(['crawldeck.log', 'crawldeck.log.1', 'crawldeck.log.2'])
    const current = readFileSync(join(dir, 'crawldeck.log'), 'utf8')
    expect(current).toContain('after the rotations')
    // The newest rotated file holds the last round; the first round's file was dropped.
    const rounds = (name: string) =>
      new Set(
        readFileSync(join(dir, name), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).round),
      )
    expect([...rounds('crawldeck.log.1')]).toContain(3)
    for (const name of ['crawldeck.log.1', 'crawldeck.log.2']) expect(rounds(name).has(0)).toBe(false)
    expect(existsSync(join(dir, 'crawldeck.log.3'))).toBe(false)
  })

  it('a log file that cannot be written is reported once and does not throw', async () => {
    const dir = tempDir()
    const errors: Error[] = []
    const file = openLogFile({ dir, onError: (e) => errors.push(e) })
    file.stream.emit('error', new Error('disk full'))
    file.stream.emit('error', new Error('disk full again'))
    expect(errors.map((e) => e.message)).toEqual(['disk full'])
    await file.close()
  })
})
