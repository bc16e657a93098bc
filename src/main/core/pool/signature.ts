import { createHash } from 'node:crypto'
import { BrowserConfigSchema, type BrowserConfig, type BrowserConfigInput } from '../../../shared/crawl-schemas.js'

/**
 * A browser is identified by the hash of its normalised config: defaults filled in, keys
 * sorted, flag lists sorted and de-duplicated. Two requests that mean the same browser get
 * the same signature however they spell it.
 */
export function normaliseBrowserConfig(input: BrowserConfigInput | BrowserConfig | undefined): BrowserConfig {
  const parsed = BrowserConfigSchema.parse(input ?? {})
  return { ...parsed, extra_args: [...new Set(parsed.extra_args)].sort() }
}

export function configSignature(config: BrowserConfig): string {
  const normal = normaliseBrowserConfig(config)
  return createHash('sha256').update(canonicalJson(normal)).digest('hex')
}

/** The short form shown in tables and logs; the full signature stays the identity. */
export function shortSig(sig: string): string {
  return sig.slice(0, 12)
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const rec = value as Record<string, unknown>
  const keys = Object.keys(rec)
    .filter((k) => rec[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(rec[k])}`).join(',')}}`
}
