import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ConfigSchema, resolveConfig } from '../../src/main/core/config.js'
import { ValidationError } from '../../src/main/core/errors.js'
import { changedKeys, defaultSettings, keysOf, maskSettings, mergeSettings, pick } from '../../src/main/core/settings/model.js'
import { isMaskedToken, maskToken, SettingsPatchSchema, SettingsSchema, type Settings } from '../../src/shared/settings.js'

/* The Settings schema (strict, bounds shared with the engine's ConfigSchema) and its rules. */

const ADMIN = 'admin-token-0001'
const CRAWL = 'crawl-token-abcd'

function full(over: Partial<Settings> = {}): Settings {
  return { ...defaultSettings(resolveConfig({})), ...over }
}

describe('SettingsSchema', () => {
  it('accepts the defaults and refuses unknown keys, at the top and nested', () => {
    expect(SettingsSchema.safeParse(full()).success).toBe(true)
    expect(SettingsSchema.safeParse({ ...full(), colour: 'pink' }).success).toBe(false)
    expect(SettingsSchema.safeParse({ ...full(), tokens: { admin: [], crawl: [], read: [], write: [] } }).success).toBe(false)
    expect(SettingsPatchSchema.safeParse({ colour: 'pink' }).success).toBe(false)
    expect(SettingsPatchSchema.safeParse({ notifications: { sound: true } }).success).toBe(false)
  })

  it('lists every issue-5 setting', () => {
    expect(Object.keys(SettingsSchema.shape).sort()).toEqual([
      'alerts',
      'chromium_path',
      'close_to_tray',
      'host',
      'http_enabled',
      'idle_ttl_seconds',
      'memory_threshold_percent',
      'notifications',
      'port',
      'redis_url',
      'start_at_login',
      'start_hidden',
      'tokens',
    ])
    expect(Object.keys(SettingsSchema.shape.tokens.shape)).toEqual(['admin', 'crawl', 'read'])
    expect(Object.keys(SettingsSchema.shape.notifications.shape)).toEqual(['crash', 'memory_high', 'error_burst'])
  })

  it('has the same bounds as ConfigSchema for the keys they share (no drift)', () => {
    for (const key of ['host', 'port', 'memory_threshold_percent', 'idle_ttl_seconds'] as const) {
      const engine = z.toJSONSchema(ConfigSchema.shape[key].unwrap())
      expect(z.toJSONSchema(SettingsSchema.shape[key]), key).toEqual(engine)
    }
    // The Redis URL is stricter here (a form field deserves a clear message) but never looser.
    for (const v of ['redis://127.0.0.1:6379', 'rediss://cache:6380/2', null]) {
      expect(SettingsSchema.shape.redis_url.safeParse(v).success).toBe(true)
      expect(ConfigSchema.shape.redis_url.safeParse(v).success).toBe(true)
    }
    expect(SettingsSchema.shape.redis_url.safeParse('http://127.0.0.1:6379').success).toBe(false)
    expect(SettingsSchema.shape.redis_url.safeParse('').success).toBe(false)
  })

  it('takes defaults from the engine config, not from a copy', () => {
    const engineDefaults = ConfigSchema.parse({})
    const d = defaultSettings(resolveConfig({}))
    expect(d).toMatchObject({
      host: engineDefaults.host,
      port: engineDefaults.port,
      redis_url: engineDefaults.redis_url,
      memory_threshold_percent: engineDefaults.memory_threshold_percent,
      idle_ttl_seconds: engineDefaults.idle_ttl_seconds,
    })
    // Flags / config file flow through: the defaults follow the running config.
    expect(defaultSettings(resolveConfig({ memory_threshold_percent: 70, idle_ttl_seconds: 12, port: 9999 }))).toMatchObject({
      memory_threshold_percent: 70,
      idle_ttl_seconds: 12,
      port: 9999,
    })
    expect(d).toMatchObject({
      http_enabled: true,
      tokens: { admin: [], crawl: [], read: [] },
      notifications: { crash: true, memory_high: true, error_burst: true },
      // The desktop app stays in the tray when its window closes, and starts only when asked.
      close_to_tray: true,
      start_at_login: false,
      start_hidden: false,
    })
  })

  it('refuses bad values with a message on the right path', () => {
    const r = SettingsPatchSchema.safeParse({
      memory_threshold_percent: 101,
      port: 70000,
      idle_ttl_seconds: -1,
      tokens: { admin: ['short'] },
      redis_url: 'mysql://x',
    })
    expect(r.success).toBe(false)
    const paths = r.error!.issues.map((i) => i.path.join('.')).sort()
    expect(paths).toEqual(['idle_ttl_seconds', 'memory_threshold_percent', 'port', 'redis_url', 'tokens.admin.0'])
    expect(r.error!.issues.find((i) => i.path[0] === 'tokens')!.message).toMatch(/16 to 256 characters/)
  })

  it('a patch may be empty or partial', () => {
    expect(SettingsPatchSchema.parse({})).toEqual({})
    expect(SettingsPatchSchema.parse({ notifications: { crash: false } })).toEqual({ notifications: { crash: false } })
  })
})

describe('token masking', () => {
  it('keeps only the last 4 characters and hides the length', () => {
    expect(maskToken(ADMIN)).toBe('********0001')
    expect(maskToken('x'.repeat(200) + 'tail')).toBe('********tail')
    expect(isMaskedToken(maskToken(ADMIN))).toBe(true)
    expect(isMaskedToken(ADMIN)).toBe(false)
    const masked = maskSettings(full({ tokens: { admin: [ADMIN], crawl: [CRAWL], read: [] } }))
    expect(JSON.stringify(masked)).not.toContain(ADMIN)
    expect(JSON.stringify(masked)).not.toContain(CRAWL)
    expect(masked.tokens).toEqual({ admin: ['********0001'], crawl: ['********abcd'], read: [] })
    // A real token can never look masked: '*' is not a token character.
    expect(SettingsSchema.shape.tokens.shape.admin.safeParse(['********0001']).success).toBe(false)
  })

  it('a masked token in an update keeps the saved one; an unknown mask is refused', () => {
    const base = full({ tokens: { admin: [ADMIN, 'second-token-0001'], crawl: [], read: [] } })
    const next = mergeSettings(base, { tokens: { admin: ['********0001', 'brand-new-token-1'] } })
    expect(next.tokens.admin).toEqual([ADMIN, 'brand-new-token-1'])
    // Two saved tokens with the same mask: each masked entry takes the next one.
    expect(mergeSettings(base, { tokens: { admin: ['********0001', '********0001'] } }).tokens.admin).toEqual([ADMIN, 'second-token-0001'])
    expect(() => mergeSettings(base, { tokens: { admin: ['********zzzz'] } })).toThrow(ValidationError)
    // The mask must match a token of the same role.
    let err: unknown = null
    try {
      mergeSettings(base, { tokens: { crawl: ['********0001'] } })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ValidationError)
    expect((err as ValidationError).details).toEqual([{ path: 'tokens.crawl.0', message: expect.stringMatching(/full value/) }])
  })
})

describe('merging and diffing', () => {
  it('lays a patch over the settings and names the changed keys, nested ones dotted', () => {
    const base = full()
    const next = mergeSettings(base, { port: 8080, notifications: { crash: false } })
    expect(next.notifications).toEqual({ crash: false, memory_high: true, error_burst: true })
    expect(changedKeys(base, next)).toEqual(['port', 'notifications.crash'])
    expect(keysOf({ port: 1, tokens: { read: [] } })).toEqual(['port', 'tokens.read'])
    expect(pick(next, ['port', 'notifications.crash'])).toEqual({ port: 8080, notifications: { crash: false } })
  })
})
