/*
 * The extraction strategy's page function: a JsonCss / JsonXPath schema read from the page's own
 * DOM, or regex patterns run over its text, inside the page (extraction-strategy.ts sends it).
 */

/** A schema field as the page function reads it: checked, its selectors made ready, its pattern compiled once. */
export interface PageField {
  name: string
  /** Where it came from in the request (`fields.2.fields.0`), for the error of a selector that does not parse. */
  at: string
  kind: 'simple' | 'nested' | 'nested_list' | 'list' | 'computed'
  /** The steps of a simple field (one, or a pipeline). */
  steps: string[]
  /** CSS (":scope" added before a leading combinator) or XPath relative to the item; null: the item itself. */
  selector: string | null
  attribute: string | null
  pattern: { source: string; flags: string } | null
  /** This field's place among the schema's fields, where the page keeps its compiled pattern. */
  slot: number
  group: number
  transform: 'lowercase' | 'uppercase' | 'strip' | null
  hasDefault: boolean
  default: unknown
  /** About how many characters the default takes as JSON: it counts against maxChars each time it is used. */
  defaultCost: number
  fields: PageField[]
  /** The selector of `source: "+ selector"`: the item's next sibling that matches it. */
  sibling: string | null
}

export interface StrategyPageArgs {
  kind: 'css' | 'xpath' | 'regex'
  baseSelector: string
  baseFields: PageField[]
  fields: PageField[]
  /** regex: the patterns, by their position (the labels stay in Node). */
  patterns: Array<{ source: string; flags: string }>
  /** regex: search the page's visible text, or its HTML. */
  input: 'text' | 'html'
  maxRecords: number
  maxChars: number
  maxErrorChars: number
}

/** What the page function answers with. */
export type StrategyPageResult =
  | { error: 'selector'; at: string; message: string }
  | { error: 'too_large'; chars: number }
  | { records: unknown[]; truncated: boolean }
  | { matches: Array<[number, string, number, number]>; truncated: boolean }

/**
 * Runs inside the page: serialized with toString(), so it references nothing of this module. The
 * page's own script ran first and may have replaced any global; the DOM methods and getters are
 * taken from the prototypes once, at the start, and every value kept is checked to be a string,
 * so a page that replaced them changes only what its own records say. Records are objects without
 * a prototype: a setter a page put on Object.prototype never sees them. Bounded in records
 * (maxRecords) and characters (maxChars); the caller's deadline bounds the time (a pattern
 * that backtracks forever among them).
 */
export function pageStrategy(args: StrategyPageArgs): StrategyPageResult {
  const getter = (proto: object, name: string): ((this: unknown) => unknown) => {
    const d = Object.getOwnPropertyDescriptor(proto, name)
    return (d && d.get) as (this: unknown) => unknown
  }
  const N = Node.prototype
  const E = Element.prototype
  const D = Document.prototype
  const nodeTypeOf = getter(N, 'nodeType')
  const firstChildOf = getter(N, 'firstChild')
  const nextSiblingOf = getter(N, 'nextSibling')
  const parentOf = getter(N, 'parentNode')
  const nodeValueOf = getter(N, 'nodeValue')
  const textContentOf = getter(N, 'textContent')
  const localNameOf = getter(E, 'localName')
  const outerHTMLOf = getter(E, 'outerHTML')
  const nextElementOf = getter(E, 'nextElementSibling')
  const innerTextOf = getter(HTMLElement.prototype, 'innerText')
  const bodyOf = getter(D, 'body')
  const rootOf = getter(D, 'documentElement')
  const listLength = getter(NodeList.prototype, 'length')
  const listItem = NodeList.prototype.item
  const querySelector = E.querySelector
  const querySelectorAll = E.querySelectorAll
  const docQuerySelectorAll = D.querySelectorAll
  const matches = E.matches
  const getAttribute = E.getAttribute
  const evaluate = D.evaluate
  const createExpression = D.createExpression
  const snapshotLength = getter(XPathResult.prototype, 'snapshotLength')
  const snapshotItem = XPathResult.prototype.snapshotItem
  const fragmentQuery = DocumentFragment.prototype.querySelector
  const doc = document
  const fragment = D.createDocumentFragment.call(doc)
  const probe = (D.createElement as (this: Document, tag: string) => Element).call(doc, 'div')
  const xpath = args.kind === 'xpath'

  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
  const isElement = (n: unknown): n is Element => n !== null && typeof n === 'object' && nodeTypeOf.call(n) === 1

  // ---- budgets: records and characters --------------------------------------------------------
  const FULL = { full: true }
  const BIG = { big: true }
  let records = 0
  let chars = 0
  const spend = (n: number) => {
    chars += n
    if (chars > args.maxChars) throw BIG
  }
  const newRecord = (): Record<string, unknown> => {
    if (++records > args.maxRecords) throw FULL
    spend(2)
    return { __proto__: null } as unknown as Record<string, unknown>
  }

  // ---- selectors: checked once, before any item is read ---------------------------------------
  const errorText = (err: unknown): string => {
    const m = err && typeof (err as Error).message === 'string' ? (err as Error).message : String(err)
    let kept = ''
    for (let i = 0; i < m.length && i < args.maxErrorChars; i++) kept += m[i]
    return kept
  }
  const checkSelector = (sel: string): void => {
    if (xpath) createExpression.call(doc, sel, null)
    else fragmentQuery.call(fragment, sel)
  }
  /** A sibling selector is CSS ("+ tr.subtext") for both strategies; an XPath one is taken too when the XPath strategy's. */
  const siblingIsCss = (sel: string): boolean => {
    try {
      matches.call(probe, sel)
      return true
    } catch (err) {
      if (!xpath) throw err
      createExpression.call(doc, 'following-sibling::' + sel, null)
      return false
    }
  }
  const siblingCss: Record<string, boolean> = { __proto__: null } as unknown as Record<string, boolean>
  const check = (fields: PageField[]): { at: string; message: string } | null => {
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!
      try {
        if (f.selector !== null) checkSelector(f.selector)
      } catch (err) {
        return { at: f.at + '.selector', message: errorText(err) }
      }
      try {
        if (f.sibling !== null) siblingCss[f.sibling] = siblingIsCss(f.sibling)
      } catch (err) {
        return { at: f.at + '.source', message: errorText(err) }
      }
      const inner = check(f.fields)
      if (inner !== null) return inner
    }
    return null
  }

  // ---- reading nodes ----------------------------------------------------------------------------
  /** Nodes matching `sel` under `ctx` (all, or the first), in document order. */
  const select = (ctx: Node, sel: string, all: boolean): Node[] => {
    const out: Node[] = []
    if (xpath) {
      let result: XPathResult
      try {
        result = evaluate.call(doc, sel, ctx, null, 7, null) as XPathResult
      } catch {
        // Not a node-set (count(), a string): no match, as Crawl4AI's field then gets its default.
        return out
      }
      const n = snapshotLength.call(result) as number
      for (let i = 0; i < n; i++) {
        const node = snapshotItem.call(result, i)
        if (node !== null && typeof node === 'object') out[out.length] = node
        if (!all) break
      }
      return out
    }
    if (!all) {
      const one = querySelector.call(ctx as Element, sel)
      if (isElement(one)) out[0] = one
      return out
    }
    const list = (nodeTypeOf.call(ctx) === 9 ? docQuerySelectorAll.call(ctx as Document, sel) : querySelectorAll.call(ctx as Element, sel)) as NodeList
    const n = listLength.call(list) as number
    for (let i = 0; i < n; i++) {
      const el = listItem.call(list, i)
      if (isElement(el)) out[out.length] = el
    }
    return out
  }

  /**
   * An element's text. CSS: its text nodes outside <script>, <style> and <template>, whitespace
   * collapsed to single spaces (BeautifulSoup's get_text(strip=True) glues words together).
   * XPath: all its text, trimmed, as lxml's "".join(.//text()).strip().
   */
  const textOf = (node: Node): string | null => {
    if (!isElement(node)) return str(nodeValueOf.call(node))
    if (xpath) {
      const t = str(textContentOf.call(node))
      return t === null ? null : t.trim()
    }
    let out = ''
    let cur: Node | null = firstChildOf.call(node) as Node | null
    while (cur !== null) {
      const type = nodeTypeOf.call(cur)
      let descend = false
      if (type === 3 || type === 4) {
        const v = str(nodeValueOf.call(cur))
        if (v !== null) out += v
      } else if (type === 1) {
        const tag = localNameOf.call(cur)
        descend = tag !== 'script' && tag !== 'style' && tag !== 'template'
      }
      const child = descend ? (firstChildOf.call(cur) as Node | null) : null
      if (child !== null) {
        cur = child
        continue
      }
      // Up until a node with a next sibling, never above `node`.
      while (cur !== null && cur !== node) {
        const next = nextSiblingOf.call(cur) as Node | null
        if (next !== null) {
          cur = next
          break
        }
        cur = parentOf.call(cur) as Node | null
      }
      if (cur === node) break
    }
    return out.replace(/\s+/g, ' ').trim()
  }

  // Each field's pattern, compiled on first use, by the field's slot.
  const regexes: Array<RegExp | null> = []
  const regexOf = (f: PageField): RegExp | null => {
    if (f.pattern === null) return null
    if (regexes[f.slot] === undefined) regexes[f.slot] = new RegExp(f.pattern.source, f.pattern.flags)
    return regexes[f.slot]!
  }

  /** The next sibling of `el` that matches the field's source selector, or null. */
  const siblingOf = (el: Node, sel: string): Node | null => {
    if (!isElement(el)) return null
    if (siblingCss[sel] === false) {
      const found = select(el, 'following-sibling::' + sel, false)
      return found.length > 0 ? found[0]! : null
    }
    let cur = nextElementOf.call(el) as Element | null
    while (cur !== null) {
      if (matches.call(cur, sel)) return cur
      cur = nextElementOf.call(cur) as Element | null
    }
    return null
  }

  /** A simple field's value: its steps in order, each on what the one before gave. */
  const simpleValue = (target: Node, f: PageField): string | null => {
    let value: Node | string | null = target
    for (let i = 0; i < f.steps.length && value !== null; i++) {
      const step = f.steps[i]
      if (step === 'text') value = typeof value === 'string' ? value : textOf(value)
      else if (step === 'attribute') value = typeof value !== 'string' && isElement(value) ? str(getAttribute.call(value, f.attribute!)) : null
      else if (step === 'html') value = typeof value !== 'string' && isElement(value) ? str(outerHTMLOf.call(value)) : null
      else if (step === 'regex') {
        const text: string | null = typeof value === 'string' ? value : textOf(value)
        const re = regexOf(f)
        if (text === null || re === null) value = null
        else {
          re.lastIndex = 0
          const m = re.exec(text)
          value = m === null ? null : str(m[f.group])
        }
      }
    }
    if (typeof value !== 'string') return null
    if (f.transform === 'lowercase') value = value.toLowerCase()
    else if (f.transform === 'uppercase') value = value.toUpperCase()
    else if (f.transform === 'strip') value = value.trim()
    return typeof value === 'string' ? value : null
  }

  /** A field's value: undefined when missing (the key is left out), its default when it has one. */
  const fieldValue = (el: Node, f: PageField, simpleOnly: boolean): unknown => {
    const missing = (): unknown => {
      if (!f.hasDefault || f.default === null) return undefined
      spend(f.defaultCost)
      return f.default
    }
    // computed: Crawl4AI no longer evaluates expressions; a callable cannot come in JSON.
    if (f.kind === 'computed') return missing()
    // Inside a `list` only simple fields are read, as Crawl4AI's _extract_list_item.
    if (simpleOnly && f.kind !== 'simple') return missing()
    const ctx = f.sibling === null ? el : siblingOf(el, f.sibling)
    if (ctx === null) return missing()
    if (f.kind === 'nested') {
      const target = f.selector === null ? [ctx] : select(ctx, f.selector, false)
      return target.length > 0 ? item(target[0]!, f.fields, false) : newRecord()
    }
    if (f.kind === 'list' || f.kind === 'nested_list') {
      const all = f.selector === null ? [ctx] : select(ctx, f.selector, true)
      const out: unknown[] = []
      spend(2)
      for (let i = 0; i < all.length; i++) out[out.length] = item(all[i]!, f.fields, f.kind === 'list')
      return out
    }
    const target = f.selector === null ? [ctx] : select(ctx, f.selector, false)
    if (target.length === 0) return missing()
    const value = simpleValue(target[0]!, f)
    if (value === null) return missing()
    spend(value.length + 2)
    return value
  }

  /** One object from `fields`: each value found (or defaulted) under its name. */
  const item = (el: Node, fields: PageField[], simpleOnly: boolean): Record<string, unknown> => {
    const out = newRecord()
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!
      const value = fieldValue(el, f, simpleOnly)
      if (value === undefined) continue
      spend(f.name.length + 4)
      out[f.name] = value
    }
    return out
  }

  // ---- regex patterns over the page's text --------------------------------------------------
  if (args.kind === 'regex') {
    const root = rootOf.call(doc) as Element | null
    const body = bodyOf.call(doc) as HTMLElement | null
    const text = args.input === 'html' ? (root ? str(outerHTMLOf.call(root)) : '') : body ? str(innerTextOf.call(body)) : ''
    const found: Array<[number, string, number, number]> = []
    if (text === null) return { matches: found, truncated: false }
    try {
      for (let p = 0; p < args.patterns.length; p++) {
        const flags = args.patterns[p]!.flags.replace(/[gy]/g, '') + 'g'
        const re = new RegExp(args.patterns[p]!.source, flags)
        // Spans in code points, as Python's: a character outside the BMP is one, not two.
        let unit = 0
        let point = 0
        const pointAt = (to: number): number => {
          for (; unit < to; unit++) {
            const c = text.charCodeAt(unit)
            if (c >= 0xd800 && c <= 0xdbff && unit + 1 < to) {
              const d = text.charCodeAt(unit + 1)
              if (d >= 0xdc00 && d <= 0xdfff) unit++
            }
            point++
          }
          return point
        }
        let m: RegExpExecArray | null
        while ((m = re.exec(text)) !== null) {
          const value = str(m[0])
          if (value === null) break
          if (value.length === 0) {
            re.lastIndex++
            continue
          }
          if (++records > args.maxRecords) throw FULL
          spend(value.length + 40)
          const start = pointAt(m.index)
          const end = pointAt(m.index + value.length)
          found[found.length] = [p, value, start, end]
        }
      }
    } catch (err) {
      if (err === FULL) return { matches: found, truncated: true }
      if (err === BIG) return { error: 'too_large', chars }
      throw err
    }
    return { matches: found, truncated: false }
  }

  // ---- a schema over the page's DOM ---------------------------------------------------------
  try {
    checkSelector(args.baseSelector)
  } catch (err) {
    return { error: 'selector', at: 'baseSelector', message: errorText(err) }
  }
  const bad = check(args.baseFields) ?? check(args.fields)
  if (bad !== null) return { error: 'selector', ...bad }
  const bases = select(doc, args.baseSelector, true)
  const out: unknown[] = []
  try {
    for (let i = 0; i < bases.length; i++) {
      const el = bases[i]!
      // Base items are elements: an XPath that selects text or attributes gives none.
      if (!isElement(el)) continue
      const before = { records, chars }
      const record = item(el, args.baseFields, false)
      const rest = item(el, args.fields, false)
      records--
      for (const key in rest) record[key] = rest[key]
      let any = false
      for (const _ in record) {
        any = true
        break
      }
      // Crawl4AI keeps an item only when some value was found.
      if (any) out[out.length] = record
      else ({ records, chars } = before)
    }
  } catch (err) {
    if (err === FULL) return { records: out, truncated: true }
    if (err === BIG) return { error: 'too_large', chars }
    throw err
  }
  return { records: out, truncated: false }
}
