import { CRAWLDECK_ONLY, PARAM_TABLES, type Disposition } from './param-tables.js'
import type { ConfigClass } from './type-names.js'

/*
 * What GET /schema says about each parameter, for editors (the Playground's completion and hover):
 * every name Crawl4AI's BrowserConfig / CrawlerRunConfig takes, what this server does with it, and
 * its default here. Made from the same tables the server decodes requests with, so the docs cannot
 * drift from what a request does.
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

/** The docs of one config class; `defaults` are the server's where they differ from Crawl4AI's (its dump's params). */
export function paramDocs(cls: ConfigClass, defaults: Record<string, unknown>): ParamDoc[] {
  return Object.entries(PARAM_TABLES[cls]).map(([name, d]) => ({ name, kind: d.kind, doc: describe(name, d, defaults[name]) }))
}
