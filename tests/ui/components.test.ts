// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { nextTick } from 'vue'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import BrowsersTab from '../../src/renderer/src/components/BrowsersTab.vue'
import CompletedRow from '../../src/renderer/src/components/CompletedRow.vue'
import ControlPanel from '../../src/renderer/src/components/ControlPanel.vue'
import EndpointTable from '../../src/renderer/src/components/EndpointTable.vue'
import ErrorsTab from '../../src/renderer/src/components/ErrorsTab.vue'
import HealthBar from '../../src/renderer/src/components/HealthBar.vue'
import JanitorTab from '../../src/renderer/src/components/JanitorTab.vue'
import RequestsTab from '../../src/renderer/src/components/RequestsTab.vue'
import { useMonitorStore } from '../../src/renderer/src/stores/monitor.js'
import { setTransport } from '../../src/renderer/src/stores/transport.js'
import { FakeTransport, active, completed, errorEntry, health, janitorEvent, snapshot } from './fixtures.js'

const HOSTILE = '<img src=x onerror=alert(1)>'
const HOSTILE_URL = 'http://example.test/?q="><script>alert(1)</script>'

let pinia: ReturnType<typeof createPinia>
let transport: FakeTransport

beforeEach(() => {
  document.body.innerHTML = ''
  pinia = createPinia()
  setActivePinia(pinia)
  transport = new FakeTransport()
  setTransport(transport)
})

function storeWith(s = snapshot()) {
  const store = useMonitorStore()
  store.applySnapshot(s)
  return store
}

describe('renderer components', () => {
  it('renders a hostile error message and stack as text, creating no element', async () => {
    storeWith(
      snapshot({ errors: { errors: [errorEntry(1, { error: HOSTILE, stack: `${HOSTILE}\n  at <script>x()</script>`, url: HOSTILE_URL })], groups: [] } }),
    )
    const w = mount(ErrorsTab, { global: { plugins: [pinia] }, attachTo: document.body })
    expect(w.get('[data-testid="error-message"]').text()).toBe(HOSTILE)
    await w.get('.head').trigger('click')
    expect(w.get('[data-testid="error-stack"]').text()).toContain(HOSTILE)
    expect(w.text()).toContain(HOSTILE_URL)
    expect(document.querySelectorAll('img').length).toBe(0)
    expect(document.querySelectorAll('script').length).toBe(0)
    w.unmount()
  })

  it('renders hostile URLs and errors in Requests as text; a row opens its details', async () => {
    storeWith(snapshot({ requests: { active: [], completed: [completed('h1', { url: HOSTILE_URL, success: false, error: HOSTILE })] } }))
    const w = mount(RequestsTab, { global: { plugins: [pinia] }, attachTo: document.body })
    expect(w.get('[data-testid="completed-row"]').text()).toContain(HOSTILE_URL)
    await w.get('[data-testid="completed-row"]').trigger('click')
    expect(w.get('[data-testid="request-details"]').text()).toContain(HOSTILE)
    expect(document.querySelectorAll('img, script').length).toBe(0)
    w.unmount()
  })

  it('filters completed requests by success and error', async () => {
    storeWith()
    const w = mount(RequestsTab, { global: { plugins: [pinia] } })
    expect(w.findAll('[data-testid="completed-row"]')).toHaveLength(2)
    await w.get('[data-testid="filter-error"]').trigger('click')
    expect(w.findAll('[data-testid="completed-row"]')).toHaveLength(1)
    await w.get('[data-testid="filter-success"]').trigger('click')
    expect(w.findAll('[data-testid="completed-row"]')).toHaveLength(1)
  })

  it('disables kill for the permanent browser with the reason as tooltip, and confirms kills', async () => {
    storeWith()
    let killed: string | null = null
    transport.handlers.monitorKillBrowser = (input) => {
      killed = input.sig
      return {
        success: true,
        killed_sig: 'b2fullsi',
        pool_type: 'cold',
        killed: { sig: 'b2sig', full_sig: 'b2fullsig', id: 'b2', type: 'cold', forced: false, failed_crawls: 0 },
      }
    }
    const w = mount(BrowsersTab, { global: { plugins: [pinia] }, attachTo: document.body })
    const rows = w.findAll('[data-testid="browser-row"]')
    const permanentKill = rows[0]!.get('[data-testid="kill-browser"]')
    expect(permanentKill.attributes('disabled')).toBeDefined()
    expect(permanentKill.element.parentElement?.getAttribute('title')).toBe('the permanent browser cannot be killed; restart it instead')
    await rows[1]!.get('[data-testid="kill-browser"]').trigger('click')
    expect(killed).toBeNull()
    const ok = document.querySelector<HTMLButtonElement>('[data-testid="confirm-ok"]')
    expect(ok).not.toBeNull()
    ok!.click()
    await expect.poll(() => killed).toBe('b2fullsig')
    await expect.poll(() => w.findAll('[data-testid="browser-row"]').length).toBe(1)
    w.unmount()
  })

  it('control actions ask first and show their outcome', async () => {
    storeWith()
    transport.handlers.monitorResetStats = () => ({
      success: true,
      message: 'Endpoint stats reset',
      cleared: ['endpoints'],
      endpoints: ['/crawl', '/md'],
      requests: 4,
    })
    const w = mount(ControlPanel, { global: { plugins: [pinia] }, attachTo: document.body })
    await w.get('[data-testid="action-reset"]').trigger('click')
    expect(transport.calls.some((c) => c.name === 'monitorResetStats')).toBe(false)
    document.querySelector<HTMLButtonElement>('[data-testid="confirm-cancel"]')!.click()
    await w.vm.$nextTick()
    expect(document.querySelector('[data-testid="confirm-dialog"]')).toBeNull()
    await w.get('[data-testid="action-reset"]').trigger('click')
    document.querySelector<HTMLButtonElement>('[data-testid="confirm-ok"]')!.click()
    await expect.poll(() => w.find('[data-testid="outcome-reset"]').exists()).toBe(true)
    expect(w.get('[data-testid="outcome-reset"]').text()).toContain('cleared stats of 2 endpoints')
    w.unmount()
  })

  it('sorts endpoint analytics', async () => {
    storeWith(
      snapshot({
        endpoints: {
          '/crawl': {
            count: 3,
            avg_latency_ms: 800,
            p50_latency_ms: 700,
            p95_latency_ms: 1500,
            success_rate_percent: 66.7,
            pool_hit_rate_percent: 100,
            cache_hit_rate_percent: 0,
            errors: 1,
          },
          '/md': {
            count: 9,
            avg_latency_ms: 200,
            p50_latency_ms: 150,
            p95_latency_ms: 400,
            success_rate_percent: 100,
            pool_hit_rate_percent: 90,
            cache_hit_rate_percent: 0,
            errors: 0,
          },
        },
      }),
    )
    const w = mount(EndpointTable, { global: { plugins: [pinia] } })
    const order = () => w.findAll('[data-testid="endpoint-row"]').map((r) => r.find('td').text())
    expect(order()).toEqual(['/md', '/crawl'])
    await w.get('[data-testid="sort-avg_latency_ms"]').trigger('click')
    expect(order()).toEqual(['/crawl', '/md'])
    await w.get('[data-testid="sort-avg_latency_ms"]').trigger('click')
    expect(order()).toEqual(['/md', '/crawl'])
    expect(w.text()).toContain('1.50 s')
  })

  it('colours memory by threshold and formats units', () => {
    const store = storeWith()
    store.apply({ type: 'tick', data: { health: health({ memory_percent: 85, uptime_seconds: 3723 }), timeline: null } })
    const w = mount(HealthBar, { global: { plugins: [pinia] } })
    expect(w.get('[data-testid="health-memory"]').classes()).toContain('crit')
    expect(w.get('[data-testid="health-uptime"]').text()).toBe('1h 02m')
    store.apply({ type: 'tick', data: { health: health({ memory_percent: 65 }), timeline: null } })
    return w.vm.$nextTick().then(() => expect(w.get('[data-testid="health-memory"]').classes()).toContain('warn'))
  })

  it('the health bar shows the result cache size; Requests marks a cache hit with a badge', async () => {
    storeWith()
    const bar = mount(HealthBar, { global: { plugins: [pinia] } })
    // fixtures: 48,500,000 bytes of 1 GiB in 1,234 entries.
    expect(bar.get('[data-testid="health-cache"]').text()).toBe('46.3 MB')
    expect(bar.text()).toContain('1,234 entries · max 1.00 GB')
    storeWith(snapshot({ requests: { active: [], completed: [completed('hit', { cache_hit: true, pool_hit: null }), completed('miss')] } }))
    const w = mount(RequestsTab, { global: { plugins: [pinia] } })
    const rows = w.findAll('[data-testid="completed-row"]')
    const hitRow = rows.find((r) => r.attributes('data-id') === 'hit')!
    const missRow = rows.find((r) => r.attributes('data-id') === 'miss')!
    expect(hitRow.find('[data-testid="cache-badge"]').text()).toBe('cache')
    expect(missRow.find('[data-testid="cache-badge"]').exists()).toBe(false)
    await hitRow.trigger('click')
    expect(w.get('[data-testid="request-details"]').text()).toContain('answered from the result cache')
    const stats = snapshot().endpoints['/crawl']!
    storeWith(snapshot({ endpoints: { '/crawl': { ...stats, cache_hit_rate_percent: 25 } } }))
    const table = mount(EndpointTable, { global: { plugins: [pinia] } })
    expect(table.get('[data-testid="endpoint-cache-hit"]').text()).toBe('25.0 %')
  })
})

describe('renderer components under live updates', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('renders one row for a new completed request; the other rows and the 1 Hz clock leave theirs alone', async () => {
    vi.useFakeTimers()
    const store = storeWith(
      snapshot({ requests: { active: [active('a1', { start_time_ms: Date.now() })], completed: Array.from({ length: 100 }, (_, i) => completed(`c${i}`)) } }),
    )
    const w = mount(RequestsTab, { global: { plugins: [pinia] } })
    // A component re-render replaces its subTree: identical subTrees mean the row was skipped.
    const trees = () => new Map(w.findAllComponents(CompletedRow).map((c) => [(c.vm.$.props as { r: { id: string } }).r.id, c.vm.$.subTree]))
    const before = trees()
    expect(before.size).toBe(100)

    store.apply({ type: 'request_finished', data: completed('fresh') })
    await nextTick()
    const after = trees()
    expect(after.size).toBe(100)
    expect(after.has('fresh')).toBe(true)
    const kept = [...after].filter(([id, tree]) => before.get(id) === tree)
    expect(kept).toHaveLength(99)

    // The elapsed time of active requests ticks every second: only that table re-renders.
    const elapsed = w.get('[data-testid="active-row"]').text()
    vi.advanceTimersByTime(3000)
    await nextTick()
    expect(w.get('[data-testid="active-row"]').text()).not.toBe(elapsed)
    expect([...trees()].every(([id, tree]) => after.get(id) === tree)).toBe(true)
    w.unmount()
  })

  it('keeps janitor rows when an event arrives: one row added on top, none re-created', async () => {
    const store = storeWith(snapshot({ janitor: Array.from({ length: 200 }, (_, i) => janitorEvent(i)) }))
    const w = mount(JanitorTab, { global: { plugins: [pinia] } })
    const first = w.findAll('[data-testid="janitor-row"]')[0]!.element
    store.apply({ type: 'janitor_event', data: janitorEvent(999) })
    await nextTick()
    const rows = w.findAll('[data-testid="janitor-row"]')
    expect(rows).toHaveLength(200)
    expect(rows[0]!.text()).toContain('sig999')
    // The same element, moved down one place: keyed by the event, not by its index.
    expect(rows[1]!.element).toBe(first)
    w.unmount()
  })
})
