// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { FleetMember, FleetResponse } from '../../src/shared/monitor-fleet.js'
import ActivityTabs from '../../src/renderer/src/components/ActivityTabs.vue'
import FleetTab from '../../src/renderer/src/components/FleetTab.vue'
import { setTransport } from '../../src/renderer/src/stores/transport.js'
import { FakeTransport } from './fixtures.js'

/** The dashboard's Fleet tab: instances from GET /monitor/fleet through the fleet store. */

const HOSTILE = '<img src=x onerror=alert(1)>'

function instance(id: string, over: Partial<FleetMember> = {}): FleetMember {
  return {
    id,
    address: `10.0.0.${id.length}:11235`,
    url: `http://10.0.0.${id.length}:11235`,
    hostname: 'node',
    pid: 42,
    version: '0.1.0',
    started_at: Date.now() - 90_000,
    heartbeat_at: Date.now() - 1000,
    ttl_seconds: 15,
    pool: { browsers: 3, permanent: 1, hot: 1, cold: 1 },
    load: { active: 2, queued: 4, limit: 8, queue_limit: 64 },
    health: { cpu_percent: 35, memory_percent: 91 },
    requests: { completed: 120, errors: 2, per_minute: 17 },
    jobs: { queued: 5, active: 2, completed: 40, failed: 1, cancelled: 0 },
    self: false,
    heartbeat_age_ms: 1000,
    ...over,
  }
}

let pinia: ReturnType<typeof createPinia>
let fleet: FleetResponse

beforeEach(() => {
  document.body.innerHTML = ''
  pinia = createPinia()
  setActivePinia(pinia)
  fleet = {
    self: 'a',
    backend: 'redis',
    ttl_seconds: 15,
    error: null,
    instances: [
      instance('a', { self: true, heartbeat_age_ms: 0 }),
      instance('bb', { heartbeat_age_ms: 9000 }),
      instance('ccc', { url: `javascript:alert(1)//`, address: HOSTILE, jobs: null }),
    ],
  }
  setTransport(new FakeTransport({ monitorFleet: () => fleet }))
})

describe('the Fleet tab', () => {
  it('lists every instance with health, load, jobs and a link to its dashboard; this one marked', async () => {
    const w = mount(FleetTab, { global: { plugins: [pinia] }, attachTo: document.body })
    await expect.poll(() => w.findAll('[data-testid="fleet-row"]').length).toBe(3)
    const [self, other, hostile] = w.findAll('[data-testid="fleet-row"]')
    expect(self!.find('[data-testid="fleet-self"]').exists()).toBe(true)
    expect(self!.find('[data-testid="fleet-open"]').exists()).toBe(false)
    expect(other!.text()).toContain('10.0.0.2:11235')
    expect(other!.text()).toContain('2/8')
    expect(other!.text()).toContain('+4')
    expect(other!.text()).toContain('mem 91 %')
    expect(other!.get('[data-testid="fleet-jobs"]').text()).toBe('5/2/40/1')
    expect(other!.get('[data-testid="fleet-open"]').attributes('href')).toBe('http://10.0.0.2:11235/dashboard/')
    // A record from Redis is data: shown as text, and a URL that is not http(s) gets no link.
    expect(hostile!.text()).toContain(HOSTILE)
    expect(hostile!.find('[data-testid="fleet-open"]').exists()).toBe(false)
    expect(hostile!.get('[data-testid="fleet-jobs"]').text()).toBe('—')
    expect(document.querySelectorAll('img, script').length).toBe(0)
    expect(w.get('[data-testid="fleet-note"]').text()).toContain('3 instances')
    w.unmount()
  })

  it('says when the fleet is this instance alone, or Redis cannot be read', async () => {
    fleet = { ...fleet, backend: 'local', instances: [fleet.instances[0]!] }
    const w = mount(FleetTab, { global: { plugins: [pinia] }, attachTo: document.body })
    await expect.poll(() => w.get('[data-testid="fleet-note"]').text()).toContain('no Redis configured')
    w.unmount()
  })

  it('is a tab of the activity panel, counting the instances once opened', async () => {
    const w = mount(ActivityTabs, { global: { plugins: [pinia] }, attachTo: document.body })
    await w.get('[data-testid="tab-fleet"]').trigger('click')
    await expect.poll(() => w.get('[data-testid="tab-fleet"]').text()).toContain('3')
    expect(w.find('[data-testid="fleet-tab"]').exists()).toBe(true)
    w.unmount()
  })
})
