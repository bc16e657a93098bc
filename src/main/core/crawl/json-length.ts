/*
 * How large js_code's results are as JSON, measured without encoding them: a page decides their
 * size, like that of every other field of a result.
 */

/**
 * About how many characters `value` (what js_code returned, as Playwright hands it over) takes
 * as JSON, counted only until the count passes `cap`: the page decides how large it is, so it is
 * walked, never encoded whole. Strings count their length and quotes, other values a few
 * characters each; shared and circular references once.
 */
export function jsonLengthUpTo(value: unknown, cap: number): number {
  let length = 0
  const seen = new Set<object>()
  // Lists still to walk, and where in each: no copy of a large array, no deep recursion.
  const work: Array<{ items: unknown[]; next: number }> = [{ items: [value], next: 0 }]
  while (work.length > 0 && length <= cap) {
    const top = work[work.length - 1]!
    if (top.next >= top.items.length) {
      work.pop()
      continue
    }
    const item = top.items[top.next++]
    length += 1 // the comma or colon before it
    if (typeof item === 'string') length += item.length + 2
    else if (item === null || typeof item !== 'object') length += 8
    else if (!seen.has(item)) {
      seen.add(item)
      length += 2
      if (Array.isArray(item)) work.push({ items: item, next: 0 })
      else {
        const keys = Object.keys(item)
        for (const key of keys) {
          length += key.length + 2
          if (length > cap) return length
        }
        work.push({ items: keys.map((key) => (item as Record<string, unknown>)[key]), next: 0 })
      }
    }
  }
  return length
}
