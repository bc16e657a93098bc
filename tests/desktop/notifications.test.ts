import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EngineEventBus, type EngineEvents } from '../../src/main/core/events.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { NotificationPolicy, type NotificationPrefs, type Pressure } from '../../src/main/desktop/notification-policy.js'
import { startNotifications } from '../../src/main/desktop/notifications.js'
import { fake, FakeNotification, resetFake } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

const ALL_ON: NotificationPrefs = { crash: true, memory_high: true, error_burst: true }
const crash = { id: 'b1', sig: 'abcdef0123456789', tier: 'cold' as const, leases: 2 }

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('notification policy (fake clock)', () => {
  it('a crash is notified, then at most once per interval', () => {
    const c = clock()
    const p = new NotificationPolicy(() => ALL_ON, c.now, { minIntervalMs: 30_000 })
    expect(p.browserCrashed(crash)).toMatchObject({ kind: 'crash', title: 'A browser crashed' })
    expect(p.browserCrashed(crash)).toBeNull()
    c.advance(29_999)
    expect(p.browserCrashed(crash)).toBeNull()
    c.advance(1)
    expect(p.browserCrashed(crash)).not.toBeNull()
  })

  it('memory pressure: only the step into HIGH, rate-limited', () => {
    const c = clock()
    const p = new NotificationPolicy(() => ALL_ON, c.now, { minIntervalMs: 60_000 })
    const seq = (readings: Pressure[]) => readings.map((r) => p.pressureReading(r, 85) !== null)
    expect(seq(['LOW', 'MEDIUM', 'HIGH', 'HIGH', 'HIGH'])).toEqual([false, false, true, false, false])
    // Dropping and rising again within the interval stays quiet ...
    c.advance(10_000)
    expect(seq(['MEDIUM', 'HIGH'])).toEqual([false, false])
    // ... and is news again once the interval has passed.
    c.advance(60_000)
    expect(seq(['HIGH', 'MEDIUM', 'HIGH'])).toEqual([false, false, true])
  })

  it('an error burst is N failures within the window; fewer, or spread out, is not', () => {
    const c = clock()
    const p = new NotificationPolicy(() => ALL_ON, c.now, { burstCount: 5, burstWindowMs: 60_000, minIntervalMs: 120_000 })
    // Five failures 20 s apart: never five inside one minute.
    for (let i = 0; i < 5; i++) {
      expect(p.requestFailed()).toBeNull()
      c.advance(20_000)
    }
    c.advance(60_000)
    const results = [0, 1, 2, 3, 4].map(() => {
      c.advance(1_000)
      return p.requestFailed()
    })
    expect(results.slice(0, 4)).toEqual([null, null, null, null])
    expect(results[4]).toMatchObject({ kind: 'error_burst', body: '5 failed requests within 60 s.' })
    // Still failing: rate-limited per kind.
    c.advance(1_000)
    expect(p.requestFailed()).toBeNull()
    c.advance(120_000)
    for (let i = 0; i < 4; i++) expect(p.requestFailed()).toBeNull()
    expect(p.requestFailed()).not.toBeNull()
  })

  it('each kind can be switched off, read at every decision; the limits are per kind', () => {
    const c = clock()
    const prefs = { ...ALL_ON, crash: false }
    const p = new NotificationPolicy(() => prefs, c.now, { burstCount: 1 })
    expect(p.browserCrashed(crash)).toBeNull()
    expect(p.pressureReading('HIGH')).not.toBeNull()
    expect(p.requestFailed()).not.toBeNull()
    // Switched on again: a crash is shown at once (a suppressed one did not use up its interval).
    prefs.crash = true
    expect(p.browserCrashed(crash)).not.toBeNull()
    prefs.memory_high = false
    expect(p.pressureReading('LOW')).toBeNull()
    expect(p.pressureReading('HIGH')).toBeNull()
  })
})

describe('native notifications wired to the engine', () => {
  let events: EngineEventBus
  let pressure: { pressure: Pressure; memory_percent: number }
  let prefs: NotificationPrefs
  let clicked: string[]
  let handle: { dispose(): void }
  const c = clock()

  beforeEach(() => {
    resetFake()
    vi.useFakeTimers()
    events = new EngineEventBus()
    pressure = { pressure: 'LOW', memory_percent: 20 }
    prefs = { ...ALL_ON }
    clicked = []
    handle = startNotifications({
      events,
      readPressure: () => pressure,
      prefs: () => prefs,
      logger: silentLogger(),
      onClick: (n) => clicked.push(n.kind),
      now: c.now,
      options: { minIntervalMs: 60_000, burstCount: 3, burstWindowMs: 60_000 },
    })
  })
  afterEach(() => {
    handle.dispose()
    vi.useRealTimers()
  })

  const finished = (success: boolean, aborted = false): EngineEvents['request:finished'] => ({
    id: 'r',
    endpoint: '/md',
    url: 'http://x/',
    config_sig: 's',
    start_time: 0,
    end_time: 1,
    elapsed_ms: 1,
    success,
    status_code: success ? 200 : 500,
    error: success ? null : 'boom',
    stack: null,
    aborted,
    pool_hit: true,
    cache_hit: false,
    queue_wait_ms: 0,
    browser_sig: 's',
  })

  it('a browser:crashed event shows a native notification; a click reports its kind', () => {
    events.emit('browser:crashed', crash)
    expect(fake.notifications).toHaveLength(1)
    expect(fake.notifications[0]?.shown).toBe(true)
    expect(fake.notifications[0]?.options.title).toBe('A browser crashed')
    expect(fake.notifications[0]?.options.body).toContain('2 crawls in flight')
    fake.notifications[0]?.emit('click')
    expect(clicked).toEqual(['crash'])
  })

  it('memory pressure turning HIGH, seen by the 1 s poll of the monitor or by a janitor run', () => {
    vi.advanceTimersByTime(3_000)
    expect(fake.notifications).toHaveLength(0)
    pressure = { pressure: 'HIGH', memory_percent: 91 }
    vi.advanceTimersByTime(1_000)
    expect(fake.notifications.map((n) => n.options.title)).toEqual(['Memory pressure is HIGH'])
    expect(fake.notifications[0]?.options.body).toContain('91 %')
    vi.advanceTimersByTime(10_000)
    expect(fake.notifications).toHaveLength(1)
    // Back to MEDIUM, then a janitor run reports HIGH after the interval: notified again.
    pressure = { pressure: 'MEDIUM', memory_percent: 70 }
    vi.advanceTimersByTime(1_000)
    c.advance(61_000)
    events.emit('janitor:run', { memory_percent: 88, pressure: 'HIGH', interval_seconds: 10, cold_ttl_seconds: 30, hot_ttl_seconds: 120, closed: 0 })
    expect(fake.notifications).toHaveLength(2)
  })

  it('an error burst from request:finished failures; successes and client aborts do not count', () => {
    events.emit('request:finished', finished(false))
    events.emit('request:finished', finished(true))
    events.emit('request:finished', finished(false, true))
    events.emit('request:finished', finished(false))
    expect(fake.notifications).toHaveLength(0)
    events.emit('request:finished', finished(false))
    expect(fake.notifications.map((n) => n.options.title)).toEqual(['Crawl errors are piling up'])
  })

  it('nothing is shown when the kind is switched off or the platform has no notifications', () => {
    prefs.crash = false
    events.emit('browser:crashed', crash)
    expect(fake.notifications).toHaveLength(0)
    prefs.crash = true
    FakeNotification.supported = false
    events.emit('browser:crashed', crash)
    expect(fake.notifications).toHaveLength(0)
  })

  it('dispose() stops listening and polling', () => {
    handle.dispose()
    events.emit('browser:crashed', crash)
    pressure = { pressure: 'HIGH', memory_percent: 95 }
    vi.advanceTimersByTime(5_000)
    expect(fake.notifications).toHaveLength(0)
  })
})
