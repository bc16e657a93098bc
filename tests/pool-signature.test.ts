import { describe, expect, it } from 'vitest'
import { janitorPolicy, memoryPressure } from '../src/main/core/pool/janitor.js'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import type { BrowserConfigInput } from '../src/shared/crawl-schemas.js'

/** The signature the pool would give a request's browser_config. */
const sig = (input: BrowserConfigInput | undefined) => configSignature(normaliseBrowserConfig(input))

/** Every default of BrowserConfigSchema, spelled out. */
const DEFAULTS_SPELLED_OUT = {
  headless: true,
  viewport_width: 1280,
  viewport_height: 720,
  user_agent: null,
  java_script_enabled: true,
  ignore_https_errors: false,
  proxy: null,
  extra_args: [],
  locale: null,
}

describe('browser config signature', () => {
  it('is a stable sha256 hex digest', () => {
    expect(sig({})).toMatch(/^[0-9a-f]{64}$/)
    expect(sig({ viewport_width: 801 })).toBe(sig({ viewport_width: 801 }))
    // Normalising twice changes nothing.
    expect(configSignature(normaliseBrowserConfig(normaliseBrowserConfig({ extra_args: ['--hide-scrollbars', '--disable-lcd-text'] })))).toBe(
      sig({ extra_args: ['--disable-lcd-text', '--hide-scrollbars'] }),
    )
  })

  it('ignores key order', () => {
    const a = { viewport_width: 801, viewport_height: 600, user_agent: 'UA/1', locale: 'en-GB', java_script_enabled: false }
    const b = { java_script_enabled: false, locale: 'en-GB', user_agent: 'UA/1', viewport_height: 600, viewport_width: 801 }
    expect(Object.keys(a)).not.toEqual(Object.keys(b))
    expect(sig(a)).toBe(sig(b))
    // Nested objects too (the proxy).
    expect(sig({ proxy: { server: 'http://127.0.0.1:3128', username: 'u', password: 'p' } })).toBe(
      sig({ proxy: { password: 'p', username: 'u', server: 'http://127.0.0.1:3128' } }),
    )
  })

  it('treats defaults spelled out the same as defaults left out', () => {
    expect(sig({})).toBe(sig(DEFAULTS_SPELLED_OUT))
    expect(sig(undefined)).toBe(sig({}))
    expect(sig({ viewport_width: 801 })).toBe(sig({ ...DEFAULTS_SPELLED_OUT, viewport_width: 801 }))
    // A proxy given as a bare string means {server: string}.
    expect(sig({ proxy: 'http://127.0.0.1:3128' })).toBe(sig({ proxy: { server: 'http://127.0.0.1:3128' } }))
  })

  it('ignores extra_args order and duplicates', () => {
    const base = sig({ extra_args: ['--disable-remote-fonts', '--font-render-hinting=none', '--hide-scrollbars'] })
    expect(sig({ extra_args: ['--hide-scrollbars', '--font-render-hinting=none', '--disable-remote-fonts'] })).toBe(base)
    expect(
      sig({ extra_args: ['--font-render-hinting=none', '--hide-scrollbars', '--font-render-hinting=none', '--disable-remote-fonts', '--hide-scrollbars'] }),
    ).toBe(base)
    // ...but the flags themselves matter.
    expect(sig({ extra_args: ['--font-render-hinting=full', '--hide-scrollbars', '--disable-remote-fonts'] })).not.toBe(base)
    expect(sig({ extra_args: ['--hide-scrollbars'] })).not.toBe(base)
    expect(sig({ extra_args: [] })).toBe(sig({}))
  })

  it('differs when anything that decides the browser differs', () => {
    const base = sig({})
    const variants: BrowserConfigInput[] = [
      { viewport_width: 801 },
      { viewport_height: 721 },
      { user_agent: 'crawldeck-test/1.0' },
      { proxy: 'http://127.0.0.1:3128' },
      { proxy: { server: 'http://127.0.0.1:3128', username: 'someone' } },
      { java_script_enabled: false },
      { headless: false },
      { ignore_https_errors: true },
      { locale: 'fr-FR' },
      { extra_args: ['--hide-scrollbars'] },
    ]
    const sigs = variants.map((v) => sig(v))
    for (const s of sigs) expect(s).not.toBe(base)
    // All pairwise distinct, too.
    expect(new Set(sigs).size).toBe(sigs.length)
    expect(sig({ viewport_width: 801 })).not.toBe(sig({ viewport_width: 802 }))
    expect(sig({ user_agent: 'A' })).not.toBe(sig({ user_agent: 'B' }))
    expect(sig({ proxy: 'http://127.0.0.1:3128' })).not.toBe(sig({ proxy: 'http://127.0.0.1:3129' }))
  })

  it("accepts Crawl4AI's {type: 'BrowserConfig', params} form with the same signature as the plain object", () => {
    const params = { viewport_width: 801, user_agent: 'UA/2', extra_args: ['--hide-scrollbars', '--disable-lcd-text'] }
    expect(sig({ type: 'BrowserConfig', params } as unknown as BrowserConfigInput)).toBe(sig(params))
    expect(
      sig({
        type: 'BrowserConfig',
        params: { extra_args: ['--disable-lcd-text', '--hide-scrollbars'], user_agent: 'UA/2', viewport_width: 801 },
      } as unknown as BrowserConfigInput),
    ).toBe(sig(params))
    expect(sig({ type: 'BrowserConfig', params: {} } as unknown as BrowserConfigInput)).toBe(sig({}))
  })
})

describe('janitorPolicy (the adaptive table)', () => {
  it.each([
    // memory %, idle_ttl, expected
    [85, 300, { pressure: 'HIGH', interval_seconds: 10, cold_ttl_seconds: 30, hot_ttl_seconds: 120 }],
    [99, 300, { pressure: 'HIGH', interval_seconds: 10, cold_ttl_seconds: 30, hot_ttl_seconds: 120 }],
    [80.5, 300, { pressure: 'HIGH', interval_seconds: 10, cold_ttl_seconds: 30, hot_ttl_seconds: 120 }],
    [70, 300, { pressure: 'MEDIUM', interval_seconds: 30, cold_ttl_seconds: 60, hot_ttl_seconds: 300 }],
    [60.5, 300, { pressure: 'MEDIUM', interval_seconds: 30, cold_ttl_seconds: 60, hot_ttl_seconds: 300 }],
    [10, 300, { pressure: 'LOW', interval_seconds: 60, cold_ttl_seconds: 300, hot_ttl_seconds: 600 }],
    [10, 45, { pressure: 'LOW', interval_seconds: 60, cold_ttl_seconds: 45, hot_ttl_seconds: 90 }],
    [0, 0, { pressure: 'LOW', interval_seconds: 60, cold_ttl_seconds: 0, hot_ttl_seconds: 0 }],
  ] as const)('%s %% with idle_ttl %s s', (percent, idleTtl, expected) => {
    expect(janitorPolicy(percent, idleTtl)).toEqual(expected)
  })

  it('at 85 % the TTLs do not depend on idle_ttl; at 10 % they do', () => {
    expect(janitorPolicy(85, 3600)).toEqual(janitorPolicy(85, 5))
    expect(janitorPolicy(70, 3600)).toEqual(janitorPolicy(70, 5))
    expect(janitorPolicy(10, 3600).cold_ttl_seconds).toBe(3600)
    expect(janitorPolicy(10, 3600).hot_ttl_seconds).toBe(7200)
  })

  // The table says "> 80 %" and "> 60 %": the boundaries belong to the row below, and the
  // pressure label must name the row whose intervals are used.
  it('puts exactly 80 % and 60 % in the lower row, label and numbers alike', () => {
    expect(janitorPolicy(80, 300)).toEqual({ pressure: 'MEDIUM', interval_seconds: 30, cold_ttl_seconds: 60, hot_ttl_seconds: 300 })
    expect(janitorPolicy(60, 300)).toEqual({ pressure: 'LOW', interval_seconds: 60, cold_ttl_seconds: 300, hot_ttl_seconds: 600 })
    for (const p of [0, 10, 59.9, 60, 60.1, 70, 79.9, 80, 80.1, 85, 100]) {
      expect(memoryPressure(p)).toBe(janitorPolicy(p, 300).pressure)
    }
  })
})
