// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import JsonView from '../../src/renderer/src/components/JsonView.vue'

/* The raw JSON tree: folding, lazy children, long strings, Copy, and hostile text shown as text. */

const HOSTILE = '</script><script>alert(1)</script><img src=x onerror=alert(2)><b>bold</b>'

afterEach(() => {
  document.body.innerHTML = ''
  vi.restoreAllMocks()
})

const sel = (id: string) => `[data-testid="${id}"]`

describe('JsonView', () => {
  it('opens the first two levels, folds deeper ones, and renders folded children only when opened', async () => {
    const value = { a: 1, deep: { inner: { secret: 'hidden-until-opened', n: [1, 2, 3] } }, list: [true, null] }
    const w = mount(JsonView, { props: { value }, attachTo: document.body })
    const text = () => w.text()
    expect(text()).toContain('"a"')
    expect(text()).toContain('"inner"')
    // depth 2 (deep.inner) is folded: its contents are not in the DOM at all.
    expect(text()).not.toContain('hidden-until-opened')
    expect(w.findAll(sel('json-folded')).map((f) => f.text())).toEqual(['… 2 keys'])
    await w.get(sel('json-folded')).trigger('click')
    expect(text()).toContain('"hidden-until-opened"')
    // Its array (depth 3) starts folded too.
    expect(w.findAll(sel('json-folded')).map((f) => f.text())).toEqual(['… 3 items'])

    // Folding the root hides everything under it.
    await w.findAll(sel('json-toggle'))[0]!.trigger('click')
    expect(text()).not.toContain('"a"')
    expect(w.get(sel('json-folded')).text()).toBe('… 3 keys')
    w.unmount()
  })

  it('copies the whole value as indented JSON', async () => {
    const writeText = vi.fn(async (_: string) => undefined)
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    const value = { results: [{ url: 'http://a/', deep: { x: { y: [1] } } }], success: true }
    const w = mount(JsonView, { props: { value } })
    await w.get(sel('json-copy')).trigger('click')
    await vi.waitFor(() => expect(w.find(sel('json-copied')).exists()).toBe(true))
    expect(writeText).toHaveBeenCalledWith(JSON.stringify(value, null, 2))
    w.unmount()
  })

  it('says so when the clipboard refuses', async () => {
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: () => Promise.reject(new Error('denied')) }, configurable: true })
    const w = mount(JsonView, { props: { value: [1] } })
    await w.get(sel('json-copy')).trigger('click')
    await vi.waitFor(() => expect(w.find(sel('json-copy-failed')).exists()).toBe(true))
    w.unmount()
  })

  it('shows hostile keys and strings as text, creating no element from them', async () => {
    const w = mount(JsonView, { props: { value: { [HOSTILE]: HOSTILE, list: [HOSTILE] } }, attachTo: document.body })
    const strings = w.findAll(sel('json-string')).map((s) => s.text())
    expect(strings).toEqual([JSON.stringify(HOSTILE), JSON.stringify(HOSTILE)])
    expect(w.text()).toContain(JSON.stringify(HOSTILE))
    expect(document.querySelectorAll('script, img, b').length).toBe(0)
    w.unmount()
  })

  it('cuts long strings with a "show all" that shows the whole string', async () => {
    const long = 'x'.repeat(5000) + 'THE-END'
    const w = mount(JsonView, { props: { value: { long } } })
    const s = () => w.get(sel('json-string')).text()
    expect(s()).not.toContain('THE-END')
    expect(s().length).toBeLessThan(400)
    await w.get(sel('json-show-all')).trigger('click')
    expect(s()).toBe(JSON.stringify(long))
    w.unmount()
  })

  it('renders a 1 MB answer a page at a time', async () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({ i, text: `row ${i} `.padEnd(200, '.') }))
    expect(JSON.stringify(items).length).toBeGreaterThan(1_000_000)
    const w = mount(JsonView, { props: { value: { items } }, attachTo: document.body })
    // items (depth 1) is open: 100 rows, each folded at depth 2, and a "show more".
    expect(w.findAll(sel('json-folded'))).toHaveLength(100)
    expect(document.querySelectorAll('.jv').length).toBeLessThan(110)
    expect(w.get(sel('json-more')).text()).toBe('show 100 more of 4,900')
    await w.get(sel('json-more')).trigger('click')
    expect(w.findAll(sel('json-folded'))).toHaveLength(200)
    expect(w.text()).not.toContain('row 150 ')
    w.unmount()
  })

  it('writes scalars as JSON does', () => {
    const w = mount(JsonView, { props: { value: [1.5, false, null, 'q"uote', Number.NaN] } })
    expect(w.text().replace(/\s+/g, '')).toContain('1.5,false,null,"q\\"uote",null')
    w.unmount()
  })
})
