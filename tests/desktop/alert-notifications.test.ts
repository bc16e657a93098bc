import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EngineEventBus } from '../../src/main/core/events.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { startNotifications } from '../../src/main/desktop/notifications.js'
import type { AlertRecord } from '../../src/shared/monitor-alerts.js'
import { fake, resetFake } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

/** The desktop shell turns every alert firing (engine event alert:fired) into one native notification. */

const record = (over: Partial<AlertRecord> = {}): AlertRecord => ({
  id: 'alr_1',
  alert: 'error_rate',
  severity: 'critical',
  status: 'firing',
  value: 60,
  peak: 60,
  last_value: 60,
  threshold: 20,
  unit: '%',
  started_at: 1,
  fired_at: 2,
  resolved_at: null,
  instance: 'host-1',
  summary: '60 % of the last 50 requests failed (threshold 20 %)',
  ...over,
})

describe('alert notifications (Electron faked)', () => {
  let events: EngineEventBus
  let clicked: string[]
  let handle: { dispose(): void }

  beforeEach(() => {
    resetFake()
    events = new EngineEventBus()
    clicked = []
    handle = startNotifications({
      events,
      readPressure: () => ({ pressure: 'LOW', memory_percent: 10 }),
      // Every switch off: alerts are set by their own rules, not by these switches.
      prefs: () => ({ crash: false, memory_high: false, error_burst: false }),
      logger: silentLogger(),
      onClick: (n) => clicked.push(n.kind),
    })
  })
  afterEach(() => handle.dispose())

  it('one notification per firing, none for a resolve; a click opens the app', () => {
    events.emit('alert:fired', record())
    expect(fake.notifications).toHaveLength(1)
    expect(fake.notifications[0]?.shown).toBe(true)
    expect(fake.notifications[0]?.options.title).toBe('Alert: error_rate (critical)')
    expect(fake.notifications[0]?.options.body).toContain('60 % of the last 50 requests failed')
    events.emit('alert:resolved', record({ status: 'resolved', resolved_at: 3 }))
    expect(fake.notifications).toHaveLength(1)
    // A second episode is news again, even of the same rule and right away.
    events.emit('alert:fired', record({ id: 'alr_2' }))
    expect(fake.notifications).toHaveLength(2)
    fake.notifications[0]?.emit('click')
    expect(clicked).toEqual(['alert'])
  })
})
