import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_BUFFER_LIMIT } from '../../src/main/core/monitor/live.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { LIVE_IN_FLIGHT, allowedSenderFor, registerIpcDoor, type IpcDoor } from '../../src/main/ipc/index.js'
import { IPC_CHANNELS } from '../../src/shared/ipc.js'
import { startService, waitFor, type TestService } from '../helpers/service.js'
import { FakeIpcMain, FakeWindow } from './fake-electron.js'

/**
 * The live feed over IPC: one channel, the SSE stream's messages, one bounded subscription per
 * window (a window that stops acknowledging is dropped like a slow SSE client and told so), and
 * the subscription ends on liveStop or when the window is destroyed.
 */

const APP_URL = 'app://crawldeck/#/monitor'

let service: TestService
let ipc: FakeIpcMain
let door: IpcDoor

function makeDoor(s: TestService, own: FakeIpcMain): IpcDoor {
  return registerIpcDoor({
    ipcMain: own,
    service: s.runtime.service,
    live: s.runtime.live,
    isAllowedSender: allowedSenderFor({ appOrigin: 'app://crawldeck' }),
    appInfo: () => ({ version: '1', http_url: null, platform: 'linux' }),
    logger: silentLogger(),
  })
}

/** A window whose preload acknowledges each live message once handled, as the real bridge does. */
function readingWindow(): FakeWindow {
  const win = new FakeWindow(APP_URL)
  win.onSend = (channel, payload) => {
    if (channel === IPC_CHANNELS.live && payload.type !== 'ended') queueMicrotask(() => ipc.send(win.event(), IPC_CHANNELS.liveAck))
  }
  return win
}

const live = (win: FakeWindow) => win.pushed(IPC_CHANNELS.live)
const ctx = () => ({ signal: new AbortController().signal, transport: 'ipc' as const })

/** One `endpoints` live message per call: stats_reset broadcasts once per turn of the event loop. */
async function oneChange(): Promise<void> {
  await service.runtime.service.monitorResetStats({}, ctx())
  await new Promise((resolve) => setImmediate(resolve))
}

/** Reads GET /monitor/stream as `{event, data}` pairs. */
function sse(url: string) {
  const events: Array<{ event: string; data: any }> = []
  const abort = new AbortController()
  const done = (async () => {
    const res = await fetch(url, { signal: abort.signal })
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event && data !== undefined) events.push({ event, data: JSON.parse(data) })
      }
    }
  })().catch(() => {})
  return {
    events,
    close: async () => {
      abort.abort()
      await done
    },
  }
}

beforeAll(async () => {
  service = await startService({ launch_permanent: false })
  ipc = new FakeIpcMain()
  door = makeDoor(service, ipc)
}, 120_000)

afterAll(async () => {
  door?.dispose()
  await service?.close()
})

describe('live feed over IPC', () => {
  it('pushes the same messages as the SSE stream, on the one live channel', async () => {
    const stream = sse(`${service.url}/monitor/stream`)
    const win = readingWindow()
    ipc.send(win.event(), IPC_CHANNELS.liveStart)
    await waitFor(() => live(win).some((m) => m.type === 'snapshot') && stream.events.some((e) => e.event === 'snapshot'), 20_000, 'both snapshots')
    await oneChange()
    await waitFor(
      () => ['endpoints', 'tick'].every((t) => live(win).some((m) => m.type === t) && stream.events.some((e) => e.event === t)),
      20_000,
      'endpoints and tick on both',
    )
    // Messages written together may arrive in separate reads: wait for SSE to catch up.
    await waitFor(() => live(win).every((m) => stream.events.some((e) => e.event === m.type)), 20_000, 'SSE to carry every type IPC carried')
    await stream.close()

    expect(new Set(win.sent.map((s) => s.channel))).toEqual(new Set([IPC_CHANNELS.live]))
    expect(live(win)[0].type).toBe('snapshot')
    const sseTypes = new Set(stream.events.map((e) => e.event))
    for (const m of live(win)) expect(sseTypes, m.type).toContain(m.type)
    // Each IPC message is `{type, data}`, the SSE event name and its data.
    const ipcSnapshot = live(win)[0].data
    const sseSnapshot = stream.events.find((e) => e.event === 'snapshot')!.data
    expect(Object.keys(ipcSnapshot).sort()).toEqual(Object.keys(sseSnapshot).sort())
    expect(Object.keys(live(win).find((m) => m.type === 'tick').data).sort()).toEqual(Object.keys(stream.events.find((e) => e.event === 'tick')!.data).sort())
    expect(live(win).find((m) => m.type === 'endpoints').data).toEqual(stream.events.find((e) => e.event === 'endpoints')!.data)
    ipc.send(win.event(), IPC_CHANNELS.liveStop)
  })

  it('drops a window that stops acknowledging, tells it why, and keeps serving one that reads', async () => {
    const reading = readingWindow()
    const stuck = new FakeWindow(APP_URL)
    ipc.send(reading.event(), IPC_CHANNELS.liveStart)
    ipc.send(stuck.event(), IPC_CHANNELS.liveStart)
    await waitFor(() => live(reading).length > 0 && live(stuck).length > 0, 20_000, 'both snapshots')
    const clients = service.runtime.live.clientCount
    for (let i = 0; i < 5 * CLIENT_BUFFER_LIMIT && !live(stuck).some((m) => m.type === 'ended'); i++) await oneChange()

    const stuckMessages = live(stuck)
    // What main pushed is bounded by the in-flight window; the rest waited in the feed's buffer.
    expect(stuckMessages.at(-1)).toEqual({ type: 'ended', reason: 'slow_client' })
    expect(stuckMessages.length).toBe(LIVE_IN_FLIGHT + 1)
    expect(service.runtime.live.clientCount).toBe(clients - 1)
    for (let i = 0; i < 50; i++) await oneChange()
    expect(live(stuck).length).toBe(LIVE_IN_FLIGHT + 1)

    expect(live(reading).some((m) => m.type === 'ended')).toBe(false)
    expect(live(reading).length).toBeGreaterThan(CLIENT_BUFFER_LIMIT + LIVE_IN_FLIGHT)

    // The dropped window comes back with a fresh snapshot.
    ipc.send(stuck.event(), IPC_CHANNELS.liveStart)
    await waitFor(() => live(stuck).length > LIVE_IN_FLIGHT + 1, 20_000, 'a fresh snapshot')
    expect(live(stuck)[LIVE_IN_FLIGHT + 1].type).toBe('snapshot')
    ipc.send(stuck.event(), IPC_CHANNELS.liveStop)
    ipc.send(reading.event(), IPC_CHANNELS.liveStop)
  })

  it('keeps one subscription per window: a second liveStart replaces the first with a fresh snapshot', async () => {
    const win = readingWindow()
    const clients = service.runtime.live.clientCount
    ipc.send(win.event(), IPC_CHANNELS.liveStart)
    ipc.send(win.event(), IPC_CHANNELS.liveStart)
    await waitFor(() => live(win).filter((m) => m.type === 'snapshot').length === 1, 20_000, 'a snapshot')
    expect(service.runtime.live.clientCount).toBe(clients + 1)
    ipc.send(win.event(), IPC_CHANNELS.liveStop)
    expect(service.runtime.live.clientCount).toBe(clients)
  })

  it('ends the subscription on liveStop without a message', async () => {
    const win = readingWindow()
    const clients = service.runtime.live.clientCount
    ipc.send(win.event(), IPC_CHANNELS.liveStart)
    await waitFor(() => live(win).length > 0, 20_000, 'a snapshot')
    expect(service.runtime.live.clientCount).toBe(clients + 1)
    ipc.send(win.event(), IPC_CHANNELS.liveStop)
    expect(service.runtime.live.clientCount).toBe(clients)
    const count = live(win).length
    for (let i = 0; i < 5; i++) await oneChange()
    expect(live(win).length).toBe(count)
    expect(live(win).some((m) => m.type === 'ended')).toBe(false)
  })

  it('ends the subscription when the window is destroyed', async () => {
    const win = readingWindow()
    const clients = service.runtime.live.clientCount
    ipc.send(win.event(), IPC_CHANNELS.liveStart)
    await waitFor(() => live(win).length > 0, 20_000, 'a snapshot')
    expect(win.listenerCount('destroyed')).toBe(1)
    win.destroy()
    expect(service.runtime.live.clientCount).toBe(clients)
    const count = win.sent.length
    for (let i = 0; i < 5; i++) await oneChange()
    expect(win.sent.length).toBe(count)
  })

  it('tells the window the feed ended when the service closes', async () => {
    const other = await startService({ launch_permanent: false })
    const own = new FakeIpcMain()
    const d = makeDoor(other, own)
    const win = new FakeWindow(APP_URL)
    own.send(win.event(), IPC_CHANNELS.liveStart)
    await waitFor(() => live(win).length > 0, 20_000, 'a snapshot')
    await other.close()
    await waitFor(() => live(win).some((m) => m.type === 'ended'), 20_000, 'the ended message')
    expect(live(win).at(-1)).toEqual({ type: 'ended', reason: 'closed' })
    d.dispose()
  })
})
