// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import RequestsTab from '../../src/renderer/src/components/RequestsTab.vue'
import { useMonitorStore } from '../../src/renderer/src/stores/monitor.js'
import { setTransport } from '../../src/renderer/src/stores/transport.js'
import { FakeTransport, completed, snapshot } from './fixtures.js'

/** The Requests tab shows what ran on a request's pages: extraction and content filtering, as badges and in the details. */

let pinia: ReturnType<typeof createPinia>

beforeEach(() => {
  document.body.innerHTML = ''
  pinia = createPinia()
  setActivePinia(pinia)
  setTransport(new FakeTransport())
})

function mountWith(rows: ReturnType<typeof completed>[]) {
  useMonitorStore().applySnapshot(snapshot({ requests: { active: [], completed: rows } }))
  return mount(RequestsTab, { global: { plugins: [pinia] } })
}

describe('Requests tab: extraction and content filter', () => {
  it('badges: strategy and records, filter and the share of Markdown it kept; none on a plain request or an old record', async () => {
    const w = mountWith([
      completed('both', {
        extraction: { strategy: 'JsonCssExtractionStrategy', records: 1234 },
        content_filter: { type: 'PruningContentFilter', fit_chars: 250, raw_chars: 1000 },
      }),
      completed('plain', { extraction: null, content_filter: null }),
      // Kept before these fields existed: they are absent.
      completed('old'),
      completed('hit', {
        cache_hit: true,
        extraction: { strategy: 'RegexExtractionStrategy', records: null },
        content_filter: { type: 'BM25ContentFilter', fit_chars: null, raw_chars: null },
      }),
    ])
    const row = (id: string) => w.findAll('[data-testid="completed-row"]').find((r) => r.attributes('data-id') === id)!
    expect(row('both').get('[data-testid="extraction-badge"]').text()).toBe('css 1,234')
    expect(row('both').get('[data-testid="filter-badge"]').text()).toBe('prune 25%')
    expect(row('both').get('[data-testid="filter-badge"]').attributes('title')).toBe('PruningContentFilter: kept 250 of 1,000 Markdown characters (25%)')
    for (const id of ['plain', 'old']) {
      expect(row(id).find('[data-testid="extraction-badge"]').exists(), id).toBe(false)
      expect(row(id).find('[data-testid="filter-badge"]').exists(), id).toBe(false)
    }
    expect(row('hit').get('[data-testid="extraction-badge"]').text()).toBe('regex')
    expect(row('hit').get('[data-testid="filter-badge"]').text()).toBe('bm25')
    expect(row('hit').get('[data-testid="cache-badge"]').text()).toBe('cache')

    await row('both').trigger('click')
    const details = w.get('[data-testid="request-details"]').text()
    expect(details).toContain('JsonCssExtractionStrategy: 1,234 records extracted')
    expect(details).toContain('PruningContentFilter: kept 250 of 1,000 Markdown characters (25%)')
    await row('both').trigger('click')
    await row('hit').trigger('click')
    expect(w.get('[data-testid="request-details"]').text()).toContain('served from the result cache (records not counted)')
  })

  it('a hostile strategy name is text, and an empty page kept 0%', () => {
    const w = mountWith([
      completed('x', {
        extraction: { strategy: '<img src=x onerror=alert(1)>', records: 0 },
        content_filter: { type: 'PruningContentFilter', fit_chars: 0, raw_chars: 0 },
      }),
    ])
    expect(w.find('img').exists()).toBe(false)
    expect(w.get('[data-testid="extraction-badge"]').text()).toContain('<img')
    expect(w.get('[data-testid="filter-badge"]').text()).toBe('prune 0%')
  })
})
