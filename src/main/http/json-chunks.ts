import { RawJson } from '../../shared/raw-json.js'

/**
 * JSON text in pieces, for answers that hold large strings (a page's html, cleaned_html and
 * Markdown, a screenshot or PDF in base64). JSON.stringify of a whole result builds one string
 * as long as all of them together: a second full copy of the result while it is written, and
 * past V8's string limit (2^29 - 24 characters) no answer at all, after the page was crawled.
 * Here a string of `splitAbove` characters or more among a value's own fields (holdsLargeString)
 * becomes a piece of its own, so no piece is much longer than the longest such field, and the
 * pieces are let go as the socket takes them.
 *
 * The pieces joined are exactly JSON.stringify(value) for the plain data answers are made of
 * (objects, arrays, strings, numbers, booleans, null; undefined and functions left out of objects
 * and null in arrays; toJSON honoured). A value holding no such string is stringified whole, so
 * ordinary answers take JSON.stringify's own path unchanged.
 *
 * A RawJson (a cache hit: JSON already text, often UTF-8 bytes) is written as it is, never
 * decoded: the *Pieces functions give bytes as bytes, for the socket; the *Chunks ones give text.
 */
export const SPLIT_STRINGS_ABOVE = 1024 * 1024

/** A piece of an answer's JSON: text, or UTF-8 bytes (a cache hit's stored JSON). */
export type JsonPiece = string | Uint8Array

/** JSON text of `value` in pieces, RawJson bytes kept as bytes. */
export function jsonPieces(value: unknown, splitAbove: number = SPLIT_STRINGS_ABOVE): Generator<JsonPiece> {
  return gather(walk(value, splitAbove), splitAbove)
}

export function* jsonChunks(value: unknown, splitAbove: number = SPLIT_STRINGS_ABOVE): Generator<string> {
  for (const piece of jsonPieces(value, splitAbove)) yield asText(piece)
}

/**
 * The walk's small pieces (punctuation, keys, small fields, a small cache hit's bytes) go out
 * together: one write each between the large ones, not one per key.
 */
function* gather(pieces: Iterable<JsonPiece>, splitAbove: number): Generator<JsonPiece> {
  let small: JsonPiece[] = []
  for (const piece of pieces) {
    if (piece.length === 0) continue
    if (piece.length < splitAbove) {
      small.push(piece)
      continue
    }
    if (small.length > 0) yield joined(small)
    small = []
    yield piece
  }
  if (small.length > 0) yield joined(small)
}

/** Pieces as one: text while all are text, else bytes (one copy of pieces below the split size). */
function joined(pieces: JsonPiece[]): JsonPiece {
  if (pieces.every((p) => typeof p === 'string')) return pieces.join('')
  return Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)))
}

function asText(piece: JsonPiece): string {
  return typeof piece === 'string' ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength).toString('utf8')
}

function* walk(value: unknown, splitAbove: number): Generator<JsonPiece> {
  if (value instanceof RawJson) {
    yield* value.pieces()
    return
  }
  if (!holdsLargeString(value, splitAbove)) {
    const whole = JSON.stringify(value)
    if (whole !== undefined) yield whole
    return
  }
  if (typeof value === 'string') {
    yield JSON.stringify(value)
    return
  }
  if (Array.isArray(value)) {
    yield '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ','
      const item: unknown = value[i]
      // JSON.stringify writes null for what has no JSON form inside an array.
      if (hasNoJson(item)) yield 'null'
      else yield* walk(item, splitAbove)
    }
    yield ']'
    return
  }
  const record = value as Record<string, unknown>
  let first = true
  yield '{'
  for (const key of Object.keys(record)) {
    const item = record[key]
    if (hasNoJson(item)) continue
    yield `${first ? '' : ','}${JSON.stringify(key)}:`
    first = false
    yield* walk(item, splitAbove)
  }
  yield '}'
}

function hasNoJson(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol'
}

/**
 * Whether walking into `value` is worth it: it is a string of `splitAbove` characters or more, or
 * a plain object or array with one among its own fields or items, where crawl answers keep them
 * (a result's html, /md's markdown). Not searched deeper: that would walk every entry of a large
 * monitor answer (~0.2 ms for 1,000 requests, a quarter of their JSON.stringify) to find nothing.
 * Values with toJSON are left to JSON.stringify.
 */
export function holdsLargeString(value: unknown, splitAbove: number = SPLIT_STRINGS_ABOVE): boolean {
  if (typeof value === 'string') return value.length >= splitAbove
  if (value === null || typeof value !== 'object') return false
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false
  const items: unknown[] = Array.isArray(value) ? value : Object.values(value)
  return items.some((item) => typeof item === 'string' && item.length >= splitAbove)
}

/**
 * jsonPieces with `before` and `after` gathered with the small pieces next to them: an ordinary
 * value, or a cache hit below the split size, is then still one write, as it was before answers
 * came in pieces.
 */
export function* framedJsonPieces(before: string, value: unknown, after: string, splitAbove = SPLIT_STRINGS_ABOVE): Generator<JsonPiece> {
  let any = false
  for (const piece of gather(framed(before, walk(value, splitAbove), after), splitAbove)) {
    any = true
    yield piece
  }
  // A value with no JSON (undefined) still gets its frame, even an empty one.
  if (!any) yield before + after
}

function* framed(before: string, pieces: Iterable<JsonPiece>, after: string): Generator<JsonPiece> {
  yield before
  yield* pieces
  yield after
}

export function* framedJsonChunks(before: string, value: unknown, after: string, splitAbove = SPLIT_STRINGS_ABOVE): Generator<string> {
  for (const piece of framedJsonPieces(before, value, after, splitAbove)) yield asText(piece)
}
