import { contract, type Operation, type OperationName } from '../../shared/contract.js'
import { describeIssues } from '../../shared/validation.js'
import { CrawldeckError, invalidInput } from '../core/errors.js'

/**
 * Everything a renderer sends is untrusted: a compromised page can put any structured-clone
 * value on the wire. Messages are checked here before anything reaches the engine, and every
 * refusal is a CrawldeckError (a 4xx) that the door turns into an IpcError.
 */

/** Which IPC channel serves each kind of operation the contract has. */
export type IpcRoute = 'call' | 'stream' | 'live'

export function routeOf(op: Operation): IpcRoute {
  switch (op.response) {
    case 'json':
    case 'batch':
    case 'text':
      return 'call'
    case 'ndjson':
      return 'stream'
    case 'live':
      return 'live'
    default: {
      // A new response kind must get an IPC twin before it compiles.
      const unhandled: never = op.response
      throw new Error(`no IPC route for response kind ${String(unhandled)}`)
    }
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
const MAX_DEPTH = 64
const ID_PATTERN = /^[A-Za-z0-9_.-][A-Za-z0-9_.:-]{0,127}$/

export class InvalidMessageError extends CrawldeckError {
  constructor(message: string) {
    super(400, 'invalid_message', message)
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Plain JSON values only (what the HTTP door could have received): no prototype-polluting keys,
 * no cycles, no Map/Date/typed arrays, bounded depth and size.
 */
export function checkJsonValue(value: unknown, maxBytes: number, what = 'input'): void {
  const ancestors = new Set<object>()
  const visit = (v: unknown, path: string, depth: number): void => {
    if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') return
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new InvalidMessageError(`${path} is not a finite number`)
      return
    }
    if (typeof v !== 'object') throw new InvalidMessageError(`${path} is a ${typeof v}; send plain JSON values`)
    if (depth > MAX_DEPTH) throw new InvalidMessageError(`${what} is nested deeper than ${MAX_DEPTH} levels`)
    if (ancestors.has(v)) throw new InvalidMessageError(`${path} refers to itself`)
    if (Array.isArray(v)) {
      if (Object.getPrototypeOf(v) !== Array.prototype) throw new InvalidMessageError(`${path} is not a plain array`)
      ancestors.add(v)
      v.forEach((item, i) => visit(item, `${path}[${i}]`, depth + 1))
      ancestors.delete(v)
      return
    }
    if (!isPlainObject(v)) throw new InvalidMessageError(`${path} is a ${Object.prototype.toString.call(v).slice(8, -1)}; send plain JSON values`)
    ancestors.add(v)
    for (const key of Reflect.ownKeys(v)) {
      if (typeof key !== 'string') throw new InvalidMessageError(`${path} has a symbol key`)
      if (FORBIDDEN_KEYS.has(key)) throw new InvalidMessageError(`${path} has a forbidden key ${JSON.stringify(key)}`)
      visit(v[key], `${path}.${key}`, depth + 1)
    }
    ancestors.delete(v)
  }
  visit(value, what, 0)
  // No cycles are left, so the JSON form exists; its size is what HTTP's body limit measures.
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8')
  if (bytes > maxBytes) throw new CrawldeckError(413, 'body_too_large', `request body is larger than the ${maxBytes}-byte limit`)
}

/** The envelope of a message: a plain object holding only the expected keys. */
export function readEnvelope(payload: unknown, allowed: readonly string[], maxBytes: number): Record<string, unknown> {
  if (!isPlainObject(payload)) throw new InvalidMessageError('the message must be an object')
  checkJsonValue(payload, maxBytes, 'message')
  const extra = Object.keys(payload).filter((k) => !allowed.includes(k))
  if (extra.length > 0) throw new InvalidMessageError(`the message has unknown keys: ${extra.slice(0, 5).join(', ')}`)
  return payload
}

/** The operation a message names, refused unless the contract has it and it belongs on this channel. */
export function operationFor(op: unknown, route: IpcRoute): OperationName {
  if (typeof op !== 'string' || !Object.hasOwn(contract, op)) {
    const shown = typeof op === 'string' ? JSON.stringify(op.slice(0, 100)) : typeof op
    throw new CrawldeckError(404, 'unknown_operation', `no operation ${shown}`)
  }
  const name = op as OperationName
  const actual = routeOf(contract[name])
  if (actual !== route) throw new CrawldeckError(400, 'wrong_channel', `${name} is a ${contract[name].response} operation: use ${actual}, not ${route}`)
  return name
}

/**
 * The input parsed with the operation's own schema, failing with exactly the ValidationError
 * (status, code, message, details) the HTTP door raises for the same input.
 */
export function parseInput(name: OperationName, raw: unknown): unknown {
  const parsed = (contract[name] as Operation).input.safeParse(raw ?? {})
  if (!parsed.success) throw invalidInput(describeIssues(parsed.error))
  return parsed.data
}

/** A call or stream id chosen by the renderer; only its own window's ids can be cancelled with it. */
export function readId(value: unknown, required: boolean): string | null {
  if (value === undefined && !required) return null
  if (typeof value !== 'string' || !ID_PATTERN.test(value))
    throw new InvalidMessageError('id must be 1 to 128 characters of A-Z a-z 0-9 _ . : - (not starting with :)')
  return value
}
