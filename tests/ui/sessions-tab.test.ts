// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { JanitorEvent, SessionView } from '../../src/shared/monitor-types.js'
import ActivityTabs from '../../src/renderer/src/components/ActivityTabs.vue'
import SessionsTab from '../../src/renderer/src/components/SessionsTab.vue'
import { useMonitorStore } from '../../src/renderer/src/stores/monitor.js'
import { useSessionStore } from '../../src/renderer/src/stores/session.js'
import { setTransport } from '../../src/renderer/src/stores/transport.js'
import { FakeTransport, snapshot } from './fixtures.js'

/** The dashboard's Sessions tab: data from GET /monitor/sessions through the store, close gated by the admin scope. */

const HOSTILE = '<img src=x onerror=alert(1)>'

function sessionView(id: string, over: Partial<SessionView> = {}): SessionView {
  return {
    session_id: id,
    browser_sig: 'abc123def456',
    browser_id: 'b1',
    created_at: 1_700_000_000,
    last_used_at: 1_700_000_030,
    age_seconds: 95,
    idle_seconds: 12.6,
    requests: 3,
    url: 'http://example.test/page',
    busy: false,
    ...over,
  }
}

let pinia: ReturnType<typeof createPinia>
let transport: FakeTransport
let listed: SessionView[]

beforeEach(() => {
  document.body.innerHTML = ''
  pinia = createPinia()
  setActivePinia(pinia)
  listed = [sessionView('login-flow'), sessionView('busy-one', { busy: true, idle_seconds: 0, url: `http://example.test/?q="${HOSTILE}` })]
  transport = new FakeTransport({ monitorSessions: () => ({ sessions: listed }) })
  setTransport(transport)
})

describe('the Sessions tab', () => {
  it('shows each session from /monitor/sessions: id, browser, age, idle, pages, URL, as text', async () => {
    const w = mount(SessionsTab, { global: { plugins: [pinia] }, attachTo: document.body })
    await expect.poll(() => w.findAll('[data-testid="session-row"]').length).toBe(2)
    const [first, second] = w.findAll('[data-testid="session-row"]')
    expect(first!.text()).toContain('login-flow')
    expect(first!.text()).toContain('abc123def456')
    expect(first!.text()).toContain('1m 35s')
    expect(first!.text()).toContain('13 s')
    expect(first!.text()).toContain('3')
    expect(second!.text()).toContain('busy')
    expect(second!.text()).toContain(HOSTILE)
    expect(document.querySelectorAll('img, script').length).toBe(0)
    w.unmount()
  })

  it('close asks first, calls close_session and drops the row', async () => {
    let closed: string | null = null
    transport.handlers.monitorCloseSession = (input) => {
      closed = input.session_id
      listed = listed.filter((s) => s.session_id !== input.session_id)
      return { success: true, closed: input.session_id }
    }
    const w = mount(SessionsTab, { global: { plugins: [pinia] }, attachTo: document.body })
    await expect.poll(() => w.findAll('[data-testid="session-row"]').length).toBe(2)
    await w.findAll('[data-testid="close-session"]')[0]!.trigger('click')
    expect(closed).toBeNull()
    document.querySelector<HTMLButtonElement>('[data-testid="confirm-ok"]')!.click()
    await expect.poll(() => closed).toBe('login-flow')
    await expect.poll(() => w.findAll('[data-testid="session-row"]').length).toBe(1)
    expect(w.get('[data-testid="session-outcome"]').text()).toContain('closed session login-flow')
    w.unmount()
  })

  it('close is disabled, saying why, for a session without the admin scope', async () => {
    const auth = useSessionStore()
    auth.authRequired = true
    auth.scope = 'read'
    const w = mount(SessionsTab, { global: { plugins: [pinia] }, attachTo: document.body })
    await expect.poll(() => w.findAll('[data-testid="session-row"]').length).toBe(2)
    const close = w.findAll('[data-testid="close-session"]')[0]!
    expect(close.attributes('disabled')).toBeDefined()
    expect(close.attributes('title')).toBe('needs the admin scope; this session has read')
    w.unmount()
  })

  it('the activity tabs count sessions; a session event in the janitor log refreshes them', async () => {
    const store = useMonitorStore()
    store.applySnapshot(snapshot())
    const w = mount(ActivityTabs, { global: { plugins: [pinia] }, attachTo: document.body })
    await expect.poll(() => w.get('[data-testid="tab-sessions"]').text()).toContain('2')
    listed = [...listed, sessionView('third')]
    const event: JanitorEvent = { timestamp: 1, timestamp_ms: 1000, type: 'session_open', sig: 'abc123def456', details: { session_id: 'third' } }
    store.apply({ type: 'janitor_event', data: event })
    await expect.poll(() => w.get('[data-testid="tab-sessions"]').text()).toContain('3')
    w.unmount()
  })
})
