import { describe, expect, it } from 'vitest'
import { framedJsonChunks, holdsLargeString, jsonChunks } from '../src/main/http/json-chunks.js'

const pieces = (value: unknown, splitAbove?: number) => [...jsonChunks(value, splitAbove)]

describe('jsonChunks: JSON text in pieces', () => {
  const values: unknown[] = [
    null,
    true,
    0,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    12.5,
    '',
    'a "quoted" line\nwith\ttabs, \u0000 and “unicode” 😀 and a lone \ud800',
    [],
    {},
    [1, undefined, () => 1, Symbol('s'), 'text', null, [2, [3]]],
    { a: 1, skip: undefined, fn: () => 1, nested: { b: [true, { c: 'deep string' }], d: null }, 'key "quoted"': 'v' },
    { when: new Date(0), custom: { toJSON: () => ({ replaced: 'by toJSON' }) } },
    { results: [{ url: 'http://x/', html: '<p>page</p>'.repeat(20), markdown: 'text '.repeat(30), links: { internal: [{ href: 'http://x/a', text: 'a' }] } }] },
  ]

  it.each(values.map((v, i) => [i, v]))('value %i: the pieces joined are exactly JSON.stringify, walked or not', (_, value) => {
    expect(pieces(value, 4).join('')).toBe(JSON.stringify(value))
    expect(pieces(value).join('')).toBe(JSON.stringify(value))
  })

  it('a value with no large string is one piece: JSON.stringify itself', () => {
    const result = { url: 'http://x/', html: 'x'.repeat(1000), links: [{ href: 'h', text: 't' }] }
    expect(holdsLargeString(result, 2000)).toBe(false)
    expect(pieces(result, 2000)).toEqual([JSON.stringify(result)])
    // undefined has no JSON text: no piece at all, as JSON.stringify gives undefined.
    expect(pieces(undefined)).toEqual([])
  })

  it("a large string among a value's own fields is a piece of its own, and no piece is longer than it", () => {
    const big = 'y'.repeat(100)
    const result = { url: 'http://x/', html: big, small: 'x'.repeat(10), markdown: big, media: { images: [{ src: 's', alt: 'a' }] } }
    const out = pieces(result, 50)
    expect(out.filter((p) => p === JSON.stringify(big))).toHaveLength(2)
    expect(Math.max(...out.map((p) => p.length))).toBe(JSON.stringify(big).length)
    expect(out.join('')).toBe(JSON.stringify(result))
    // Searched one level only: entries of a long list are not walked into.
    const listing = { requests: [{ url: big }], total: 1 }
    expect(holdsLargeString(listing, 50)).toBe(false)
    expect(pieces(listing, 50)).toEqual([JSON.stringify(listing)])
    // Small pieces between the large strings go out together.
    expect(pieces([big, 1], 50)).toEqual(['[', JSON.stringify(big), ',1]'])
    expect(out).toEqual([
      '{"url":"http://x/","html":',
      JSON.stringify(big),
      `,"small":"${'x'.repeat(10)}","markdown":`,
      JSON.stringify(big),
      ',"media":{"images":[{"src":"s","alt":"a"}]}}',
    ])
  })

  it('framed: before joins the first piece and after the last, so an ordinary value is one write', () => {
    expect([...framedJsonChunks('{"results":[', { a: 1 }, '')]).toEqual(['{"results":[{"a":1}'])
    expect([...framedJsonChunks('', { a: 1 }, '\n')]).toEqual(['{"a":1}\n'])
    const framed = [...framedJsonChunks(',', { a: 'z'.repeat(60), b: 2 }, '\n', 50)]
    expect(framed.length).toBeGreaterThan(1)
    expect(framed[0]!.startsWith(',{')).toBe(true)
    expect(framed.at(-1)!.endsWith('}\n')).toBe(true)
    expect(framed.join('')).toBe(`,${JSON.stringify({ a: 'z'.repeat(60), b: 2 })}\n`)
  })

  it("encodes a result larger than V8's longest string, which JSON.stringify cannot", () => {
    // Two fields of 300 M characters: 600 M in all, past 2^29 - 24 (~536.9 M).
    const field = 'x'.repeat(300_000_000)
    const result = { url: 'http://x/', html: field, cleaned_html: field, success: true }
    expect(() => JSON.stringify(result)).toThrow(RangeError)
    let total = 0
    let longest = 0
    for (const piece of jsonChunks(result)) {
      total += piece.length
      longest = Math.max(longest, piece.length)
    }
    expect(total).toBe(600_000_000 + '{"url":"http://x/","html":"","cleaned_html":"","success":true}'.length)
    expect(longest).toBe(300_000_002)
  })
})
