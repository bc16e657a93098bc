import type { ConfigSchemaResponse } from '../../../shared/crawl4ai/dump'
import { CRAWLDECK_ONLY, PARAM_TABLES, type Disposition } from '../../../shared/crawl4ai/param-tables'
import type { ConfigKind } from './config-sync'

/*
 * What the config editor's completion and hover say about each parameter: every name Crawl4AI's
 * BrowserConfig / CrawlerRunConfig takes (the server's own parameter tables, bundled with the
 * editor), what this server does with it, and the server's default as GET /schema answers it.
 */

export interface ParamDoc {
  name: string
  /** implemented / ignored / refused / on the browser. */
  kind: Disposition['kind']
  /** One line: what the server does with it, and its default when known. */
  doc: string
}

const show = (v: unknown) => (v === undefined ? '' : JSON.stringify(v))

function describe(name: string, d: Disposition, serverDefault: unknown): string {
  switch (d.kind) {
    case 'implemented': {
      const def = serverDefault !== undefined ? serverDefault : d.c4aDefault === CRAWLDECK_ONLY ? undefined : d.c4aDefault
      const own = d.c4aDefault === CRAWLDECK_ONLY ? 'crawldeck only. ' : ''
      return `${own}Implemented${def === undefined ? '' : `; default ${show(def)}`}.`
    }
    case 'browser':
      return `Applied to the browser context: the same as browser_config.${d.to}.`
    case 'ignored':
      return `Accepted with no effect (a warning): ${d.why}.`
    case 'refused':
      return `Refused (400): ${d.why}.`
  }
  return name
}

/** The docs of one config's parameters; `schema` (GET /schema) supplies the server's defaults where it differs from Crawl4AI's. */
export function paramDocs(kind: ConfigKind, schema: ConfigSchemaResponse | null): ParamDoc[] {
  const cls = kind === 'browser' ? 'BrowserConfig' : 'CrawlerRunConfig'
  const defaults = (kind === 'browser' ? schema?.browser.params : schema?.crawler.params) ?? {}
  return Object.entries(PARAM_TABLES[cls]).map(([name, d]) => ({ name, kind: d.kind, doc: describe(name, d, defaults[name]) }))
}
