import { describe, expect, it } from 'vitest'
import { capText, CrawlFailedError, firstLine, MAX_ERROR_CHARS, ValidationError } from '../src/main/core/errors.js'
import { ErrorGroups, errorShape, SHAPE_INPUT_CHARS } from '../src/main/core/monitor/error-groups.js'

/*
 * Error text is the page's to choose (what its scripts throw, what a sabotaged DOM method says),
 * so it is cut to MAX_ERROR_CHARS where it enters the engine, and what reads it (the error
 * groups' shape) reads a bounded start of it. The whole path, from a real page to the answer and
 * the monitor, is in tests/page-content-bounds.test.ts.
 */

const TWENTY_MB = 20 * 1024 * 1024
/** Where the cut marker begins, and how many characters it says were cut. */
function marker(text: string): { at: number; cut: number } {
  const m = / … \[(\d+) more characters cut\]$/.exec(text)
  expect(m, text.slice(-80)).not.toBeNull()
  return { at: text.lastIndexOf(' … ['), cut: Number(m?.[1]) }
}

describe('capText and firstLine', () => {
  it('keep short text as it is, and cut long text to MAX_ERROR_CHARS with a marker counting the rest', () => {
    expect(capText('short')).toBe('short')
    expect(capText('x'.repeat(MAX_ERROR_CHARS))).toBe('x'.repeat(MAX_ERROR_CHARS))
    const cut = capText('x'.repeat(TWENTY_MB))
    expect(cut.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
    const { at, cut: count } = marker(cut)
    expect(at + count).toBe(TWENTY_MB)
    expect(cut.slice(0, at)).toBe('x'.repeat(at))
  })

  it('never keep half of a surrogate pair', () => {
    // Whatever the marker's length, some cut of this falls between the two halves of a pair.
    for (let shift = 0; shift < 2; shift++) {
      const cut = capText('y'.repeat(shift) + '😀'.repeat(MAX_ERROR_CHARS))
      const kept = cut.slice(0, marker(cut).at)
      // A lone high surrogate at the end would not survive a round trip through UTF-8.
      expect(Buffer.from(kept, 'utf8').toString('utf8')).toBe(kept)
    }
  })

  it('firstLine reads the first non-empty line of a 20 MB message, cut, without splitting the rest', () => {
    const line = firstLine(new Error(`\n \n  ${'z'.repeat(TWENTY_MB)}\nsecond line`))
    expect(line.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
    const { at, cut } = marker(line)
    expect(at + cut).toBe(TWENTY_MB)
    expect(firstLine('\n  one  \ntwo')).toBe('one')
    expect(firstLine('\n \n')).toBe('')
    // Room left for words put before it.
    expect(firstLine('w'.repeat(TWENTY_MB), 100).length).toBeLessThanOrEqual(100)
  })

  it('every engine error is cut where it is made, its details too', () => {
    expect(new CrawlFailedError('p'.repeat(TWENTY_MB)).message.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
    const invalid = new ValidationError('q'.repeat(TWENTY_MB), [{ path: 'crawler_config.css_selector', message: 'q'.repeat(TWENTY_MB) }])
    expect(invalid.message.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
    expect((invalid.details as Array<{ message: string }>)[0]!.message.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
  })
})

describe('errorShape', () => {
  it('reads only the first SHAPE_INPUT_CHARS of a message: nothing after them changes its shape', () => {
    // An unclosed quote: closing it further on would have made the whole of it one <str>.
    const head = '"' + 'a'.repeat(SHAPE_INPUT_CHARS)
    expect(errorShape(head + '" and more')).toBe(errorShape(head))
    const dotted = 'a.'.repeat(2 * 1024 * 1024)
    expect(errorShape(dotted + ' https://example.test/')).toBe(errorShape(dotted.slice(0, SHAPE_INPUT_CHARS)))
  })

  it('shapes 80 K and 4 M characters of dotted words in well under a second (each word boundary began a scan to the end: 3 s for 80 K)', () => {
    for (const message of ['a.'.repeat(40 * 1024), 'a.'.repeat(2 * 1024 * 1024), 'a-'.repeat(40 * 1024), `x${'a+'.repeat(40 * 1024)}://`]) {
      const started = performance.now()
      errorShape(message)
      expect(performance.now() - started).toBeLessThan(1000)
    }
  })

  it('still groups messages by shape: URLs, ids, hex, quoted values and numbers', () => {
    expect(errorShape('GET https://a.test/x?y=1 failed after 30000 ms')).toBe(errorShape('GET http://b.test/ failed after 12 ms'))
    expect(errorShape('request 3f2b1c9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f: "quoted" or \'single\', hash deadbeefcafe1234')).toBe(
      'request <id>: <str> or <str>, hash <hex>',
    )
    expect(errorShape('chrome-extension://abcdefghijklmnopqrstuvwxyzabcdef/x broke')).toBe('<url> broke')
  })
})

describe('ErrorGroups', () => {
  it('keeps at most MAX_ERROR_CHARS of an example, added or loaded from a store written before the cap', () => {
    const groups = new ErrorGroups()
    groups.add('r'.repeat(TWENTY_MB), '/md', 1)
    const [added] = groups.list()
    expect(added!.example.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
    expect(added!.signature.length).toBeLessThanOrEqual(300)
    groups.load([{ signature: 'stored', example: 's'.repeat(TWENTY_MB), endpoints: ['/crawl'], count: 3, first_seen: 1, last_seen: 2 }])
    expect(groups.list()[0]!.example.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
  })
})
