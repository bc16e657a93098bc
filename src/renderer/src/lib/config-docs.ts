import type { ConfigSchemaResponse } from '../../../shared/crawl4ai/dump'
import type { ParamDoc } from '../../../shared/crawl4ai/param-docs'
import type { ConfigKind } from './config-sync'

export type { ParamDoc }

/** The config editor's completion and hover for one config: what GET /schema says of its parameters (none until it answered). */
export function paramDocs(kind: ConfigKind, schema: ConfigSchemaResponse | null): ParamDoc[] {
  return schema?.docs?.[kind] ?? []
}
