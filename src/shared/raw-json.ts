/*
 * A JSON object that is already text, with a few fields set in front of it. A result served from
 * the cache arrives as the JSON it was stored as; decoding it only for the HTTP door to encode it
 * again was most of a large hit's time. The HTTP door writes `front` and then the text as they
 * are; a consumer that needs the object (the IPC door, /md's Markdown, a test) calls value(),
 * which parses once.
 *
 * Parsed, the object is `{...front, ...text's fields}`: the text never holds a front field (the
 * producer leaves them out of what it stores), so the order of keys is the only difference
 * between writing it this way and JSON.stringify(value()).
 */

export class RawJson<T extends object> {
  private parsed: T | null = null

  /**
   * @param front Fields written before the text's own, none of them in the text.
   * @param text The JSON text of an object, as UTF-8 bytes or a string.
   * @param known Fields of the text the producer knows, so a reader need not parse it for them.
   */
  constructor(
    readonly front: Readonly<Partial<T>>,
    readonly text: Uint8Array | string,
    private readonly known: Readonly<Partial<T>> = {} as Partial<T>,
  ) {}

  /** The same text with `fields` set in front (replacing front fields of the same name). */
  with<E extends object>(fields: E): RawJson<T & E> {
    return new RawJson<T & E>({ ...this.front, ...fields } as Partial<T & E>, this.text, this.known as Partial<T & E>)
  }

  /** One field, without parsing the text when the front or the producer already has it. */
  field<K extends keyof T>(name: K): T[K] {
    if (Object.hasOwn(this.front, name)) return this.front[name] as T[K]
    if (Object.hasOwn(this.known, name)) return this.known[name] as T[K]
    return this.value()[name]
  }

  /** The object, parsed on first use. */
  value(): T {
    this.parsed ??= { ...this.front, ...(JSON.parse(typeof this.text === 'string' ? this.text : new TextDecoder().decode(this.text)) as object) } as T
    return this.parsed
  }

  /** What JSON.stringify and structured copies of plain data should see: the object. */
  toJSON(): T {
    return this.value()
  }

  /**
   * The JSON text in pieces, joined exactly: the front fields' JSON, then the stored text after
   * its opening brace (bytes or a string, as held).
   */
  *pieces(): Generator<string | Uint8Array> {
    const front = JSON.stringify(this.front)
    if (front === '{}') {
      yield this.text
      return
    }
    const body = this.text
    const empty = typeof body === 'string' ? body === '{}' : body.length === 2
    if (empty) {
      yield front
      return
    }
    yield `${front.slice(0, -1)},`
    yield typeof body === 'string' ? body.slice(1) : body.subarray(1)
  }
}

/** `item` as a plain object: a RawJson parsed, anything else as it is (for doors that cannot write text). */
export function plainJson<T>(item: T | RawJson<T & object>): T {
  return item instanceof RawJson ? (item.value() as T) : item
}
