import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { LIMITS, useMonitorStore } from '../../src/renderer/src/stores/monitor.js'
import { setTransport } from '../../src/renderer/src/stores/transport.js'
import { FakeTransport, active, browser, completed, errorEntry, health, janitorEvent, snapshot } from './fixtures.js'

let transport: FakeTransport

beforeEach(() => {
  setActivePinia(createPinia())
  transport = new FakeTransport()
  setTransport(transport)
})

function connected() {
  const store = useMonitorStore()
  store.connect()
  transport.onState?.('live')
  transport.push({ type: 'snapshot', data: snapshot() })
  return store
}

describe('monitor store', () => {
  it('starts from a snapshot', () => {
    const store = connected()
    expect(store.connection).toBe('live')
    expect(store.hasSnapshot).toBe(true)
    expect(store.health?.container.cpu_percent).toBe(12.5)
    expect(store.active.map((r) => r.id)).toEqual(['a1'])
    expect(store.completed.map((r) => r.id)).toEqual(['c1', 'c2'])
    expect(store.browsers.browsers).toHaveLength(2)
    expect(store.timeline).toHaveLength(10)
    expect(store.timeline[3]).toMatchObject({ memory: 3, cpu: 3, requests: 3, browsers: { permanent: 1, hot: 1, cold: 2 } })
    expect(store.errors).toHaveLength(1)
    expect(store.errorGroups).toHaveLength(1)
    expect(store.janitor).toHaveLength(2)
  })

  it('applies request lifecycle messages, replacing arrays', () => {
    const store = connected()
    const before = store.active
    transport.push({ type: 'request_started', data: active('a2') })
    expect(store.active).not.toBe(before)
    expect(store.active.map((r) => r.id)).toEqual(['a1', 'a2'])
    transport.push({ type: 'request_phase', data: { id: 'a2', phase: 'navigating' } })
    expect(store.active.find((r) => r.id === 'a2')?.phase).toBe('navigating')
    const completedBefore = store.completed
    transport.push({ type: 'request_finished', data: completed('a2') })
    expect(store.active.map((r) => r.id)).toEqual(['a1'])
    expect(store.completed[0]?.id).toBe('a2')
    expect(store.completed).not.toBe(completedBefore)
    expect(completedBefore.map((r) => r.id)).toEqual(['c1', 'c2'])
    // The same request again (its memory delta measured) is updated in place, not duplicated.
    transport.push({ type: 'request_finished', data: completed('zz') })
    transport.push({ type: 'request_finished', data: completed('a2', { mem_delta: 42 }) })
    expect(store.completed.map((r) => r.id)).toEqual(['zz', 'a2', 'c1', 'c2'])
    expect(store.completed[1]?.mem_delta).toBe(42)
  })

  it('replaces browsers, endpoints and health; appends timeline points', () => {
    const store = connected()
    transport.push({ type: 'browsers', data: { browsers: [browser('x')], summary: { total_count: 1, total_memory_mb: 99, reuse_rate_percent: 10 } } })
    expect(store.browsers.browsers.map((b) => b.id)).toEqual(['x'])
    transport.push({ type: 'endpoints', data: {} })
    expect(store.endpoints).toEqual({})
    transport.push({ type: 'tick', data: { health: health({ cpu_percent: 77 }), timeline: null } })
    expect(store.health?.container.cpu_percent).toBe(77)
    expect(store.timeline).toHaveLength(10)
    transport.push({
      type: 'tick',
      data: { health: health(), timeline: { timestamp: 1_800_000_000_000, memory: 50, cpu: 5, requests: 2, browsers: { permanent: 1, hot: 0, cold: 0 } } },
    })
    expect(store.timeline).toHaveLength(11)
    expect(store.timeline.at(-1)?.memory).toBe(50)
  })

  it('keeps every list bounded', () => {
    const store = connected()
    for (let i = 0; i < 250; i++) {
      transport.push({ type: 'request_finished', data: completed(`f${i}`) })
      transport.push({ type: 'janitor_event', data: janitorEvent(i) })
      transport.push({ type: 'error', data: errorEntry(i) })
      transport.push({
        type: 'tick',
        data: {
          health: health(),
          timeline: { timestamp: 1_900_000_000_000 + i * 5000, memory: i, cpu: 1, requests: 1, browsers: { permanent: 1, hot: 0, cold: 0 } },
        },
      })
    }
    expect(store.completed).toHaveLength(LIMITS.completed)
    expect(store.completed[0]?.id).toBe('f249')
    expect(store.janitor).toHaveLength(LIMITS.janitor)
    expect(store.errors).toHaveLength(LIMITS.errors)
    expect(store.errors[0]?.error).toBe('boom 249')
    expect(store.timeline).toHaveLength(LIMITS.timeline)
    expect(store.timeline.at(-1)?.memory).toBe(249)
    expect(LIMITS).toEqual({ completed: 100, janitor: 200, errors: 100, timeline: 60 })
  })

  it('drops updates while paused and re-fetches a fresh snapshot on resume', async () => {
    const store = connected()
    await store.setPaused(true)
    transport.push({ type: 'request_finished', data: completed('while-paused') })
    transport.push({ type: 'tick', data: { health: health({ cpu_percent: 99 }), timeline: null } })
    expect(store.completed.map((r) => r.id)).toEqual(['c1', 'c2'])
    expect(store.health?.container.cpu_percent).toBe(12.5)

    transport.handlers.monitorRequests = () => ({ active: [], completed: [completed('fresh')] })
    transport.handlers.monitorHealth = () => health({ cpu_percent: 33 })
    const callsBefore = transport.calls.length
    await store.setPaused(false)
    expect(transport.calls.length).toBeGreaterThan(callsBefore)
    expect(store.completed.map((r) => r.id)).toEqual(['fresh'])
    expect(store.active).toEqual([])
    expect(store.health?.container.cpu_percent).toBe(33)
    transport.push({ type: 'request_finished', data: completed('after') })
    expect(store.completed.map((r) => r.id)).toEqual(['after', 'fresh'])
  })

  it('records the outcome of control actions, failures included', async () => {
    const store = connected()
    transport.handlers.monitorCleanup = () => ({ success: true, killed_browsers: 1, closed: [{ sig: 's', id: 'i', idle_seconds: 9 }], spared_busy: [] })
    transport.handlers.monitorResetStats = () => ({
      success: true,
      message: 'Endpoint stats reset',
      cleared: ['endpoints'],
      endpoints: ['/crawl'],
      requests: 3,
    })
    transport.handlers.monitorKillBrowser = () => {
      throw new Error('browser is busy')
    }
    expect((await store.forceCleanup()).message).toBe('closed 1 cold browser')
    expect(store.outcomes.cleanup?.ok).toBe(true)
    await store.resetStats()
    expect(store.endpoints).toEqual({})
    expect(store.outcomes.reset?.message).toContain('1 endpoint')
    const kill = await store.killBrowser('b2fullsig')
    expect(kill).toMatchObject({ ok: false, message: 'browser is busy' })
    expect(store.busy['kill:b2fullsig']).toBe(false)
  })

  it('refreshes error groups after a pushed error', async () => {
    const store = connected()
    transport.handlers.monitorErrors = () => ({
      errors: [],
      groups: [{ signature: 'g2', example: 'new', endpoints: ['/md'], count: 4, first_seen: 1, last_seen: 2 }],
    })
    transport.push({ type: 'error', data: errorEntry(7) })
    await expect.poll(() => store.errorGroups.map((g) => g.signature), { timeout: 5000 }).toEqual(['g2'])
  })
})
