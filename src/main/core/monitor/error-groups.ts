/**
 * Groups errors by shape: the same message with different URLs, numbers, ids or quoted
 * values is one group. Bounded: past `maxGroups` the least recently seen group is dropped.
 */
import type { ErrorGroupView as ErrorGroup } from '../../../shared/monitor-types.js'
import { capText, MAX_ERROR_CHARS } from '../errors.js'

/**
 * How much of a message its shape is read from: messages are capped to this when they enter the
 * engine (errors.ts), so for them nothing changes, and a longer one cannot cost more.
 */
export const SHAPE_INPUT_CHARS = MAX_ERROR_CHARS

/**
 * The message with what varies between occurrences replaced by placeholders, cut to 300
 * characters. Every pattern is linear in the text: the scheme of a URL is at most 32 characters
 * (an unbounded one made an 80 K-character message of dotted words cost 1.5 s: each word
 * boundary began a scan to the end of the text), and only SHAPE_INPUT_CHARS are read at all.
 */
export function errorShape(message: string): string {
  return message
    .slice(0, SHAPE_INPUT_CHARS)
    .replace(/\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s"'<>)]+/gi, '<url>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/"[^"]*"|'[^']*'/g, '<str>')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300)
}

export class ErrorGroups {
  private readonly groups = new Map<string, ErrorGroup>()

  constructor(private readonly maxGroups = 200) {}

  add(text: string, endpoint: string, at: number): void {
    // The example is kept and sent to every dashboard: never more than an engine error can be.
    const message = capText(text)
    const signature = errorShape(message)
    const existing = this.groups.get(signature)
    if (existing) {
      existing.count++
      existing.last_seen = at
      existing.example = message
      if (!existing.endpoints.includes(endpoint) && existing.endpoints.length < 20) existing.endpoints.push(endpoint)
      // Map order doubles as recency order: re-insert so the oldest is first to evict.
      this.groups.delete(signature)
      this.groups.set(signature, existing)
      return
    }
    this.groups.set(signature, { signature, example: message, endpoints: [endpoint], count: 1, first_seen: at, last_seen: at })
    if (this.groups.size > this.maxGroups) {
      const oldest = this.groups.keys().next().value
      if (oldest !== undefined) this.groups.delete(oldest)
    }
  }

  /** Most frequent first. */
  list(): ErrorGroup[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count || b.last_seen - a.last_seen).map((g) => ({ ...g, endpoints: [...g.endpoints] }))
  }

  load(groups: ErrorGroup[]): void {
    this.groups.clear()
    // Stored examples may predate the cap.
    for (const g of [...groups].sort((a, b) => a.last_seen - b.last_seen).slice(-this.maxGroups))
      this.groups.set(g.signature, { ...g, example: typeof g.example === 'string' ? capText(g.example) : g.example, endpoints: [...g.endpoints] })
  }

  clear(): void {
    this.groups.clear()
  }
}
