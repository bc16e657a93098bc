/*
 * The extraction's wire: the one string the page function answers with, how it is made small
 * (deflated in the page, inflated here) and how it is read back into a result, measured first.
 */
import { promisify } from 'node:util'
import { inflateRaw } from 'node:zlib'
import type { MediaItem, PageLink, PageMetadata } from '../../../shared/crawl-result.js'
import { CaptureTooLargeError, capText, InvalidSelectorError, MAX_ERROR_CHARS } from '../errors.js'

/** What an extraction gives a crawl result. */
export interface Extracted {
  html: string
  cleaned_html: string
  links: { internal: PageLink[]; external: PageLink[] }
  media: { images: MediaItem[]; videos: MediaItem[]; audios: MediaItem[] }
  metadata: PageMetadata
}

/**
 * What crosses the wire is ONE string. Playwright serializes returned objects one by one in the
 * page (a cost per object, which thousands of links multiply) and its serializer relies on page
 * globals such as Array.prototype.push, which hostile pages replace. A single string avoids both.
 *
 *   'E' + which + length + ':' + error message      a selector did not parse (the message's first
 *                                                   maxErrorChars); which: '' css_selector, 'x'
 *                                                   excluded_selector, 't' + index + ',' target_elements
 *   'L' + length                                    the html (cleaned html when cleanedOnly) is
 *                                                   longer than maxChars
 *   'T' + length so far                             html and the fields built after it came to
 *                                                   more than maxChars (the rest is not built)
 *   'X' + length + ':' + text                       the page function threw (a page replaced what
 *                                                   it uses): the first non-empty line of what it
 *                                                   threw, its length and its first maxErrorChars
 *   'K' + len,len,...;  + the fields back to back   success, fields in WIRE_FIELDS order
 *   'Z' + base64                                    a 'K' wire of DEFLATE_WIRE_ABOVE characters or
 *                                                   more: its UTF-8, raw-deflated (pageDeflate)
 *
 * Nullable fields are '' for null and '=' + value otherwise. Inside the links, images and
 * social fields, records are separated by U+0001 and fields by U+0000: neither can occur in a
 * serialized http(s)/data URL, and texts have control characters replaced by spaces in the page.
 */
const WIRE_FIELDS = [
  'html',
  'cleaned',
  'links', // kind ('i' | 'e') \0 href \0 text \0 title
  'media', // type ('i' | 'v' | 'a') \0 src \0 alt \0 desc \0 width ('' when unstated) \0 score
  'title',
  'description',
  'keywords',
  'author',
  'language',
  'canonical',
  'social', // key \0 value (og:*, twitter:*, article:*)
] as const

const FIELD = '\u0000'
const RECORD = '\u0001'

/**
 * Runs in the page on a finished 'K' wire: its UTF-8, raw-deflated by the browser's own zlib
 * (CompressionStream), base64'd for the string-only channel. Anything amiss (no
 * CompressionStream, a page that replaced what this uses) gives the wire back as it is; a page
 * that fakes a result instead is caught on our side, which then asks again undeflated.
 */
export async function pageDeflate(wire: string): Promise<string> {
  try {
    const stream = new CompressionStream('deflate-raw')
    const writer = stream.writable.getWriter()
    void writer.write(new TextEncoder().encode(wire))
    void writer.close()
    const bytes = new Uint8Array(await new Response(stream.readable).arrayBuffer())
    // A page that replaced these can hand back anything, and it would cross in full before our
    // side could refuse it. An honest deflate of the wire's UTF-8 (3 bytes a character at most)
    // is hardly larger than that, and base64 is exactly 4 characters per 3 bytes.
    if (bytes.length > 3 * wire.length + 1024) return wire
    let base64: unknown
    const toBase64 = (bytes as Uint8Array & { toBase64?: () => string }).toBase64
    if (typeof toBase64 === 'function') base64 = toBase64.call(bytes)
    else {
      let binary = ''
      for (let i = 0; i < bytes.length; i += 32768) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768) as unknown as number[])
      base64 = btoa(binary)
    }
    if (typeof base64 !== 'string' || base64.length !== 4 * Math.ceil(bytes.length / 3)) return wire
    return 'Z' + base64
  } catch {
    return wire
  }
}

/**
 * Runs in the page on what the page function threw: an 'X' wire. The page chose what that is (it
 * replaced a DOM method the function uses). Let through whole, a message of many megabytes costs
 * the renderer and CDP seconds to move and the service as much to parse on its event loop; a
 * larger one could exhaust it (docs/security.md, error text a page controls). Only the first
 * non-empty line's length and its first `max` characters cross, read a character at a time, since
 * the page may have replaced String's methods too.
 */
export function pageError(err: unknown, max: number): string {
  let text = 'an error that could not be read'
  try {
    const e = err as { name?: unknown; message?: unknown } | null
    const described =
      e !== null && typeof e === 'object' && typeof e.message === 'string' ? (typeof e.name === 'string' ? e.name : 'Error') + ': ' + e.message : '' + err
    if (typeof described === 'string') text = described
  } catch {
    // keep the placeholder
  }
  // The first line with anything but whitespace (control characters and spaces), trimmed.
  let start = 0
  let end = 0
  let first = -1
  let last = -1
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text[i] === '\n') {
      if (first >= 0) {
        start = first
        end = last + 1
        break
      }
    } else if (text[i]! > ' ') {
      if (first < 0) first = i
      last = i
    }
  }
  let kept = ''
  for (let i = start; i < end && i < start + max; i++) kept += text[i]
  return 'X' + (end - start) + ':' + kept
}

const inflateRawAsync = promisify(inflateRaw)

/** A 'K' wire's kind letter, field lengths and ';': eleven numbers of at most 16 digits. */
const WIRE_HEADER_CHARS = 1 + WIRE_FIELDS.length * 17 + 1

/** The longest wire an honest page function sends under the cap: its fields come to at most maxChars. */
function maxWireChars(maxChars: number): number {
  return maxChars + WIRE_HEADER_CHARS
}

/**
 * A 'Z' wire's text (a 'K' wire if the page was honest), or null when it does not inflate.
 * Inflated on libuv's threads, not the event loop, and never past what an honest wire of the page
 * could be (its fields at most maxChars characters together, at most 3 UTF-8 bytes each): a page
 * that sent a deflate bomb gets a refusal, not our memory; nor is a base64 text longer than such
 * a wire could deflate to decoded at all. (UTF-8 has no lone surrogates: one in the page's text
 * arrives as U+FFFD, the same length.)
 */
export async function inflateWire(wire: string, maxChars: number): Promise<string | null> {
  const maxOutputLength = Math.min(2 ** 30, 3 * maxWireChars(maxChars))
  // Deflate adds at most 5 bytes per 16 K block to data it cannot shrink; base64 is 4 per 3.
  if (wire.length > 1 + Math.ceil(((maxOutputLength * 1.001 + 1024) * 4) / 3)) return null
  try {
    return (await inflateRawAsync(Buffer.from(wire.slice(1), 'base64'), { maxOutputLength })).toString('utf8')
  } catch {
    return null
  }
}

/**
 * What the page sent, as a result or as the error it stands for. It is measured before it is
 * read: the page function stops at the cap, but a page that replaced its tools can send anything,
 * and that is not decoded, split or converted. `cssSelector` is what the page was asked to match,
 * for the error of one that does not parse.
 */
export function readWire(wire: unknown, maxChars: number, selectors: WireSelectors): Extracted {
  if (typeof wire !== 'string' || wire.length === 0) throw new Error('page extraction returned no result')
  if (wire.length > maxWireChars(maxChars)) throw new CaptureTooLargeError('extraction', wire.length, maxChars)
  if (wire[0] === 'E') {
    const which = /^E(x|t(\d{1,3}),)?\d/.exec(wire.slice(0, 8))
    const [name, value] =
      which?.[1] === 'x'
        ? ['excluded_selector', selectors.excludedSelector]
        : which?.[2] !== undefined
          ? [`target_elements[${which[2]}]`, selectors.targetElements?.[Number(which[2])] ?? null]
          : ['css_selector', selectors.cssSelector]
    throw new InvalidSelectorError(capText(`invalid ${name}: ${JSON.stringify(value)} (${sentText(wire, MAX_ERROR_CHARS / 2)})`))
  }
  if (wire[0] === 'L') throw new CaptureTooLargeError('HTML', Number(wire.slice(1)), maxChars)
  if (wire[0] === 'T') throw new CaptureTooLargeError('extraction', Number(wire.slice(1)), maxChars)
  if (wire[0] === 'X') {
    const what = 'page extraction failed: '
    throw new Error(what + sentText(wire, MAX_ERROR_CHARS - what.length))
  }
  return decodeWire(wire, maxChars)
}

/**
 * The text of an 'E' or 'X' wire cut to `max`, once, here: the marker counts from the length the
 * page reported, so it includes what the page did not send.
 */
function sentText(wire: string, max: number): string {
  const colon = wire.indexOf(':')
  // An 'E' wire's length follows the selector's name ('x', 't3,'): its digits end at the colon.
  const digits = /\d*$/.exec(wire.slice(1, colon))?.[0] ?? ''
  return capText(wire.slice(colon + 1), max, Number(digits))
}

/** The selectors the page was asked to use, for the error of one that does not parse. */
export interface WireSelectors {
  cssSelector: string | null
  excludedSelector?: string | null
  targetElements?: string[]
}

/** decodeWire, or null for a wire that does not decode (a forged deflated one): the caller asks again undeflated. */
export function decodeWireOrNull(wire: string, maxChars: number): Extracted | null {
  try {
    return decodeWire(wire, maxChars)
  } catch {
    return null
  }
}

/** The fields of a 'K' wire; capture_too_large, before anything is sliced, when they come to more than maxChars. */
function decodeWire(wire: string, maxChars: number): Extracted {
  // The header is short: a page's ';' further on is not looked for.
  const semi = wire.slice(0, WIRE_HEADER_CHARS).indexOf(';')
  const lengths = semi > 1 ? wire.slice(1, semi).split(',').map(Number) : []
  if (wire[0] !== 'K' || lengths.length !== WIRE_FIELDS.length || lengths.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error('page extraction returned a malformed result')
  }
  const total = lengths.reduce((sum, n) => sum + n, 0)
  if (total > maxChars) throw new CaptureTooLargeError('extraction', total, maxChars)
  const f: Record<(typeof WIRE_FIELDS)[number], string> = Object.create(null)
  let pos = semi + 1
  WIRE_FIELDS.forEach((name, i) => {
    const len = lengths[i]!
    f[name] = wire.slice(pos, pos + len)
    pos += len
  })
  if (pos !== wire.length) throw new Error('page extraction returned a malformed result')
  const nullable = (value: string): string | null => (value ? value.slice(1) : null)

  const internal: PageLink[] = []
  const external: PageLink[] = []
  if (f.links) {
    for (const record of f.links.split(RECORD)) {
      const parts = record.split(FIELD)
      if (parts.length !== 4) continue
      const href = parts[1]!
      const link: PageLink = {
        href,
        text: parts[2]!,
        title: parts[3]!,
        base_domain: baseDomain(href),
        head_data: null,
        head_extraction_status: null,
        head_extraction_error: null,
        intrinsic_score: null,
        contextual_score: null,
        total_score: null,
      }
      if (parts[0] === 'i') internal.push(link)
      else external.push(link)
    }
  }
  const media: Extracted['media'] = { images: [], videos: [], audios: [] }
  if (f.media) {
    for (const record of f.media.split(RECORD)) {
      const parts = record.split(FIELD)
      if (parts.length !== 6) continue
      const kind = parts[0] === 'v' ? 'video' : parts[0] === 'a' ? 'audio' : 'image'
      const list = kind === 'video' ? media.videos : kind === 'audio' ? media.audios : media.images
      const width = parts[4] ? Number(parts[4]) : null
      const src = parts[1]!
      list.push({
        src,
        data: '',
        alt: parts[2]!,
        desc: parts[3]!,
        score: Number(parts[5]) || 0,
        type: kind,
        group_id: list.length,
        format: mediaFormat(src),
        width: width !== null && Number.isFinite(width) ? width : null,
      })
    }
  }
  const social: Record<string, string> = {}
  const flat: Record<string, string> = {}
  if (f.social) {
    for (const record of f.social.split(RECORD)) {
      const parts = record.split(FIELD)
      if (parts.length !== 2 || !parts[0]) continue
      // og:* and twitter:* in `social` as before; Crawl4AI's flat keys (article:* too) at the top.
      if (!parts[0].startsWith('article:')) social[parts[0]] = parts[1]!
      flat[parts[0]] = parts[1]!
    }
  }
  return {
    html: f.html,
    cleaned_html: f.cleaned,
    links: { internal, external },
    media,
    // Crawl4AI's order: the named fields, then the meta keys; `social` (crawldeck's) last.
    metadata: {
      title: nullable(f.title),
      description: nullable(f.description),
      keywords: nullable(f.keywords),
      author: nullable(f.author),
      language: nullable(f.language),
      canonical: nullable(f.canonical),
      ...flat,
      social,
    },
  }
}

/** The host of an http(s) URL without a leading "www.", lower case; "" when it has none. */
export function baseDomain(href: string): string {
  const m = /^https?:\/\/(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)/i.exec(href)
  const host = (m?.[1] ?? '').toLowerCase()
  return host.startsWith('www.') ? host.slice(4) : host
}

/** The file extension of a URL's path (jpg, png, mp4, ...), lower case; null when it has none (or is a data: URL's type). */
export function mediaFormat(src: string): string | null {
  if (src.slice(0, 5).toLowerCase() === 'data:') {
    const type = /^data:[a-z]+\/([a-z0-9.+-]{1,20})[;,]/i.exec(src)
    return type ? type[1]!.toLowerCase().replace(/^svg\+xml$/, 'svg') : null
  }
  const path = src.replace(/[?#].*$/s, '')
  const ext = /\.([a-z0-9]{1,5})$/i.exec(path.slice(path.lastIndexOf('/') + 1))
  return ext ? ext[1]!.toLowerCase() : null
}
