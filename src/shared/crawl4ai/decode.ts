import { CONSTRUCTIBLE_TYPES, ENUM_VALUES, REFUSED_TYPES } from './type-names.js'

/**
 * Crawl4AI's serialized values, turned into plain data. Crawl4AI's server builds Python objects
 * from them; here nothing is built and nothing is evaluated: typed values are checked against
 * the lists in type-names.ts and kept as `{type, params}`, `{"type": "dict", "value": {...}}`
 * becomes the object itself, enums become their checked string value. Arrays and objects are
 * decoded element by element, as Crawl4AI does.
 */

/** Something wrong at a path inside the value being decoded. */
export interface DecodeIssue {
  path: (string | number)[]
  message: string
}

/** Deeper than any real config goes; a hostile body must not reach the stack's limit. */
export const MAX_DEPTH = 32
/** Values (objects, arrays, scalars) in one config: real configs hold a few hundred. */
export const MAX_NODES = 50_000

/** A decoding pass over one request: the issues found and how much of the budget is left. */
export class Decoder {
  readonly issues: DecodeIssue[] = []
  private nodes = 0
  private tooLarge = false

  /** Decode `value` found at `path`, which is already `depth` levels deep. */
  value(value: unknown, path: (string | number)[], depth: number): unknown {
    if (this.tooLarge) return undefined
    if (++this.nodes > MAX_NODES) {
      this.tooLarge = true
      this.issues.push({ path, message: `the config holds more than ${MAX_NODES} values: it is too large` })
      return undefined
    }
    if (value === null || typeof value !== 'object') return value
    if (depth >= MAX_DEPTH) {
      this.issues.push({ path, message: `the value is nested more than ${MAX_DEPTH} levels deep` })
      return undefined
    }
    if (Array.isArray(value)) return value.map((v, i) => this.value(v, [...path, i], depth + 1))
    const rec = value as Record<string, unknown>
    if (typeof rec.type === 'string' && Object.hasOwn(rec, 'params')) return this.typed(rec.type, rec.params, path, depth)
    if (rec.type === 'dict' && Object.hasOwn(rec, 'value')) {
      const inner = rec.value
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
        this.issues.push({ path: [...path, 'value'], message: 'a {"type": "dict"} value must be an object' })
        return undefined
      }
      return this.object(inner as Record<string, unknown>, [...path, 'value'], depth + 1)
    }
    return this.object(rec, path, depth)
  }

  /** A plain object, each value decoded. Object.fromEntries keeps a "__proto__" key as data. */
  object(rec: Record<string, unknown>, path: (string | number)[], depth: number): Record<string, unknown> {
    return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, this.value(v, [...path, k], depth + 1)]))
  }

  private typed(type: string, params: unknown, path: (string | number)[], depth: number): unknown {
    const enumValues = ENUM_VALUES[type]
    if (enumValues !== undefined) {
      if (typeof params === 'string' && enumValues.includes(params)) return params
      this.issues.push({
        path: [...path, 'params'],
        message: `${JSON.stringify(params)} is not a ${type}: give one of ${enumValues.map((v) => JSON.stringify(v)).join(', ')}`,
      })
      return undefined
    }
    const refusal = REFUSED_TYPES[type]
    if (refusal !== undefined) {
      this.issues.push({ path: [...path, 'type'], message: `type '${type}' may not be constructed from a request: ${refusal}` })
      return undefined
    }
    if (!CONSTRUCTIBLE_TYPES.has(type)) {
      this.issues.push({ path: [...path, 'type'], message: `unknown type '${cap(type)}': no such class can be given in a request` })
      return undefined
    }
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      this.issues.push({ path: [...path, 'params'], message: `the params of a ${type} must be an object` })
      return undefined
    }
    return { type, params: this.object(params as Record<string, unknown>, [...path, 'params'], depth + 1) }
  }
}

/** A name echoed in a message stays short: the whole body is the client's, not the log's. */
export function cap(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/** A decoded `{type, params}` value, as the decoder keeps the constructible types. */
export interface TypedValue {
  type: string
  params: Record<string, unknown>
}

export function isTypedValue(value: unknown): value is TypedValue {
  return value !== null && typeof value === 'object' && typeof (value as TypedValue).type === 'string' && Object.hasOwn(value, 'params')
}
