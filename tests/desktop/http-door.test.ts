import { createServer, type Server } from 'node:net'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/main/core/logger.js'
import { createHttpDoor, type RunningHttp } from '../../src/main/desktop/http-door.js'

/** A real listening socket per start, so "moved" and "stopped" are observable facts. */
function realStarter() {
  const open = new Set<Server>()
  let starts = 0
  const start = async (host: string, port: number): Promise<RunningHttp> => {
    starts++
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    open.add(server)
    const address = server.address() as { port: number }
    return {
      url: `http://${host}:${address.port}`,
      close: () => new Promise<void>((resolve) => server.close(() => (open.delete(server), resolve()))),
    }
  }
  return { start, open, starts: () => starts }
}

describe('desktop HTTP door', () => {
  it('starts, keeps, moves and stops the server as the settings say', async () => {
    const s = realStarter()
    const door = createHttpDoor(s.start, silentLogger())
    expect(await door.apply({ enabled: true, host: '127.0.0.1', port: 0 })).toBe(true)
    const first = door.url()
    expect(first).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    // The same settings again: nothing restarts.
    expect(await door.apply({ enabled: true, host: '127.0.0.1', port: 0 })).toBe(true)
    expect(s.starts()).toBe(1)
    expect(await door.apply({ enabled: false, host: '127.0.0.1', port: 0 })).toBe(true)
    expect(door.url()).toBeNull()
    expect(s.open.size).toBe(0)
    await door.apply({ enabled: true, host: '127.0.0.1', port: 0 })
    expect(s.open.size).toBe(1)
    await door.close()
    expect(s.open.size).toBe(0)
    // After close nothing starts again (a settings change racing the quit).
    expect(await door.apply({ enabled: true, host: '127.0.0.1', port: 0 })).toBe(false)
    expect(s.open.size).toBe(0)
  })

  it('a port already taken leaves the server off and says so, without throwing', async () => {
    const s = realStarter()
    const door = createHttpDoor(s.start, silentLogger())
    await door.apply({ enabled: true, host: '127.0.0.1', port: 0 })
    const taken = Number(new URL(door.url() as string).port)
    const other = createHttpDoor(s.start, silentLogger())
    expect(await other.apply({ enabled: true, host: '127.0.0.1', port: taken })).toBe(false)
    expect(other.url()).toBeNull()
    await door.close()
  })

  it('applies changes one at a time, in order', async () => {
    const s = realStarter()
    const door = createHttpDoor(s.start, silentLogger())
    const results = await Promise.all([
      door.apply({ enabled: true, host: '127.0.0.1', port: 0 }),
      door.apply({ enabled: false, host: '127.0.0.1', port: 0 }),
      door.apply({ enabled: true, host: '127.0.0.1', port: 0 }),
    ])
    expect(results).toEqual([true, true, true])
    expect(s.open.size).toBe(1)
    expect(s.starts()).toBe(2)
    await door.close()
  })
})
