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
 */
export const SPLIT_STRINGS_ABOVE = 1024 * 1024

export function* jsonChunks(value: unknown, splitAbove: number = SPLIT_STRINGS_ABOVE): Generator<string> {
  // The walk's small pieces (punctuation, keys, small fields) go out together: one write each
  // between the large strings, not one per key.
  let small = ''
  for (const piece of walk(value, splitAbove)) {
    if (piece.length < splitAbove) {
      small += piece
      continue
    }
    if (small) yield small
    small = ''
    yield piece
  }
  if (small) yield small
}

function* walk(value: unknown, splitAbove: number): Generator<string> {
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
 * jsonChunks with `before` joined to the first piece and `after` to the last: an ordinary value
 * is then still one write, as it was before answers came in pieces.
 */
export function* framedJsonChunks(before: string, value: unknown, after: string, splitAbove = SPLIT_STRINGS_ABOVE): Generator<string> {
  let held: string | null = null
  for (const piece of jsonChunks(value, splitAbove)) {
    if (held !== null) yield held
    held = held === null ? before + piece : piece
  }
  yield (held ?? before) + after
}
